"""Money: an exact amount in integer minor units of an ISO 4217 currency. Never a float."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from rooms.catalog.errors import InvalidMoney

# ISO 4217 minor-unit exponents (the "E" column) of the currencies whose exponent is not 2.
_EXPONENT_NOT_2: Final[dict[str, int]] = {
    # 0: no minor unit.
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # 3: thousandths (fils, baisa, millime).
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # 4: accounting units.
    "CLF": 4, "UYW": 4,
}  # fmt: skip

# Every other active ISO 4217 currency code: exponent 2. Funds and metal codes (XAU, XDR, XTS,
# XXX, ...) have no exponent and are not prices, so they are absent on purpose.
_EXPONENT_2_CODES: Final = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK
    LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK
    NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG
    YER ZAR ZMW ZWG ZWL
"""
_EXPONENT_2: Final = frozenset(_EXPONENT_2_CODES.split())

CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    **{code: 2 for code in _EXPONENT_2},
    **_EXPONENT_NOT_2,
}
"""ISO 4217 code -> number of decimal digits of its minor unit (USD 2, JPY 0, KWD 3)."""

# Display symbols for a few common currencies; any other is shown as "1,299.99 CHF".
_SYMBOLS: Final[dict[str, str]] = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩",
    "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "HKD": "HK$", "SGD": "S$", "MXN": "MX$",
}  # fmt: skip

MAX_AMOUNT_MINOR: Final = 10**15 - 1
"""Largest representable amount (in minor units): far above any price, far below int64."""

# Digits with an optional decimal part; a comma may only group thousands ("1,299.99").
# A comma is never a decimal separator here: "12,50" is refused rather than guessed.
_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d{1,18})(?:\.\d{1,18})?")


def currency_exponent(currency: str) -> int:
    """The minor-unit exponent of an ISO 4217 code. Raises InvalidMoney for an unknown code."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise InvalidMoney(f"unknown currency {currency!r}") from None


def _check_currency(code: str) -> str:
    currency_exponent(code)
    return code


CurrencyCode = Annotated[str, Field(strict=True), AfterValidator(_check_currency)]
"""An active ISO 4217 code, three uppercase letters ("USD")."""


class Money(BaseModel):
    """An exact amount: ``amount_minor`` units of the currency's minor unit (cents for USD)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_minor: StrictInt = Field(ge=0, le=MAX_AMOUNT_MINOR)
    currency: CurrencyCode

    @classmethod
    def parse(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Parse a decimal amount in major units ("12.00", "1,299.99", 12, Decimal("12")).

        Refuses to round: "12.001" USD raises InvalidMoney, while "12.000" USD is exactly 1200.
        Floats are refused (they cannot hold 0.1 exactly); parse JSON with ``parse_float=Decimal``.
        """
        code = currency.strip().upper()
        exponent = currency_exponent(code)
        value = _to_decimal(amount)
        sign, digits, exp = value.as_tuple()
        if not isinstance(exp, int):
            raise InvalidMoney(f"not a finite amount: {amount!r}")
        if sign and any(digits):
            raise InvalidMoney(f"negative amount: {amount!r}")
        coefficient = int("".join(map(str, digits)) or "0")
        shift = exp + exponent
        if shift >= 0:
            if shift > 18:
                raise InvalidMoney(f"amount too large: {amount!r}")
            minor = coefficient * 10**shift
        else:
            minor, rest = divmod(coefficient, 10**-shift)
            if rest:
                raise InvalidMoney(
                    f"too many decimals for {code} ({exponent}): {amount!r}; refusing to round"
                )
        if minor > MAX_AMOUNT_MINOR:
            raise InvalidMoney(f"amount too large: {amount!r}")
        return cls(amount_minor=minor, currency=code)

    @property
    def exponent(self) -> int:
        """Decimal digits of the currency's minor unit."""
        return CURRENCY_EXPONENTS[self.currency]

    def to_decimal(self) -> Decimal:
        """The amount in major units, exactly (Decimal("1299.99"))."""
        return Decimal(self.amount_minor).scaleb(-self.exponent)

    def decimal_string(self) -> str:
        """Major units with exactly the currency's decimals, no grouping: "1299.99", "1500"."""
        return self._digits(grouped=False)

    def format(self) -> str:
        """For display: "$1,299.99", "¥1,500", "1.250 KWD"."""
        digits = self._digits(grouped=True)
        symbol = _SYMBOLS.get(self.currency)
        return f"{symbol}{digits}" if symbol else f"{digits} {self.currency}"

    def __str__(self) -> str:
        # The Merchant Center notation, which Money.parse reads back after a split.
        return f"{self.decimal_string()} {self.currency}"

    def _digits(self, *, grouped: bool) -> str:
        exponent = self.exponent
        major, minor = divmod(self.amount_minor, 10**exponent)
        whole = f"{major:,}" if grouped else str(major)
        return f"{whole}.{minor:0{exponent}d}" if exponent else whole


def _to_decimal(amount: str | int | Decimal) -> Decimal:
    if isinstance(amount, bool):
        raise InvalidMoney(f"not an amount: {amount!r}")
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, int):
        return Decimal(amount)
    if not isinstance(amount, str):
        # Floats land here on purpose.
        raise InvalidMoney(f"not an exact amount (use a string or Decimal): {amount!r}")
    text = amount.strip()
    if not _AMOUNT.fullmatch(text):
        raise InvalidMoney(f"not a decimal amount: {amount!r}")
    # Construction from a string is exact: no context rounding.
    return Decimal(text.replace(",", ""))
