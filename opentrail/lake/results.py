"""Query results as Lake returns them: every value a string (``../shared/reference/lake.md`` §B.3).

Lake documents only the string form of scalars and timestamps; the rest is opentrail's choice,
pinned by tests (tests/lake/test_results.py) and listed in docs/lake.md:

- NULL: ``""`` at the top level (as in Lake's CSV results); ``null`` inside a map, array or row.
- booleans ``true``/``false``; integers in decimal; doubles as Java/Trino print them
  (``1.5``, ``1.0E7``, ``1.0E-4``); decimals exactly.
- timestamps ``2023-01-22 16:53:53.000`` (milliseconds, space separator; a zone is printed
  after it as `` UTC`` when the value has one); dates ``2023-01-22``.
- maps ``{k1=v1, k2=v2}``, arrays ``[a, b]``, rows ``{field1=v1, field2=v2}`` (Trino's client
  forms), strings inside them unquoted.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

import pyarrow as pa

NULL_TEXT = ""
NESTED_NULL_TEXT = "null"


def java_double(value: float) -> str:
    """``value`` as Java's ``Double.toString`` (Trino's rendering of DOUBLE)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:f}".rstrip("0")
        return text if "." in text else text + ".0"
    mantissa, exponent = f"{value:.17e}".split("e")
    # shortest mantissa that round-trips
    for digits in range(1, 18):
        candidate = f"{value:.{digits - 1}e}"
        if float(candidate) == value:
            mantissa, exponent = candidate.split("e")
            break
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"


def _timestamp(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S") + f".{value.microsecond // 1000:03d}"
    if value.tzinfo is not None:
        text += " UTC" if value.utcoffset() == dt.timedelta(0) else f" {value.strftime('%z')}"
    return text


def render(value: Any, nested: bool = False) -> str:
    """One value (as pyarrow's ``to_pylist`` gives it) as Lake's string."""
    if value is None:
        return NESTED_NULL_TEXT if nested else NULL_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S") + f".{value.microsecond // 1000:03d}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render(v, True)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):  # an arrow map
            return "{" + ", ".join(f"{render(k, True)}={render(v, True)}" for k, v in value) + "}"
        return "[" + ", ".join(render(x, True) for x in value) + "]"
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def render_typed(value: Any, typ: pa.DataType, nested: bool = False) -> str:
    """``value`` of arrow type ``typ`` (maps, lists and structs rendered by their type)."""
    if value is None:
        return NESTED_NULL_TEXT if nested else NULL_TEXT
    if pa.types.is_map(typ):
        return "{" + ", ".join(f"{render_typed(k, typ.key_type, True)}={render_typed(v, typ.item_type, True)}"
                               for k, v in value) + "}"
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        return "[" + ", ".join(render_typed(x, typ.value_type, True) for x in value) + "]"
    if pa.types.is_struct(typ):
        return "{" + ", ".join(f"{f.name}={render_typed(value.get(f.name), f.type, True)}" for f in typ) + "}"
    return render(value, nested)


def _column(column: pa.ChunkedArray | pa.Array) -> list[str]:
    typ = column.type
    return [render_typed(v, typ) for v in column.to_pylist()]


def render_batch(batch: pa.RecordBatch, names: tuple[str, ...]) -> list[list[dict[str, str]]]:
    """Rows of ``batch`` in Lake's wire shape: ``[[{name: value}, ...], ...]`` (columns by position)."""
    columns = [_column(batch.column(i)) for i in range(batch.num_columns)]
    return [[{names[c]: columns[c][r]} for c in range(len(columns))] for r in range(batch.num_rows)]
