"""Number text as training logs print it → float.

Handles thousands separators (`1,051,311`), scientific notation (`1.500E-04`),
quotes (`'4.437'`, transformers 5), units glued on (`997.40ms`, `9.46GiB`,
`45.2%`) when the caller strips them, and `nan`/`inf`/`NaN`/`Infinity`.
"""

from __future__ import annotations

import math

_SPECIAL = {
    "nan": math.nan, "-nan": math.nan, "+nan": math.nan,
    "inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
    "-inf": -math.inf, "-infinity": -math.inf,
}


def parse_number(text: str) -> float | None:
    """The float a log field spells, or None when it is not a number at all."""
    s = text.strip().strip("'\"")
    try:
        return float(s)
    except ValueError:
        pass
    if "," in s:
        try:
            return float(s.replace(",", ""))
        except ValueError:
            return None
    return _SPECIAL.get(s.lower())
