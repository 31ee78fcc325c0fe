"""Record bytes -> the columns of :data:`.schema.SCHEMA`, built by DuckDB instead of per-record Python.

:func:`table_of_bytes` takes the records as the event log holds them (compact JSON bytes, as
:func:`opentrail.events.record.read_record` or ``orjson.dumps`` wrote them) and returns the same
table as :func:`.schema.record_table` over ``(orjson.loads(b), b)`` -- the same values, column by
column, pinned by a property test over every record of the shared datasets and generated odd
records. DuckDB parses each record once: one ``json_transform`` into the schema's nested types
with every scalar read as VARCHAR (DuckDB's VARCHAR of a JSON value is :func:`.schema._json_text`'s
answer: strings as they are, null NULL, anything else its compact JSON), outside the GIL and on
every core (:data:`THREADS`); Arrow then gives the structs the schema's member names.

The fast path takes a record only when its answer is known to equal Python's (the query's ``__ok``
column says so per record); the others, and the whole batch when DuckDB fails, go through
:func:`.schema.record_table`. One regular expression over the record's text (:func:`_suspect`)
finds what might differ; only the records it matches (a few percent: its matches inside
``requestParameters`` and the other maps are false alarms) are checked member by member:

- members are read by their usual CloudTrail spelling (:data:`SPELLING`; ``ARN``/``ARNPrefix``
  in resources) while Python matches them case-insensitively, so a record where an object the
  schema reads (the record, ``userIdentity`` and its structs, each resource, ``tlsDetails``) has a
  key spelling a member otherwise (``EventName``, ``Arn``) is not taken;
- a text member holding an object or array (Python: NULL), a struct member holding a scalar
  (Python: NULL), a resource that is not an object without nested values: not taken;
- numbers with a fraction or exponent and ``-0`` (orjson and DuckDB write them differently),
  ``\\u`` and ``\\/`` escapes anywhere in the text: not taken;
- a timestamp string that is not ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (offsets, more digits, other ISO
  forms Python accepts): not taken; a record that is not a JSON object or not UTF-8: not taken.

The rows not taken come after the others (:func:`rows_of_bytes` says which record each row is);
:func:`table_of_bytes` puts them back in order.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any, Sequence

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..events.files import has_long_number, loads
from .schema import RESOURCE, SCHEMA, TIMESTAMP, record_table

#: The CloudTrail spelling of every schema member (lower-case name -> as records write it).
SPELLING: dict[str, str] = {n.lower(): n for n in """
eventVersion userIdentity eventTime eventSource eventName awsRegion sourceIPAddress userAgent
errorCode errorMessage requestParameters responseElements additionalEventData requestID eventID
readOnly resources eventType apiVersion managementEvent recipientAccountId sharedEventID annotation
vpcEndpointId vpcEndpointAccountId serviceEventDetails addendum edgeDeviceDetails insightDetails
eventCategory tlsDetails sessionCredentialFromConsole
type principalId arn accountId accessKeyId userName sessionContext onBehalfOf inScopeOf invokedBy
identityProvider attributes sessionIssuer webIdFederationData sourceIdentity ec2RoleDelivery
ec2IssuedInVPC creationDate mfaAuthenticated federatedProvider userId identityStoreArn sourceArn
sourceAccount issuerType credentialsIssuedTo tlsVersion cipherSuite clientProvidedHostHeader
""".split()}
#: Resources write ``ARN`` and ``ARNPrefix``.
RESOURCE_SPELLING: dict[str, str] = {**SPELLING, "arn": "ARN", "arnprefix": "ARNPrefix"}
#: (RE2) a number with a fraction or exponent, a -0, a \\u or \\/ escape: not taken.
_UNSAFE = r'(?:":|[\[,])-?[0-9]+[.eE]|(?:":|[\[,])-0[,}\]]|\\u|\\/'
_TIME_RE = r"^\d{4}-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,3})?Z$"
#: (RE2) a resources array the fast path takes: objects without nested objects or arrays.
_FLAT_OBJECTS = r"^\[(\{[^\[\]{}]*\}(,\{[^\[\]{}]*\})*)?\]$"
#: The one character other than ASCII letters whose ``str.lower()`` is an ASCII letter.
_KELVIN = r"\x{212a}"

_MACROS = (
    "CREATE MACRO ot_bool(x) AS CASE lower(x) WHEN 'true' THEN true WHEN 'false' THEN false END",
    # x (VARCHAR) -> its ot_time t: true when Python's answer is t
    f"CREATE MACRO ot_time_ok(x, t) AS x IS NULL OR x = '' OR t IS NOT NULL OR regexp_full_match(x, '{_TIME_RE}')",
    f"CREATE MACRO ot_time(x) AS CASE WHEN regexp_full_match(x, '{_TIME_RE}') THEN TRY_CAST(rtrim(x, 'Z') AS TIMESTAMP) END",
    # how many times the key "ARN" is in the JSON text x
    """CREATE MACRO ot_arn_keys(x) AS (strlen(x) - strlen(replace(x, '"ARN":', ''))) // 6""",
)

_TOP = pa.struct([f for f in SCHEMA if f.name not in ("eventjson", "eventjsonchecksum")])


def _spelling(t: pa.StructType) -> dict[str, str]:
    return RESOURCE_SPELLING if t == RESOURCE else SPELLING


def _spec(t: pa.DataType) -> Any:
    """The ``json_transform`` structure reading a value of type ``t``: objects as structs (members
    by their spelling), maps as ``MAP(VARCHAR, VARCHAR)``, every scalar as VARCHAR."""
    if pa.types.is_struct(t):
        spelling = _spelling(t)
        return {spelling[f.name]: _spec(f.type) for f in t}
    if pa.types.is_list(t):
        return [_spec(t.value_type)]
    if pa.types.is_map(t):
        return "MAP(VARCHAR, VARCHAR)"
    return "VARCHAR"


#: Members read from their own JSON text (a second, small ``json_transform``), checked there.
_OWN_TEXT = ("resources", "tlsdetails")


def _levels(t: pa.StructType = _TOP, path: str = "$") -> list[tuple[str, pa.StructType]]:
    """``(JSON path, struct)`` of the record and every struct in it but those of :data:`_OWN_TEXT`."""
    out = [(path, t)]
    for f in t:
        if pa.types.is_struct(f.type) and f.name not in _OWN_TEXT:
            out += _levels(f.type, f"{path}.{_spelling(t)[f.name]}")
    return out


LEVELS = _levels()


def _class(chars: str) -> str:
    return chars if len(chars) == 1 else "[" + chars + "]"


def _any_case(ch: str) -> str:
    """RE2 class of the characters ``c`` with ``c.lower() == ch.lower()``."""
    if not ch.isalpha():
        return ch
    return _class(ch.lower() + ch.upper() + (_KELVIN if ch.lower() == "k" else ""))


def _wrong_case(canon: str) -> list[str]:
    """RE2 alternatives matching every key Python reads as ``canon`` (same ``str.lower()``) but
    ``canon`` itself: one alternative per letter spelt otherwise."""
    alternatives = []
    for i, ch in enumerate(canon):
        if ch.isalpha():
            other = ch.swapcase() + (_KELVIN if ch.lower() == "k" else "")
            alternatives.append("".join(map(_any_case, canon[:i])) + _class(other) + "".join(map(_any_case, canon[i + 1:])))
    return alternatives


def _keys_regex(names: set[str]) -> str:
    """RE2 matching a key (``"name":``) spelt otherwise than ``names`` that Python reads as one of them."""
    by_lower: dict[str, set[str]] = {}
    for name in names:
        by_lower.setdefault(name.lower(), set()).add(name)
    alternatives = []
    for low, spellings in sorted(by_lower.items()):
        if len(spellings) == 1:
            alternatives += _wrong_case(next(iter(spellings)))
        else:  # arn / ARN: every other case variant
            variants = [""]
            for ch in low:
                variants = [v + c for v in variants for c in dict.fromkeys((ch, ch.upper()))]
            alternatives += [v for v in variants if v not in spellings]
    return '"(?:' + "|".join(alternatives) + ')":'


def _member_names(t: pa.StructType) -> set[str]:
    spelling = _spelling(t)
    return {spelling[f.name] for f in t}


def _paths(kind: str, levels: list[tuple[str, pa.StructType]] | None = None) -> list[str]:
    """JSON paths of the text members (``kind`` "text") or struct members ("struct") of ``levels``
    (default :data:`LEVELS`)."""
    out = []
    for path, t in LEVELS if levels is None else levels:
        for f in t:
            if (f.type == pa.string()) if kind == "text" else (pa.types.is_struct(f.type) and f.name not in _OWN_TEXT):
                out.append(f"{path}.{_spelling(t)[f.name]}")
    return out


def _containers(levels: list[tuple[str, pa.StructType]]) -> str:
    """RE2 matching a text member of ``levels`` followed by an object or array, or a struct member
    followed by a scalar."""
    text = sorted({p.rsplit(".", 1)[1] for p in _paths("text", levels)})
    structs = sorted({p.rsplit(".", 1)[1] for p in _paths("struct", levels)})
    return '"(?:' + "|".join(text) + r')":[\[{]' + ('|"(?:' + "|".join(structs) + ')":[^{n]' if structs else "")


#: (RE2) a key spelling a member of the record or of its structs otherwise (``ARN`` aside: counted).
_KEYS = _keys_regex({name for _, t in LEVELS for name in _member_names(t)} | {"ARN"})
#: (RE2) every record the fast path may read otherwise than Python (and some it reads the same,
#: through keys inside maps): an unsafe number or escape, :data:`_KEYS`, :func:`_containers`.
SUSPECT = "|".join([_UNSAFE, _KEYS, _containers(LEVELS)])


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _exact_select() -> str:
    """SQL over ``__suspects`` (``j``), true per record when :data:`SUSPECT`'s match (or an ``ARN``
    key outside resources) is a false alarm: no unsafe number or escape, no object of
    :data:`LEVELS` with a key spelling a member otherwise (DuckDB's ``lower`` folds as
    ``str.lower`` does on the letters of member names, KELVIN SIGN included), no text member of
    them holding an object or array and no struct member a scalar -- member by member."""
    keys = " AND ".join(
        f"coalesce(len(list_filter(__keys[{i}], lambda k: list_contains({_sql_list(sorted({n.lower() for n in _member_names(t)}))}, "
        f"lower(k)) AND NOT list_contains({_sql_list(sorted(_member_names(t)))}, k))), 0) = 0"
        for i, (_, t) in enumerate(LEVELS, 1))
    text, structs = _paths("text"), _paths("struct")
    types = (f"NOT list_has_any(__types[1:{len(text)}], ['OBJECT', 'ARRAY']) AND NOT list_has_any(__types[{len(text) + 1}:], "
             f"['VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN', 'ARRAY'])")
    return (f"SELECT coalesce(NOT regexp_matches(j, '{_UNSAFE}') AND {keys} AND {types}, false) AS ok FROM "
            f"(SELECT j, json_keys(j, {_sql_list([path for path, _ in LEVELS])}) AS __keys, "
            f"json_type(j, {_sql_list(text + structs)}) AS __types FROM __suspects)")


def _own_text(name: str, var: str) -> tuple[str, str]:
    """(value, check) SQL of the member ``name`` of :data:`_OWN_TEXT` from its JSON text ``var``:
    the value is read when it is an array (resources) or object (tlsDetails), Python's NULL
    otherwise; the check is true when the text holds no key spelling a member otherwise and, for
    resources, only objects without nested values (so no text member holds an object)."""
    t = SCHEMA.field(name).type
    item = t.value_type if pa.types.is_list(t) else t
    opening = "[" if pa.types.is_list(t) else "{"
    value = f"CASE WHEN starts_with({var}, '{opening}') THEN json_transform({var}, '{orjson.dumps(_spec(t)).decode()}') END"
    checks = [f"NOT regexp_matches({var}, '{_keys_regex(_member_names(item))}')"]
    if pa.types.is_list(t):
        checks.append(f"regexp_full_match({var}, '{_FLAT_OBJECTS}')")
    else:
        checks.append(f"NOT regexp_matches({var}, '{_containers([('$', item)])}')")
    return value, f"({var} IS NULL OR NOT starts_with({var}, '{opening}') OR ({' AND '.join(checks)}))"


def _select() -> str:
    spec = {SPELLING[f.name]: ("JSON" if f.name in _OWN_TEXT else _spec(f.type)) for f in _TOP}
    res = 'r."resources"'
    creation = 'r."userIdentity"."sessionContext"."attributes"."creationDate"'
    cols, own_checks = [], []
    for f in _TOP:
        member = f'r."{SPELLING[f.name]}"'
        if f.name in _OWN_TEXT:
            member, check = _own_text(f.name, member)
            own_checks.append(check)
        elif f.type == TIMESTAMP:
            member = f"ot_time({member})"
        elif pa.types.is_boolean(f.type):
            member = f"ot_bool({member})"
        cols.append(f'{member} AS "{f.name}"')
    cols.append(f'ot_time({creation}) AS "__creationdate"')  # eventjson: the input itself, not copied through DuckDB
    ok = [f"starts_with(j, '{{')", 'ot_time_ok(r."eventTime", "eventtime")', f'ot_time_ok({creation}, "__creationdate")',
          *own_checks]
    # the key "ARN" is counted only in the texts that have it (most records have no resources)
    cols += [f"coalesce({' AND '.join(ok)}, false) AS __ok",
             f"CASE WHEN contains(j, '\"ARN\":') THEN ot_arn_keys(j) <> coalesce(ot_arn_keys({res}), 0) ELSE false END"
             " AS __arn_elsewhere"]
    return (f"SELECT {', '.join(cols)} FROM "
            f"(SELECT j, json_transform(j, '{orjson.dumps(spec).decode()}') AS r FROM __records)")


def _renamed(arr: pa.Array, t: pa.DataType, creationdate: pa.Array) -> pa.Array:
    """DuckDB's ``arr`` (members by their spelling) as type ``t`` of :data:`SCHEMA`, the converted
    ``creationdate`` in its place."""
    if pa.types.is_struct(t):
        spelling = _spelling(t)
        children = [_renamed(arr.field(spelling[f.name]), f.type, creationdate) for f in t]
        return pa.StructArray.from_arrays(children, fields=list(t), mask=arr.is_null())
    if pa.types.is_list(t):
        return pa.ListArray.from_arrays(arr.offsets, _renamed(arr.values, t.value_type, creationdate),
                                        type=t, mask=arr.is_null())
    if t == TIMESTAMP:
        return creationdate.cast(TIMESTAMP)
    return arr.cast(t)


_SQL = _select()
_EXACT_SQL = _exact_select()
_local = threading.local()
#: DuckDB threads building columns (the conversion runs outside the GIL, on every core).
THREADS = max(1, min(4, os.cpu_count() or 1))
#: Records per Arrow batch handed to DuckDB (its threads split the work by batch).
CHUNK_ROWS = 2048


def build_threads(n: int) -> None:
    """From now on the calling thread's column builds use ``n`` DuckDB threads (default
    :data:`THREADS`). Lake ingestion runs beside the API on the same cores and uses 1, so its
    once-a-second build leaves a core to the requests; imports, which have the machine, keep
    :data:`THREADS`."""
    _local.threads = max(1, n)
    conn = getattr(_local, "conn", None)
    if conn is not None:
        conn.execute(f"SET threads = {_local.threads}")


def _connection() -> duckdb.DuckDBPyConnection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = duckdb.connect(":memory:", config={"autoload_known_extensions": False,
                                                  "autoinstall_known_extensions": False})
        conn.execute(f"SET threads = {getattr(_local, 'threads', THREADS)}")
        for macro in _MACROS:
            conn.execute(macro)
        _local.conn = conn
    return conn


def fast_table(raws: Sequence[bytes]) -> tuple[pa.Table, pa.Array]:
    """DuckDB's table of ``raws`` and, per row, whether it equals Python's."""
    arr = pa.array(raws, pa.binary()).cast(pa.string())
    batches = [pa.record_batch([arr.slice(i, CHUNK_ROWS)], names=["j"]) for i in range(0, len(arr), CHUNK_ROWS)]
    conn = _connection()
    conn.register("__records", pa.Table.from_batches(batches))
    try:
        out = conn.sql(_SQL).to_arrow_table().combine_chunks()
    finally:
        conn.unregister("__records")
    ok = out.column("__ok").combine_chunks()
    # SUSPECT's matches (Arrow's RE2 scans faster than DuckDB's) are checked again, member by member
    again = pc.or_(pc.match_substring_regex(arr, SUSPECT), out.column("__arn_elsewhere").combine_chunks())
    if again.true_count:
        conn.register("__suspects", pa.table({"j": arr.filter(again)}))
        try:
            exact = conn.sql(_EXACT_SQL).to_arrow_table().column("ok").combine_chunks()
        finally:
            conn.unregister("__suspects")
        ok = pc.replace_with_mask(ok, again, pc.and_(ok.filter(again), exact))
    creationdate = out.column("__creationdate").combine_chunks()
    columns = []
    for f in SCHEMA:
        if f.name in ("eventjson", "eventjsonchecksum"):
            columns.append(arr if f.name == "eventjson" else _checksums(raws))
            continue
        column = out.column(f.name).combine_chunks()
        if pa.types.is_struct(f.type) or pa.types.is_list(f.type):
            column = _renamed(column, f.type, creationdate)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=SCHEMA.names).cast(SCHEMA), ok


def _checksums(raws: Sequence[bytes]) -> pa.Array:
    """The hex SHA-256 of each record (hashlib: SHA-NI where the CPU has it, half DuckDB's time)."""
    sha256 = hashlib.sha256
    return pa.array([sha256(raw).hexdigest() for raw in raws], pa.string())


def _slow_pairs(raws: Sequence[bytes], parsed: Sequence[dict[str, Any] | None] | None,
                rows: list[int]) -> list[tuple[dict[str, Any], bytes]]:
    out = []
    for i in rows:
        # a record holding an integer beyond 64 bits is decoded again, exactly (orjson: a float)
        record = parsed[i] if parsed is not None and not has_long_number(raws[i]) else None
        if record is not None:
            out.append((record, raws[i]))
        else:
            loaded = loads(raws[i])
            out.append((loaded if isinstance(loaded, dict) else {}, raws[i]))
    return out


def rows_with_mask(raws: Sequence[bytes], parsed: Sequence[dict[str, Any] | None] | None = None
                   ) -> tuple[pa.Table, list[int] | None, pa.Array | None]:
    """:func:`rows_of_bytes` before its one filter, for callers that filter the rows anyway:
    ``(table, order, valid)`` where the rows ``valid`` marks (None: all) are those of
    :func:`rows_of_bytes` in the same order and ``order[k]`` names the record of row ``k``
    (None: row ``k`` is ``raws[k]``, every row valid)."""
    n = len(raws)
    if not n:
        return record_table([]), None, None
    try:
        table, ok = fast_table(raws)
    except (duckdb.Error, pa.ArrowException, UnicodeDecodeError):
        return record_table(_slow_pairs(raws, parsed, list(range(n)))), None, None
    if not ok.false_count:
        return table, None, None
    slow = [i for i, f in enumerate(ok.to_pylist()) if not f]
    rest = record_table(_slow_pairs(raws, parsed, slow))
    valid = pa.concat_arrays([ok, pa.array([True] * len(slow), pa.bool_())])
    return pa.concat_tables([table, rest]), list(range(n)) + slow, valid


def rows_of_bytes(raws: Sequence[bytes], parsed: Sequence[dict[str, Any] | None] | None = None
                  ) -> tuple[pa.Table, list[int] | None]:
    """The rows of the records ``raws`` (compact JSON bytes; a record that is not a JSON object is
    the empty record, as ingestion reads it) as one table of :data:`SCHEMA`, and ``order``: row
    ``k`` is the record ``raws[order[k]]`` (None: in the order of ``raws``). The rows are those of
    ``record_table([(orjson.loads(b), b) for b in raws])``. ``parsed``, when given, are the
    decoded records or None (used for the records the fast path does not take)."""
    table, order, valid = rows_with_mask(raws, parsed)
    if valid is None:
        return table, order
    assert order is not None
    return table.filter(valid), [i for i, v in zip(order, valid.to_pylist()) if v]


def table_of_bytes(raws: Sequence[bytes], parsed: Sequence[dict[str, Any] | None] | None = None) -> pa.Table:
    """:func:`rows_of_bytes` in the order of ``raws``: equal to
    ``record_table([(orjson.loads(b), b) for b in raws])``."""
    table, order = rows_of_bytes(raws, parsed)
    if order is None:
        return table
    return table.take(pa.array(sorted(range(len(order)), key=order.__getitem__), pa.int64()))
