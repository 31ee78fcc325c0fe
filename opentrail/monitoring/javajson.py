"""Numbers and JSON written the way CloudWatch (a Java service) writes them.

CloudWatch renders doubles with Java's ``Double.toString``: ``1.0``, ``0.0666851903306472``,
``20000.0``, ``1.0E7``, ``1.0E-4`` (decimal notation for 10^-3 <= |x| < 10^7, otherwise
"computerized" scientific notation with at least one fraction digit), in state reasons
("... [5.0 (02/12/26 10:00:00)] ... the threshold (1.0)"), in StateReasonData and in the SNS
alarm message (``"Threshold":20.0``). Python's ``repr`` gives the same shortest digits, so only the
layout differs. Timestamps are ``2024-09-19T05:56:00.000+0000``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal


def java_double(x: float) -> str:
    """``Double.toString(x)``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        return repr(float(x))  # Python's shortest repr uses decimal notation throughout this range
    sign = "-" if x < 0 else ""
    digits_tuple = Decimal(repr(abs(float(x)))).normalize().as_tuple()
    digits = "".join(map(str, digits_tuple.digits))
    exponent = int(digits_tuple.exponent)
    scientific = len(digits) - 1 + exponent
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{sign}{mantissa}E{scientific}"


def java_timestamp(seconds: float) -> str:
    """``2024-09-19T05:56:00.000+0000`` (UTC, milliseconds)."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def dumps(value: object) -> str:
    """Compact JSON with floats as :func:`java_double` (ints stay ints, None is null)."""
    if value is None or isinstance(value, (bool, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__}")
