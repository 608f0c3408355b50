// Prices: integer minor units of an ISO 4217 currency, shown with Intl.NumberFormat.
//
// The currency's own number of decimals (USD 2, JPY 0, KWD 3) comes from Intl itself; the amount is
// handed over as a decimal string, so no float rounding ever touches a price.

const formatters = new Map();

function formatter(currency, locale) {
  const key = `${locale || ""}|${currency}`;
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.NumberFormat(locale, { style: "currency", currency }));
  }
  return formatters.get(key);
}

/**
 * Make the first price format cheap: a page's first Intl.NumberFormat loads the locale's data
 * (~15 ms), which would otherwise fall on the join, right when the room is drawn (issue 8).
 */
export function warmUp(currency = "USD") {
  formatMoney({ amount_minor: 0, currency });
}

/** Decimal digits of the currency's minor unit, per Intl (2 when unknown). */
export function minorDigits(currency) {
  try {
    return formatter(currency).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** "19.99" from (1999, 2): exact, as a string. */
export function minorToDecimal(amountMinor, digits) {
  const negative = amountMinor < 0;
  const text = String(Math.abs(Math.trunc(amountMinor))).padStart(digits + 1, "0");
  const whole = digits ? text.slice(0, -digits) : text;
  const fraction = digits ? `.${text.slice(-digits)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** "$19.99" for {amount_minor: 1999, currency: "USD"} (in the page's locale unless given). */
export function formatMoney(money, locale = undefined) {
  if (!money || typeof money.amount_minor !== "number") return "";
  const { amount_minor: minor, currency } = money;
  try {
    const fmt = formatter(currency, locale);
    return fmt.format(minorToDecimal(minor, fmt.resolvedOptions().maximumFractionDigits));
  } catch {
    // An unknown currency code: still show the amount, with the code.
    return `${minorToDecimal(minor, 2)} ${currency}`;
  }
}

/** "$24.00" or "$24.00 – $32.00" for a list of Money of one currency. */
export function formatPriceRange(prices, locale = undefined) {
  const valid = prices.filter((p) => p && typeof p.amount_minor === "number");
  if (!valid.length) return "";
  const sorted = [...valid].sort((a, b) => a.amount_minor - b.amount_minor);
  const low = sorted[0];
  const high = sorted[sorted.length - 1];
  if (low.amount_minor === high.amount_minor) return formatMoney(low, locale);
  return `${formatMoney(low, locale)} – ${formatMoney(high, locale)}`;
}
