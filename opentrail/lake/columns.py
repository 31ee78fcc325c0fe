"""Record bytes -> the columns of :data:`.schema.SCHEMA`, built by DuckDB instead of per-record Python.

:func:`table_of_bytes` takes the records as the event log holds them (compact JSON bytes, as
:func:`opentrail.events.record.read_record` wrote them) and returns the same table as
:func:`.schema.record_table` over ``(orjson.loads(b), b)`` -- the same values, column by column,
pinned by a property test over every record of the shared datasets and generated odd records.
DuckDB parses each record once (``json_transform`` with JSON leaves) and turns members into
typed values with SQL that copies :func:`.schema.record_row`'s rules: about the CPU time of
decoding plus :func:`.schema.record_table`, but outside the GIL and on every core (:data:`THREADS`),
and ingestion no longer decodes records its default selector does not need.

The fast path takes a record only when its SQL answer is known to equal Python's (the query's
``__ok`` column says so per record); the others, and the whole batch when DuckDB fails, go through
:func:`.schema.record_table`:

- members are read by their usual CloudTrail spelling (:data:`SPELLING`; ``ARN``/``ARNPrefix``
  in resources) while Python matches them case-insensitively, so a record where an object the
  schema reads (the record, ``userIdentity`` and its structs, each resource, ``tlsDetails``) has a
  key spelling a member otherwise (``EventName``, ``Arn``) is not taken;
- numbers with a fraction or exponent and ``-0`` (orjson and DuckDB write them differently),
  ``\\u`` and ``\\/`` escapes anywhere in the text: not taken;
- a timestamp string that is not ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` (offsets, more digits, other ISO
  forms Python accepts): not taken; a record that is not a JSON object or not UTF-8: not taken.

The rows not taken come after the others (:func:`rows_of_bytes` says which record each row is);
:func:`table_of_bytes` puts them back in order.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Sequence

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

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

_MACROS = (
    # schema._text: strings as they are, booleans/integers as JSON text, anything else NULL
    "CREATE MACRO ot_text(x) AS CASE json_type(x) WHEN 'VARCHAR' THEN x->>'$' WHEN 'BOOLEAN' THEN CAST(x AS VARCHAR) "
    "WHEN 'BIGINT' THEN CAST(x AS VARCHAR) WHEN 'UBIGINT' THEN CAST(x AS VARCHAR) END",
    # schema._json_text: strings as they are, null NULL, anything else its compact JSON
    "CREATE MACRO ot_jtext(x) AS CASE json_type(x) WHEN 'VARCHAR' THEN x->>'$' WHEN 'NULL' THEN NULL "
    "ELSE CAST(x AS VARCHAR) END",
    # schema._bool
    "CREATE MACRO ot_bool(x) AS CASE json_type(x) WHEN 'BOOLEAN' THEN CAST(x AS BOOLEAN) "
    "WHEN 'VARCHAR' THEN CASE lower(x->>'$') WHEN 'true' THEN true WHEN 'false' THEN false END END",
    f"CREATE MACRO ot_time_ok(x) AS json_type(x) IS DISTINCT FROM 'VARCHAR' OR x->>'$' = '' "
    f"OR regexp_full_match(x->>'$', '{_TIME_RE}')",
    f"CREATE MACRO ot_time(x) AS CASE WHEN json_type(x) = 'VARCHAR' AND regexp_full_match(x->>'$', '{_TIME_RE}') "
    "THEN TRY_CAST(rtrim(x->>'$', 'Z') AS TIMESTAMP) END",
    "CREATE MACRO ot_keys_ok(x, canon, lowers) AS coalesce(list_bool_and(list_transform(json_keys(x), "
    "lambda k: list_contains(canon, k) OR NOT list_contains(lowers, lower(k)))), true)",
    "CREATE MACRO ot_map(x) AS CASE WHEN json_type(x) = 'OBJECT' THEN map_from_entries(list_transform("
    "map_entries(CAST(x AS MAP(VARCHAR, JSON))), lambda e: {'k': e.key, 'v': ot_jtext(e.value)})) END",
)


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _spelling(t: pa.StructType) -> dict[str, str]:
    return RESOURCE_SPELLING if t == RESOURCE else SPELLING


def _value(expr: str, t: pa.DataType, top: bool, depth: int) -> str:
    """SQL of the value of type ``t`` from the JSON ``expr`` (schema.record_row's rules; member
    names as spelt in :data:`SPELLING`, which :func:`_check` makes sure of)."""
    if pa.types.is_struct(t):
        var, spelling = f"s{depth}", _spelling(t)
        spec = orjson.dumps({spelling[f.name]: "JSON" for f in t}).decode().replace("'", "''")
        members = ", ".join(f'"{f.name}" := {_value(f"{var}.{chr(34)}{spelling[f.name]}{chr(34)}", f.type, False, depth + 1)}'
                            for f in t)
        return (f"CASE WHEN json_type({expr}) = 'OBJECT' THEN "
                f"list_transform([json_transform({expr}, '{spec}')], lambda {var}: struct_pack({members}))[1] END")
    if pa.types.is_list(t):  # resources
        var = f"r{depth}"
        return (f"CASE WHEN json_type({expr}) = 'ARRAY' THEN list_transform(list_filter(CAST({expr} AS JSON[]), "
                f"lambda {var}: json_type({var}) = 'OBJECT'), lambda {var}: {_value(var, t.value_type, False, depth + 1)}) END")
    if pa.types.is_map(t):
        return f"ot_map({expr})"
    if t == TIMESTAMP:
        return f"ot_time({expr})"
    if top and pa.types.is_boolean(t):
        return f"ot_bool({expr})"
    return f"ot_text({expr})"


def _check(expr: str, t: pa.StructType, depth: int) -> str:
    """SQL true when the JSON ``expr`` is not an object, or spells the members of ``t`` as
    :func:`_value` reads them (any other spelling of a member name: false) and its timestamps are
    in the form the fast path converts."""
    spelling = _spelling(t)
    parts = [f"ot_keys_ok({expr}, {_sql_list([spelling[f.name] for f in t])}, {_sql_list([f.name for f in t])})"]
    for f in t:
        member = f"json_extract({expr}, '$.{spelling[f.name]}')"
        parts.extend(_member_checks(member, f.type, depth))
    return f"(json_type({expr}) IS DISTINCT FROM 'OBJECT' OR ({' AND '.join(parts)}))"


def _member_checks(member: str, t: pa.DataType, depth: int) -> list[str]:
    if pa.types.is_struct(t):
        return [_check(member, t, depth + 1)]
    if pa.types.is_list(t):
        var = f"c{depth}"
        return [f"(json_type({member}) IS DISTINCT FROM 'ARRAY' OR coalesce(list_bool_and(list_transform("
                f"CAST({member} AS JSON[]), lambda {var}: {_check(var, t.value_type, depth + 1)})), true))"]
    if t == TIMESTAMP:
        return [f"ot_time_ok({member})"]
    return []


def _select() -> str:
    members = [f for f in SCHEMA if f.name not in ("eventjson", "eventjsonchecksum")]
    spec = orjson.dumps({SPELLING[f.name]: "JSON" for f in members}).decode().replace("'", "''")
    cols = []
    for f in SCHEMA:
        if f.name == "eventjson":
            cols.append('j AS "eventjson"')
        elif f.name == "eventjsonchecksum":
            cols.append('sha256(j) AS "eventjsonchecksum"')
        else:
            cols.append(f'{_value(f"r.{chr(34)}{SPELLING[f.name]}{chr(34)}", f.type, True, 0)} AS "{f.name}"')
    # the top level: json_transform has already cut its members out
    top = ["json_type(j) = 'OBJECT'", f"NOT regexp_matches(j, '{_UNSAFE}')"]
    top.append(f"ot_keys_ok(j, {_sql_list([SPELLING[f.name] for f in members])}, {_sql_list([f.name for f in members])})")
    for f in members:
        top.extend(_member_checks(f'r."{SPELLING[f.name]}"', f.type, 0))
    return (f"SELECT {', '.join(cols)}, coalesce({' AND '.join(top)}, false) AS __ok FROM "
            f"(SELECT j, json_transform(j, '{spec}') AS r FROM __records)")


_SQL = _select()
_local = threading.local()
#: DuckDB threads building columns (the conversion runs outside the GIL, on every core).
THREADS = max(1, min(4, os.cpu_count() or 1))
#: Records per Arrow batch handed to DuckDB (its threads split the work by batch).
CHUNK_ROWS = 2048


def _connection() -> duckdb.DuckDBPyConnection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = duckdb.connect(":memory:", config={"autoload_known_extensions": False,
                                                  "autoinstall_known_extensions": False})
        conn.execute(f"SET threads = {THREADS}")
        for macro in _MACROS:
            conn.execute(macro)
        _local.conn = conn
    return conn


def _slow_pairs(raws: Sequence[bytes], parsed: Sequence[dict[str, Any] | None] | None,
                rows: list[int]) -> list[tuple[dict[str, Any], bytes]]:
    out = []
    for i in rows:
        record = parsed[i] if parsed is not None else None
        if record is not None:
            out.append((record, raws[i]))
        else:
            loaded = orjson.loads(raws[i])
            out.append((loaded if isinstance(loaded, dict) else {}, raws[i]))
    return out


def fast_table(raws: Sequence[bytes]) -> tuple[pa.Table, pa.Array]:
    """DuckDB's table of ``raws`` and, per row, whether it equals Python's."""
    arr = pa.array(raws, pa.binary()).cast(pa.string())
    batches = [pa.record_batch([arr.slice(i, CHUNK_ROWS)], names=["j"]) for i in range(0, len(arr), CHUNK_ROWS)]
    conn = _connection()
    conn.register("__records", pa.Table.from_batches(batches))
    try:
        out = conn.sql(_SQL).to_arrow_table()
    finally:
        conn.unregister("__records")
    ok = pc.fill_null(out.column("__ok"), False).combine_chunks()
    return out.drop_columns(["__ok"]).cast(SCHEMA), ok


def rows_of_bytes(raws: Sequence[bytes], parsed: Sequence[dict[str, Any] | None] | None = None
                  ) -> tuple[pa.Table, list[int] | None]:
    """The rows of the records ``raws`` (compact JSON bytes; a record that is not a JSON object is
    the empty record, as ingestion reads it) as one table of :data:`SCHEMA`, and ``order``: row
    ``k`` is the record ``raws[order[k]]`` (None: in the order of ``raws``). The rows are those of
    ``record_table([(orjson.loads(b), b) for b in raws])``. ``parsed``, when given, are the
    decoded records or None (used for the records the fast path does not take)."""
    n = len(raws)
    if not n:
        return record_table([]), None
    try:
        table, ok = fast_table(raws)
    except (duckdb.Error, pa.ArrowException, UnicodeDecodeError):
        return record_table(_slow_pairs(raws, parsed, list(range(n)))), None
    if not ok.false_count:
        return table, None
    flags = ok.to_pylist()
    good = [i for i, f in enumerate(flags) if f]
    slow = [i for i, f in enumerate(flags) if not f]
    rest = record_table(_slow_pairs(raws, parsed, slow))
    return pa.concat_tables([table.filter(ok), rest]), good + slow


def table_of_bytes(raws: Sequence[bytes], parsed: Sequence[dict[str, Any] | None] | None = None) -> pa.Table:
    """:func:`rows_of_bytes` in the order of ``raws``: equal to
    ``record_table([(orjson.loads(b), b) for b in raws])``."""
    table, order = rows_of_bytes(raws, parsed)
    if order is None:
        return table
    return table.take(pa.array(sorted(range(len(order)), key=order.__getitem__), pa.int64()))
