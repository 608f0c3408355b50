// How products read to people: prices, availability, variant names, images.

import { formatMoney, formatPriceRange } from "./money.js";

/** "Red / M" (the variant's title, else its option values). */
export function variantName(variant) {
  if (!variant) return "";
  if (variant.title) return variant.title;
  return Object.values(variant.options || {}).join(" / ") || variant.id;
}

/**
 * Short labels for a product's variants: only the options that differ between them ("S", "M"
 * for a hoodie in one colour; "Red / S" when colours differ too). Map variant id -> label.
 */
export function variantLabels(product) {
  const variants = product.variants;
  const keys = [...new Set(variants.flatMap((v) => Object.keys(v.options || {})))];
  const varying = keys.filter((k) => new Set(variants.map((v) => (v.options || {})[k])).size > 1);
  const labels = new Map();
  for (const v of variants) {
    const parts = varying.map((k) => (v.options || {})[k]).filter(Boolean);
    labels.set(v.id, parts.length ? parts.join(" / ") : variantName(v));
  }
  return labels;
}

/** Price text of a product, or of one of its variants. */
export function priceText(product, variant = null) {
  if (variant) return formatMoney(variant.price);
  return formatPriceRange(product.variants.map((v) => v.price));
}

/** The compare-at ("was") price to strike through, if the variant (or every variant) has one. */
export function compareAtText(product, variant = null) {
  const pick = variant ? [variant] : product.variants;
  const was = pick.map((v) => v.compare_at_price).filter(Boolean);
  if (was.length !== pick.length) return "";
  const higher = pick.every((v) => v.compare_at_price.amount_minor > v.price.amount_minor);
  return higher ? formatPriceRange(was) : "";
}

const LOW_STOCK = 5;

/** {text, level: "ok"|"low"|"out"|"later"} for a variant, or for the product as a whole. */
export function availability(product, variant = null) {
  if (variant) return variantAvailability(variant);
  const states = product.variants.map(variantAvailability);
  if (states.some((s) => s.level === "ok" || s.level === "low")) {
    const sold = states.filter((s) => s.level === "out").length;
    return sold
      ? { text: `In stock (${sold} of ${states.length} sold out)`, level: "ok" }
      : { text: "In stock", level: "ok" };
  }
  if (states.some((s) => s.level === "later"))
    return { text: states.find((s) => s.level === "later").text, level: "later" };
  return { text: "Sold out", level: "out" };
}

function variantAvailability(variant) {
  switch (variant.availability) {
    case "out_of_stock":
      return { text: "Sold out", level: "out" };
    case "preorder":
      return { text: "Pre-order", level: "later" };
    case "backorder":
      return { text: "Backorder: ships later", level: "later" };
    default:
      if (typeof variant.inventory === "number" && variant.inventory > 0 && variant.inventory <= LOW_STOCK) {
        return { text: `Only ${variant.inventory} left`, level: "low" };
      }
      return { text: "In stock", level: "ok" };
  }
}

/** The product's first image URL, or null. */
export function imageOf(product) {
  return product && product.images && product.images.length ? product.images[0] : null;
}

/** "Ann, Bob and 2 more" */
export function nameList(names, max = 3) {
  if (names.length <= max) {
    return names.length > 1
      ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`
      : names.join("");
  }
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/** "3 yes · 1 no" (and the mean score when there are scores). */
export function tallyText(tally) {
  const parts = [`${tally.yes} yes`, `${tally.no} no`];
  if (tally.score_count) parts.push(`★ ${(tally.score_total / tally.score_count).toFixed(1)}`);
  return parts.join(" · ");
}
