"""Resource quantities ("100m", "128Mi", "1Gi", "2", "1e3"), as Kubernetes reads and writes them.

`parse_quantity` turns the text into an exact `Decimal` (cores, bytes, ...) and refuses what
the API server refuses, with its wording. `canonical_quantity` gives the form the server
writes back (`"0.5"` becomes `"500m"`, `"1.5Gi"` becomes `"1536Mi"`), so that what a learner
reads back matches a real cluster. Used by defaulting, validation and the scheduler.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal

FORMAT_ERROR = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
NUMERIC_ERROR = "unable to parse quantity's numeric part"
SUFFIX_ERROR = "unable to parse quantity's suffix"

_SHAPE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$")
_EXPONENT = re.compile(r"^[eE]([-+]?[0-9]+)$")

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXPONENT = {exp: suffix for suffix, exp in _DECIMAL.items()}
_BINARY_BY_POWER = {power: suffix for suffix, power in _BINARY.items()}

# Quantities are exact numbers; the default 28 digits would round large byte counts.
_CONTEXT = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_EVEN)
_NANO = Decimal("1e-9")


class QuantityError(ValueError):
    """A quantity the API server would refuse; str() is the server's message."""


def _split(text: str) -> tuple[Decimal, str, str]:
    """(number, suffix, format) where format is DecimalSI, BinarySI or DecimalExponent."""
    if not isinstance(text, str):
        # JSON numbers are accepted too (`cpu: 2`), as by the Go decoder.
        if isinstance(text, bool) or not isinstance(text, (int, float)):
            raise QuantityError(FORMAT_ERROR)
        text = repr(text) if isinstance(text, float) else str(text)
    text = text.strip()
    shape = _SHAPE.match(text)
    if not shape:
        raise QuantityError(FORMAT_ERROR)
    number_text, suffix = shape.group(1), shape.group(2)
    if not _NUMBER.match(number_text):
        raise QuantityError(NUMERIC_ERROR)
    number = Decimal(number_text)
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix]), suffix, "BinarySI"
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix], _CONTEXT), suffix, "DecimalSI"
    exponent = _EXPONENT.match(suffix)
    if exponent:
        return number.scaleb(int(exponent.group(1)), _CONTEXT), suffix, "DecimalExponent"
    raise QuantityError(SUFFIX_ERROR)


def _round_up_to_nano(value: Decimal) -> Decimal:
    """Kubernetes keeps nine decimal places at most and rounds away from zero beyond that."""
    return value.quantize(_NANO, rounding=decimal.ROUND_UP, context=_CONTEXT).normalize(_CONTEXT)


def parse_quantity(text: str) -> Decimal:
    """The exact value of a quantity: `parse_quantity("100m") == Decimal("0.1")`.

    Raises QuantityError with the API server's wording for anything it would refuse.
    """
    value, _suffix, _format = _split(text)
    return _round_up_to_nano(value)


def _decimal_form(value: Decimal, exponent_style: bool) -> str:
    """Largest power-of-1000 suffix that keeps the mantissa whole."""
    if value == 0:
        return "0"
    best = -9
    for exp in range(-9, 19, 3):
        if value.scaleb(-exp, _CONTEXT) == value.scaleb(-exp, _CONTEXT).to_integral_value():
            best = exp
    # Beyond "E" the mantissa grows, as in Go.
    mantissa = int(value.scaleb(-best, _CONTEXT))
    if exponent_style:
        return f"{mantissa}e{best}" if best else str(mantissa)
    return f"{mantissa}{_DECIMAL_BY_EXPONENT[best]}"


def canonical_quantity(text: str) -> str:
    """The form the API server writes back: "0.5" -> "500m", "1.5Gi" -> "1536Mi", "1000" -> "1k"."""
    value, _suffix, fmt = _split(text)
    value = _round_up_to_nano(value)
    if fmt == "BinarySI":
        whole = value == value.to_integral_value()
        # Small or fractional binary amounts read better in decimal, as Go decides too.
        if whole and abs(value) >= 1024:
            amount = int(value)
            power = 0
            while power < 6 and amount % 1024 == 0:
                amount //= 1024
                power += 1
            return f"{amount}{_BINARY_BY_POWER.get(power, '')}"
        return _decimal_form(value, exponent_style=False)
    return _decimal_form(value, exponent_style=fmt == "DecimalExponent")


def format_quantity(value: Decimal) -> str:
    """A value computed by the simulator written as Kubernetes would (DecimalSI)."""
    return _decimal_form(_round_up_to_nano(Decimal(value)), exponent_style=False)
