"""The table schema of a CloudTrail-events event data store, and one record -> one row.

Columns are lower-case, as Lake names them (``../shared/reference/lake.md`` §B.2, from the User
Guide's "CloudTrail Lake supported schemas"); SQL matches them case-insensitively.

- ``useridentity`` and ``tlsdetails`` are structs; ``resources`` an array of structs.
- ``requestparameters``, ``responseelements``, ``additionaleventdata``, ``serviceeventdetails``,
  ``addendum``, ``edgedevicedetails``, ``insightdetails`` are ``map<string,string>``: each
  top-level member becomes one entry; a string value is kept as it is, any other value (object,
  array, number, boolean) is its compact JSON text, JSON null a NULL value. So
  ``element_at(requestParameters, 'ipPermissions') LIKE '%0.0.0.0/0%'`` works as on Lake.
- ``eventtime`` is a timestamp (milliseconds, UTC, no zone), as is
  ``useridentity.sessioncontext.attributes.creationdate``.
- ``readonly`` and ``managementevent`` are booleans (from a JSON boolean or the strings
  "true"/"false" some sources write).
- ``eventjson`` holds the original record (compact JSON), ``eventjsonchecksum`` the hex SHA-256
  of those bytes.

:func:`record_row` never raises for a record :func:`opentrail.events.record.read_record`
accepted: a member of an unexpected type becomes NULL (its value stays in ``eventjson``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from typing import Any, Callable, Sequence

import orjson
import pyarrow as pa

_S = pa.string()


def _struct(*names: str, **typed: pa.DataType) -> pa.StructType:
    """A struct of string fields ``names``, then the typed fields."""
    return pa.struct([pa.field(n, _S) for n in names] + [pa.field(n, t) for n, t in typed.items()])


def _ordered(struct: pa.StructType, *order: str) -> pa.StructType:
    """``struct`` with its fields in ``order`` (the schema's documented order)."""
    return pa.struct([struct.field(n) for n in order])


TIMESTAMP = pa.timestamp("ms")
STRING_MAP = pa.map_(pa.string(), pa.string())

SESSION_CONTEXT = _ordered(_struct(
    "sourceidentity", "ec2roledelivery", "ec2issuedinvpc",
    attributes=_ordered(_struct("mfaauthenticated", creationdate=TIMESTAMP), "creationdate", "mfaauthenticated"),
    sessionissuer=_struct("type", "principalid", "arn", "accountid", "username"),
    webidfederationdata=_struct("federatedprovider", attributes=STRING_MAP),
), "attributes", "sessionissuer", "webidfederationdata", "sourceidentity", "ec2roledelivery", "ec2issuedinvpc")
USER_IDENTITY = _struct(
    "type", "principalid", "arn", "accountid", "accesskeyid", "username",
    sessioncontext=SESSION_CONTEXT,
    onbehalfof=_struct("userid", "identitystorearn"),
    inscopeof=_struct("sourcearn", "sourceaccount", "issuertype", "credentialsissuedto"),
    invokedby=_S,
    identityprovider=_S,
)
USER_IDENTITY = _ordered(USER_IDENTITY, "type", "principalid", "arn", "accountid", "accesskeyid", "username",
                         "sessioncontext", "onbehalfof", "inscopeof", "invokedby", "identityprovider")
RESOURCE = _struct("accountid", "type", "arn", "arnprefix")
TLS_DETAILS = _struct("tlsversion", "ciphersuite", "clientprovidedhostheader")

#: The columns, in Lake's order.
SCHEMA = pa.schema([
    ("eventversion", _S),
    ("useridentity", USER_IDENTITY),
    ("eventtime", TIMESTAMP),
    ("eventsource", _S),
    ("eventname", _S),
    ("awsregion", _S),
    ("sourceipaddress", _S),
    ("useragent", _S),
    ("errorcode", _S),
    ("errormessage", _S),
    ("requestparameters", STRING_MAP),
    ("responseelements", STRING_MAP),
    ("additionaleventdata", STRING_MAP),
    ("requestid", _S),
    ("eventid", _S),
    ("readonly", pa.bool_()),
    ("resources", pa.list_(RESOURCE)),
    ("eventtype", _S),
    ("apiversion", _S),
    ("managementevent", pa.bool_()),
    ("recipientaccountid", _S),
    ("sharedeventid", _S),
    ("annotation", _S),
    ("vpcendpointid", _S),
    ("vpcendpointaccountid", _S),
    ("serviceeventdetails", STRING_MAP),
    ("addendum", STRING_MAP),
    ("edgedevicedetails", STRING_MAP),
    ("insightdetails", STRING_MAP),
    ("eventcategory", _S),
    ("tlsdetails", TLS_DETAILS),
    ("sessioncredentialfromconsole", _S),
    ("eventjson", _S),
    ("eventjsonchecksum", _S),
])

#: Column names, in order.
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)


def _text(value: Any) -> str | None:
    """A scalar as text: strings as they are, numbers and booleans as JSON (integers of any size
    with all their digits); None otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        try:
            return orjson.dumps(value).decode()
        except orjson.JSONEncodeError:  # an integer beyond 64 bits
            return str(value)
    return None


def _exact_json(value: Any) -> str:
    """Compact JSON of a decoded JSON value as orjson writes it, except that integers beyond 64
    bits (which orjson refuses) keep all their digits. Raises TypeError for non-JSON values."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(orjson.dumps(str(k)).decode() + ":" + _exact_json(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_exact_json(v) for v in value) + "]"
    return orjson.dumps(value).decode()


def _json_text(value: Any) -> str | None:
    """A map value: strings as they are, JSON null as NULL, anything else its compact JSON
    (integers beyond 64 bits with all their digits, as DuckDB writes them)."""
    if value is None or isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        try:
            return _exact_json(value)
        except (orjson.JSONEncodeError, TypeError, RecursionError):
            return None


def _string_map(value: Any) -> list[tuple[str, str | None]] | None:
    if not isinstance(value, dict):
        return None
    return [(str(k), _json_text(v)) for k, v in value.items()]


def _timestamp(value: Any) -> dt.datetime | None:
    """``2023-07-10T12:05:09Z`` (and fractional seconds / offsets) as a naive UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    return _parsed_timestamp(value)


@functools.lru_cache(maxsize=65536)
def _parsed_timestamp(value: str) -> dt.datetime | None:
    """:func:`_timestamp` of a non-empty string (cached: eventTimes repeat within a second)."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _lower_struct(value: Any, struct: pa.StructType) -> dict[str, Any] | None:
    """A JSON object as ``struct``: members matched case-insensitively, typed per field."""
    if not isinstance(value, dict):
        return None
    by_lower = {str(k).lower(): v for k, v in value.items()}
    out: dict[str, Any] = {}
    for f in struct:
        v = by_lower.get(f.name)
        if pa.types.is_struct(f.type):
            out[f.name] = _lower_struct(v, f.type)
        elif pa.types.is_map(f.type):
            out[f.name] = _string_map(v)
        elif f.type == TIMESTAMP:
            out[f.name] = _timestamp(v)
        else:
            out[f.name] = _text(v)
    return out


def _resources(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    return [r for r in (_lower_struct(item, RESOURCE) for item in value) if r is not None]


def record_row(record: dict[str, Any], record_bytes: bytes) -> dict[str, Any]:
    """The row of one record (``record`` decoded, ``record_bytes`` its stored compact JSON):
    a dict over :data:`COLUMNS`, ready for ``pyarrow.Table.from_pylist(rows, schema=SCHEMA)``."""
    by_lower = {k.lower(): v for k, v in record.items()} if any(not k.islower() for k in record) else record
    row: dict[str, Any] = {}
    for f in SCHEMA:
        name = f.name
        if name == "eventjson":
            row[name] = record_bytes.decode("utf-8", "replace")
        elif name == "eventjsonchecksum":
            row[name] = hashlib.sha256(record_bytes).hexdigest()
        elif name == "resources":
            row[name] = _resources(by_lower.get(name))
        elif pa.types.is_struct(f.type):
            row[name] = _lower_struct(by_lower.get(name), f.type)
        elif pa.types.is_map(f.type):
            row[name] = _string_map(by_lower.get(name))
        elif f.type == TIMESTAMP:
            row[name] = _timestamp(by_lower.get(name))
        elif pa.types.is_boolean(f.type):
            row[name] = _bool(by_lower.get(name))
        else:
            row[name] = _text(by_lower.get(name))
    return row


# --- many records at once ------------------------------------------------------------------------
# The same conversion as :func:`record_row`, compiled once per column, building columns instead of
# row dicts: about 3x faster, which Lake ingestion needs (tests pin the equality).

def _texts(values: list[Any]) -> list[str | None]:
    """:func:`_text` of each value (strings and None pass as they are)."""
    return [v if v is None or v.__class__ is str else _text(v) for v in values]


def _compiled(t: pa.DataType, top: bool) -> Callable[[Any], Any]:
    """The converter of a value of type ``t`` (``top``: a table column, where booleans are
    booleans; inside a struct every scalar is text, as :func:`_lower_struct` does)."""
    if pa.types.is_struct(t):
        texts = tuple(f.name for f in t if f.type == _S)
        others = [(f.name, _compiled(f.type, False)) for f in t if f.type != _S]
        empty = dict.fromkeys(f.name for f in t)

        def struct(value: Any) -> dict[str, Any] | None:
            if not isinstance(value, dict):
                return None
            if not value:
                return dict(empty)
            by_lower = {str(k).lower(): v for k, v in value.items()}
            get = by_lower.get
            out: dict[str, Any] = {}
            for name in texts:
                v = get(name)
                out[name] = v if v is None or v.__class__ is str else _text(v)
            for name, conv in others:
                out[name] = conv(get(name))
            return out  # pyarrow takes struct members by name: their order does not matter
        return struct
    if pa.types.is_map(t):
        return _string_map
    if t == TIMESTAMP:
        return _timestamp
    if top and pa.types.is_boolean(t):
        return _bool
    return _text


def _compiled_resources(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        row = _RESOURCE(item)
        if row is not None:
            out.append(row)
    return out


_RESOURCE = _compiled(RESOURCE, False)
#: (column, converter) for every column taken from the record (all but eventjson/eventjsonchecksum);
#: converter None for string columns.
_CONVERTERS: list[tuple[str, Callable[[Any], Any] | None]] = [
    (f.name, None if f.type == _S else _compiled_resources if f.name == "resources" else _compiled(f.type, True))
    for f in SCHEMA if f.name not in ("eventjson", "eventjsonchecksum")]


def record_table(records: Sequence[tuple[dict[str, Any], bytes]]) -> pa.Table:
    """The rows of many ``(record, record_bytes)`` pairs as one table of :data:`SCHEMA`: equal to
    ``pa.Table.from_pylist([record_row(r, b) for r, b in records], schema=SCHEMA)``."""
    lowered = [{k.lower(): v for k, v in record.items()} for record, _ in records]
    by_name: dict[str, list[Any]] = {}
    for name, conv in _CONVERTERS:
        values = [d.get(name) for d in lowered]
        by_name[name] = _texts(values) if conv is None else [conv(v) for v in values]
    raws = [raw for _, raw in records]
    by_name["eventjson"] = [raw.decode("utf-8", "replace") for raw in raws]
    sha256 = hashlib.sha256
    by_name["eventjsonchecksum"] = [sha256(raw).hexdigest() for raw in raws]
    return pa.Table.from_arrays([pa.array(by_name[f.name], type=f.type) for f in SCHEMA], schema=SCHEMA)
