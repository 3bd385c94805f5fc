"""Numbers as shown: a given count of significant digits, as text and as MathML.

A value that is a short decimal (0.05, 0.3775) is written short; any other is written
with all its digits, trailing zeros kept (0.751365070), so the count of digits always
says how precise the number shown is.
"""

import math

DEFAULT_PRECISION = 9
PRECISIONS = (4, 6, 9, 12, 15, 17)
MINUS = "\u2212"
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _parts(x: float, precision: int) -> tuple[str, int | None]:
    """(mantissa, exponent or None), with ASCII minus signs."""
    if x == 0:
        return "0", None
    short = f"{x:.{precision}g}"
    # Short when the rounding is (within a few ulps) exact: 0.37749999999999995 → 0.3775.
    exact = math.isclose(float(short), x, rel_tol=4e-16, abs_tol=0.0)
    text = short if exact else f"{x:#.{precision}g}"
    if "e" not in text:
        return text.rstrip(".") if "." in text else text, None
    mantissa, exponent = text.split("e")
    return mantissa.rstrip("."), int(exponent)


def fmt(x: float, precision: int = DEFAULT_PRECISION) -> str:
    """For reading: 0.751365070, −0.0380982365, 3.51018780×10⁻⁵."""
    mantissa, exponent = _parts(float(x), precision)
    text = mantissa if exponent is None else f"{mantissa}×10{str(exponent).translate(SUPERSCRIPT)}"
    return text.replace("-", MINUS)


def fmt_input(x: float, precision: int = DEFAULT_PRECISION) -> str:
    """For an edit field: what fmt shows, in a form that float() reads back."""
    mantissa, exponent = _parts(float(x), precision)
    return mantissa if exponent is None else f"{mantissa}e{exponent}"


def mathml(x: float, precision: int = DEFAULT_PRECISION) -> str:
    """A number as MathML: <mn>, with a leading <mo>−</mo> and ×10ⁿ as needed."""
    mantissa, exponent = _parts(float(x), precision)
    sign = ""
    if mantissa.startswith("-"):
        sign, mantissa = f"<mo>{MINUS}</mo>", mantissa[1:]
    body = f"<mn>{mantissa}</mn>"
    if exponent is not None:
        e = f"<mn>{abs(exponent)}</mn>"
        if exponent < 0:
            e = f"<mrow><mo>{MINUS}</mo>{e}</mrow>"
        body += f"<mo>×</mo><msup><mn>10</mn>{e}</msup>"
    return f"<mrow>{sign}{body}</mrow>" if sign or exponent is not None else body


def parse(text: str) -> float:
    """A number typed by a person: accepts −, spaces and a decimal comma; ValueError else."""
    cleaned = text.strip().replace(MINUS, "-").replace(" ", "").replace(",", ".")
    x = float(cleaned)
    if not math.isfinite(x):
        raise ValueError("not finite")
    return x
