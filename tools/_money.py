"""Exact money: ``Decimal`` quantized to cents, stored as integer cents, shown as JSON numbers."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, PlainSerializer
from sqlalchemy import BigInteger, Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["CENT", "Cents", "Money", "to_cents", "to_money"]

CENT = Decimal("0.01")


def to_money(value: Decimal | int | float | str) -> Decimal:
    """Return ``value`` as a Decimal rounded to whole cents (floats go through ``str``)."""
    if isinstance(value, float):
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def to_cents(value: Decimal) -> int:
    """Return the whole number of cents in ``value``."""
    return int(to_money(value) * 100)


def _json_number(value: Decimal) -> float:
    return float(to_money(value))


Money = Annotated[
    Decimal,
    AfterValidator(to_money),
    PlainSerializer(_json_number, return_type=float, when_used="json"),
]
"""A pydantic field type for amounts: exact in Python, a plain number in JSON."""


class Cents(TypeDecorator[Decimal]):
    """A SQLAlchemy column type that keeps Decimal amounts as integer cents.

    Integer cents are exact on every database (SQLite has no native decimal type).
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return to_cents(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)
