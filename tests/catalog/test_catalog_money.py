"""Money: exact parsing into minor units, refusal to round, display."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from rooms.catalog import CURRENCY_EXPONENTS, InvalidMoney, Money, currency_exponent


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.00", "USD", 1200),
        ("12", "USD", 1200),
        ("12.5", "USD", 1250),
        ("0.01", "USD", 1),
        ("0", "USD", 0),
        ("1,299.99", "USD", 129999),
        ("1,234,567.89", "EUR", 123456789),
        ("  7.10 ", "GBP", 710),
        ("12.000", "USD", 1200),  # Trailing zeros are exact: no rounding involved.
        ("1500", "JPY", 1500),
        ("1,500", "JPY", 1500),
        ("1500.0", "JPY", 1500),
        ("1.250", "KWD", 1250),
        ("1.25", "BHD", 1250),
        ("3", "KWD", 3000),
        ("1.2345", "CLF", 12345),
        ("12.34", "usd", 1234),  # The currency argument is normalised.
    ],
)
def test_parse_decimal_strings_into_minor_units(text: str, currency: str, minor: int) -> None:
    money = Money.parse(text, currency)
    assert money.amount_minor == minor
    assert money.currency == currency.upper()


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("19.99"), "USD", 1999),
        (Decimal("1E+2"), "USD", 10000),
        (Decimal("-0"), "USD", 0),
        (12, "USD", 1200),
        (12, "JPY", 12),
        (2, "KWD", 2000),
    ],
)
def test_parse_decimals_and_ints_as_major_units(
    amount: Decimal | int, currency: str, minor: int
) -> None:
    assert Money.parse(amount, currency).amount_minor == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("12.001", "USD", "too many decimals for USD (2): '12.001'; refusing to round"),
        ("1500.5", "JPY", "too many decimals for JPY (0): '1500.5'; refusing to round"),
        ("1.2505", "KWD", "too many decimals for KWD (3): '1.2505'; refusing to round"),
        ("12,50", "EUR", "not a decimal amount: '12,50'"),
        ("1.299,99", "EUR", "not a decimal amount: '1.299,99'"),
        ("1,29.99", "USD", "not a decimal amount: '1,29.99'"),
        ("12,3456", "USD", "not a decimal amount: '12,3456'"),
        ("", "USD", "not a decimal amount: ''"),
        ("-1.00", "USD", "not a decimal amount: '-1.00'"),
        ("+1.00", "USD", "not a decimal amount: '+1.00'"),
        ("1e3", "USD", "not a decimal amount: '1e3'"),
        ("NaN", "USD", "not a decimal amount: 'NaN'"),
        ("12.", "USD", "not a decimal amount: '12.'"),
        (".5", "USD", "not a decimal amount: '.5'"),
        ("$12", "USD", "not a decimal amount: '$12'"),
        ("12.00", "XYZ", "unknown currency 'XYZ'"),
        ("12.00", "XAU", "unknown currency 'XAU'"),  # Gold has no minor unit: not a price.
        ("12.00", "US", "unknown currency 'US'"),
        ("9" * 19, "USD", "not a decimal amount: '" + "9" * 19 + "'"),
        ("9" * 14, "USD", "amount too large: '" + "9" * 14 + "'"),
    ],
)
def test_parse_refuses(text: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidMoney) as info:
        Money.parse(text, currency)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (12.5, "not an exact amount (use a string or Decimal): 12.5"),
        (True, "not an amount: True"),
        (Decimal("-1"), "negative amount: Decimal('-1')"),
        (Decimal("NaN"), "not a finite amount: Decimal('NaN')"),
        (Decimal("Infinity"), "not a finite amount: Decimal('Infinity')"),
        (Decimal("0.001"), "too many decimals for USD (2): Decimal('0.001'); refusing to round"),
        (Decimal("1E+30"), "amount too large: Decimal('1E+30')"),
        (-5, "negative amount: -5"),
    ],
)
def test_parse_refuses_inexact_or_negative_values(amount: object, message: str) -> None:
    with pytest.raises(InvalidMoney) as info:
        Money.parse(amount, "USD")  # type: ignore[arg-type]
    assert str(info.value) == message


def test_invalid_money_is_a_value_error_for_pydantic_validators() -> None:
    assert issubclass(InvalidMoney, ValueError)


def test_exponent_table() -> None:
    assert currency_exponent("USD") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("KRW") == 0
    assert currency_exponent("KWD") == 3
    assert currency_exponent("BHD") == 3
    assert currency_exponent("TND") == 3
    assert currency_exponent("EUR") == 2
    assert all(len(code) == 3 and code.isupper() for code in CURRENCY_EXPONENTS)
    with pytest.raises(InvalidMoney):
        currency_exponent("usd")


@pytest.mark.parametrize(
    ("minor", "currency", "decimal", "shown"),
    [
        (129999, "USD", "1299.99", "$1,299.99"),
        (5, "USD", "0.05", "$0.05"),
        (0, "EUR", "0.00", "€0.00"),
        (150000, "JPY", "150000", "¥150,000"),
        (1250, "KWD", "1.250", "1.250 KWD"),
        (123456789, "CHF", "1234567.89", "1,234,567.89 CHF"),
        (1000, "CAD", "10.00", "CA$10.00"),
    ],
)
def test_display(minor: int, currency: str, decimal: str, shown: str) -> None:
    money = Money(amount_minor=minor, currency=currency)
    assert money.decimal_string() == decimal
    assert money.format() == shown
    assert str(money) == f"{decimal} {currency}"
    assert money.to_decimal() == Decimal(decimal)
    assert Money.parse(decimal, currency) == money  # The decimal string reads back.


def test_model_validation_is_strict() -> None:
    assert Money.model_validate({"amount_minor": 5, "currency": "USD"}).amount_minor == 5
    bad: list[dict[str, object]] = [
        {"amount_minor": "5", "currency": "USD"},
        {"amount_minor": 5.0, "currency": "USD"},
        {"amount_minor": True, "currency": "USD"},
        {"amount_minor": -1, "currency": "USD"},
        {"amount_minor": 5, "currency": "usd"},
        {"amount_minor": 5, "currency": "ZZZ"},
        {"amount_minor": 5, "currency": "USD", "extra": 1},
    ]
    for data in bad:
        with pytest.raises(ValidationError):
            Money.model_validate(data)


def test_json_round_trip_and_immutability() -> None:
    money = Money.parse("19.99", "EUR")
    assert money.model_dump_json() == '{"amount_minor":1999,"currency":"EUR"}'
    assert Money.model_validate_json(money.model_dump_json()) == money
    with pytest.raises(ValidationError):
        money.amount_minor = 1
