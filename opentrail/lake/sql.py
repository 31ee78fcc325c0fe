"""Lake SQL: the Trino SELECT statements CloudTrail Lake accepts, translated to DuckDB.

:func:`translate` takes the statement as a user wrote it and returns a :class:`Translation`: the
DuckDB SQL, the event data store IDs it reads (the caller resolves them and creates one view per
store named by its ID, see :mod:`opentrail.lake.engine`), and the output column names as Lake
names them (``../shared/reference/lake.md`` §B.3). Steps:

1. Event data store IDs (UUIDs) after FROM or JOIN, quoted or not, become quoted identifiers
   (an unquoted UUID does not tokenize); error positions are mapped back to the text as written.
2. Parse with sqlglot ``read="trino"``; anything but one query (SELECT, UNION/INTERSECT/EXCEPT,
   WITH) is refused, as is a table that is not an event data store ID (no table functions, no
   other schemas) and a function that is not a Trino function.
3. opentrail's transforms where a plain transpile answers differently from Trino (§B.5):
   ``CAST(json_extract(..) AS varchar)`` without the JSON quotes, ``json_extract_scalar`` NULL on
   objects and arrays, ``slice(arr, start, length)``, order-preserving ``array_distinct``,
   ``cardinality`` of maps, ``any_match``/``all_match``/``none_match``, and macros
   (:data:`MACROS`) for ``json_array_get``, ``json_array_contains``, ``is_json_scalar``,
   ``to_iso8601``, ``url_extract_host``.

Errors are :class:`InvalidQueryStatementException` with Trino's wording and position
(``line 1:8: ...``). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from .query_errors import InvalidQueryStatementException

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: Skips literals and comments; captures an unquoted event data store ID after FROM/JOIN/comma.
_SCAN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/"
    rf"|(?P<kw>\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+|,\s*)(?P<id>{_UUID})(?![\w-])",
    re.IGNORECASE | re.DOTALL,
)
UUID_RE = re.compile(rf"^{_UUID}$")

#: DuckDB macros for Trino functions DuckDB lacks (created on every query connection).
MACROS: tuple[str, ...] = (
    "CREATE MACRO ot_json_extract_scalar(j, p) AS "
    "CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END",
    "CREATE MACRO ot_json_array_get(j, i) AS "
    "CASE WHEN json_type(j) <> 'ARRAY' THEN NULL ELSE json_extract(j, "
    "CASE WHEN i >= 0 THEN '$[' || i || ']' ELSE '$[#' || i || ']' END) END",
    "CREATE MACRO ot_json_array_contains(j, v) AS "
    "CASE WHEN json_type(j) <> 'ARRAY' THEN NULL "
    "ELSE list_contains(json_extract_string(j, '$[*]'), CAST(v AS VARCHAR)) END",
    "CREATE MACRO ot_is_json_scalar(j) AS json_type(j) NOT IN ('OBJECT', 'ARRAY')",
    "CREATE MACRO ot_array_distinct(l) AS list_filter(l, lambda x, i: list_position(l, x) = i)",
    "CREATE MACRO ot_slice(l, s, n) AS CASE WHEN s > 0 THEN list_slice(l, s, s + n - 1) "
    "ELSE list_slice(l, len(l) + s + 1, len(l) + s + n) END",
    "CREATE MACRO ot_to_iso8601(t) AS strftime(CAST(t AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g')",
    "CREATE MACRO ot_url_extract_host(u) AS "
    r"nullif(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)', 1), '')",
)

#: Trino functions sqlglot does not model that are passed to DuckDB by name (DuckDB has them with
#: Trino's meaning); with the macros above, the only unmodelled functions a query may call.
PASSTHROUGH_FUNCTIONS: frozenset[str] = frozenset("""
abs acos asin atan atan2 cbrt ceil ceiling cos cosh degrees e exp floor ln log log10 log2 mod pi
power radians round sign sin sqrt tan tanh truncate greatest least coalesce nullif if
length lower upper ltrim rtrim trim lpad rpad reverse concat substr substring replace strpos
split_part starts_with ends_with chr codepoint position levenshtein_distance hamming_distance
regexp_like regexp_extract regexp_extract_all regexp_replace regexp_split
year month day hour minute second millisecond day_of_week dow day_of_month day_of_year doy week
week_of_year quarter year_of_week yow date_trunc date_add date_diff now current_date
current_timestamp localtimestamp from_unixtime to_unixtime date
count sum min max avg count_if max_by min_by arbitrary array_agg approx_distinct bool_and bool_or
every stddev stddev_pop stddev_samp variance var_pop var_samp histogram map_agg geometric_mean
rank dense_rank row_number percent_rank cume_dist ntile lag lead first_value last_value nth_value
cardinality element_at contains array_max array_min array_join array_position array_remove
array_sort array_union array_intersect array_except arrays_overlap flatten sequence zip repeat
map map_keys map_values map_concat map_filter transform filter reduce
json_parse json_format json_size json_array_length json_extract json_extract_scalar
md5 sha1 sha256 to_hex from_hex typeof try try_cast
""".split())

#: Trino function -> macro name.
_MACRO_OF: dict[str, str] = {
    "json_array_get": "ot_json_array_get", "json_array_contains": "ot_json_array_contains",
    "is_json_scalar": "ot_is_json_scalar", "to_iso8601": "ot_to_iso8601",
    "url_extract_host": "ot_url_extract_host",
}

_ALLOWED_STATEMENTS = (exp.Select, exp.Union, exp.Intersect, exp.Except)


@dataclass(frozen=True, slots=True)
class Translation:
    """``sql``: DuckDB SQL; ``store_ids``: the event data store IDs read (lower-case, in order of
    appearance); ``column_names``: Lake's output names, or None when the select list has a ``*``
    (then the engine's names, the schema's lower-case columns, are Lake's)."""

    sql: str
    store_ids: tuple[str, ...]
    column_names: tuple[str, ...] | None
    #: (lowest, highest) eventTime the query can return a row for (None: unbounded), when the
    #: statement is one SELECT over one store whose WHERE bounds eventTime (see :func:`event_time_bounds`)
    event_time_bounds: tuple[dt.datetime | None, dt.datetime | None] = (None, None)


class _Source:
    """The statement as written and as rewritten (IDs quoted): maps rewritten offsets back."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.inserts: list[int] = []  # offsets in the rewritten text where a quote was added
        out: list[str] = []
        last = 0
        for m in _SCAN.finditer(text):
            if m.group("id") is None:
                continue
            out.append(text[last:m.start("id")])
            self.inserts.append(sum(len(p) for p in out))
            out.append(f'"{m.group("id")}')
            self.inserts.append(sum(len(p) for p in out))
            out.append('"')
            last = m.end("id")
        out.append(text[last:])
        self.rewritten = "".join(out)

    def original_offset(self, offset: int) -> int:
        return offset - sum(1 for i in self.inserts if i <= offset)

    def position(self, rewritten_offset: int) -> str:
        """``line L:C`` (1-based) in the text as written."""
        offset = max(0, min(self.original_offset(rewritten_offset), len(self.text)))
        before = self.text[:offset]
        line = before.count("\n") + 1
        return f"line {line}:{offset - (before.rfind(chr(10)) + 1) + 1}"

    def position_of(self, node: exp.Expression) -> str:
        start = _start(node)
        return self.position(start) if start is not None else "line 1:1"

    def line_col(self, line: int, col: int, token: str) -> str:
        """A sqlglot error position (``col`` at the token's end, in the rewritten text)."""
        lines = self.rewritten.split("\n")
        line = max(1, min(line, len(lines)))
        offset = sum(len(x) + 1 for x in lines[:line - 1]) + max(0, col - len(token))
        return self.position(offset)


def _start(node: exp.Expression) -> int | None:
    """The smallest source offset of any token under ``node`` (None when none is known)."""
    starts = [n.meta["start"] for n in node.walk() if isinstance(n.meta, dict) and n.meta.get("start") is not None]
    return min(starts) if starts else None


def _invalid(message: str) -> InvalidQueryStatementException:
    return InvalidQueryStatementException(message)


def parse(statement: str) -> tuple[_Source, exp.Expression]:
    """The one query of ``statement`` as a Trino syntax tree (InvalidQueryStatementException when it
    is not exactly one SELECT/set operation)."""
    source = _Source(statement)
    try:
        trees = [t for t in sqlglot.parse(source.rewritten, read="trino") if t is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = source.line_col(first.get("line") or 1, first.get("col") or 1, first.get("highlight") or "")
        near = (first.get("highlight") or "").strip()
        what = first.get("description") or ""
        detail = f" ({what})" if what and "<" not in what and "missing for" not in what else ""
        raise _invalid(f"{where}: Syntax error at or near '{near or '<EOF>'}'{detail}") from None
    except TokenError as exc:
        raise _invalid(f"line 1:1: {exc}") from None
    if not trees:
        raise _invalid("line 1:1: The query statement is empty")
    if len(trees) > 1:
        tokens = sqlglot.Dialect.get_or_raise("trino").tokenize(source.rewritten)
        semicolon = next(t for t in tokens if t.token_type == sqlglot.tokens.TokenType.SEMICOLON)
        after = source.rewritten[semicolon.end + 1:]
        raise _invalid(f"{source.position(semicolon.end + 1 + len(after) - len(after.lstrip()))}: "
                       "Only one statement is allowed per query")
    tree = trees[0]
    if not isinstance(tree, _ALLOWED_STATEMENTS) or isinstance(tree, exp.Select) and tree.args.get("into"):
        words = statement.split()
        kind = re.sub(r"\W.*", "", words[0]).upper() if words else tree.key.upper()
        start = len(statement) - len(statement.lstrip())
        raise _invalid(f"{source.position(start)}: Only SELECT queries are supported (found {kind})")
    return source, tree


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _collect_tables(source: _Source, tree: exp.Expression) -> list[str]:
    ctes = _cte_names(tree)
    ids: list[str] = []
    for table in tree.find_all(exp.Table):
        name = table.this
        if not isinstance(name, exp.Identifier) or table.args.get("db") or table.args.get("catalog"):
            raise _invalid(f"{source.position_of(table)}: Table '{table.sql('trino')}' does not exist; "
                           "FROM and JOIN name event data store IDs")
        if not name.quoted and name.name.lower() in ctes:
            continue
        if not UUID_RE.match(name.name):
            if name.name.lower() in ctes:
                continue
            raise _invalid(f"{source.position_of(table)}: Table '{name.name}' does not exist; "
                           "FROM and JOIN name event data store IDs")
        eds_id = name.name.lower()
        name.set("this", eds_id)
        name.set("quoted", True)
        if eds_id not in ids:
            ids.append(eds_id)
    return ids


def _call(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _path_text(path: exp.Expression) -> exp.Expression:
    """A JSON path argument as a string literal (sqlglot parses literal paths into JSONPath)."""
    if isinstance(path, exp.JSONPath):
        return exp.Literal.string(path.sql("trino").strip("'"))
    return path


def _alias_struct_paths(select: exp.Select) -> None:
    """``a.b.c`` in a select list is named ``c`` on Trino (so ORDER BY c works): say so to DuckDB."""
    for i, item in enumerate(select.expressions):
        if isinstance(item, exp.Column) and item.args.get("table") and isinstance(item.this, exp.Identifier):
            name = item.this
        elif isinstance(item, exp.Dot) and isinstance(item.expression, exp.Identifier):
            name = item.expression
        else:
            continue
        select.expressions[i] = exp.alias_(item.copy(), exp.Identifier(this=name.name, quoted=True))
    select.set("expressions", list(select.expressions))


def _transform(source: _Source, tree: exp.Expression) -> exp.Expression:
    def rewrite(node: exp.Expression) -> exp.Expression:
        if (isinstance(node, exp.Cast) and isinstance(node.this, exp.JSONExtract)
                and node.to.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT)):
            return _call("json_extract_string", node.this.this, _path_text(node.this.expression))
        if isinstance(node, exp.JSONArrayContains):
            return _call("ot_json_array_contains", node.this, node.expression)
        if isinstance(node, exp.Select):
            _alias_struct_paths(node)
        if isinstance(node, exp.JSONExtractScalar):
            return _call("ot_json_extract_scalar", node.this, _path_text(node.expression))
        if isinstance(node, exp.ArraySlice):
            return _call("ot_slice", node.this, node.args["start"], node.args.get("end") or exp.Literal.number(2 ** 31))
        if isinstance(node, exp.ArrayDistinct):
            return _call("ot_array_distinct", node.this)
        if isinstance(node, exp.ArraySize):
            return _call("cardinality", node.this)
        if isinstance(node, exp.Anonymous):
            name = str(node.this).lower()
            args = list(node.expressions)
            if name in _MACRO_OF:
                return _call(_MACRO_OF[name], *args)
            if name in ("any_match", "all_match", "none_match") and len(args) == 2:
                mapped = _call("list_transform", *args)
                if name == "all_match":
                    return exp.Coalesce(this=_call("list_bool_and", mapped), expressions=[exp.true()])
                any_ = exp.Coalesce(this=_call("list_bool_or", mapped), expressions=[exp.false()])
                return exp.Not(this=exp.Paren(this=any_)) if name == "none_match" else any_
            if name not in PASSTHROUGH_FUNCTIONS:
                raise _invalid(f"{source.position_of(node)}: Function '{node.this}' not registered")
        return node

    return tree.transform(rewrite)


def _leftmost_select(tree: exp.Expression) -> exp.Select | None:
    while isinstance(tree, (exp.Union, exp.Intersect, exp.Except)):
        tree = tree.this
    while isinstance(tree, exp.Subquery):
        tree = tree.this
    return tree if isinstance(tree, exp.Select) else _leftmost_select(tree) if isinstance(tree, exp.SetOperation) else None


def column_names(tree: exp.Expression) -> tuple[str, ...] | None:
    """Lake's output names: the alias; a column as written (``eventName``); the last field of a
    struct path as written (``userIdentity.arn`` -> ``arn``); ``_colN`` (0-based select-list
    position) otherwise. None when the select list has a ``*``."""
    select = _leftmost_select(tree)
    if select is None:
        return None
    names: list[str] = []
    for i, item in enumerate(select.expressions):
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            return None
        if isinstance(item, exp.Alias):
            names.append(item.alias)
        elif isinstance(item, exp.Column):
            names.append(item.name)
        elif isinstance(item, exp.Dot) and isinstance(item.expression, exp.Identifier):
            names.append(item.expression.name)
        else:
            names.append(f"_col{i}")
    return tuple(names)


def translate(statement: str) -> Translation:
    """``statement`` (Lake's Trino SQL) as DuckDB SQL, with the stores it reads and Lake's column
    names. Raises :class:`InvalidQueryStatementException`."""
    source, tree = parse(statement)
    ids = _collect_tables(source, tree)
    if not ids:
        raise _invalid(f"{source.position_of(tree)}: The query must read an event data store (FROM <event data store ID>)")
    names = column_names(tree)
    bounds = event_time_bounds(tree)
    tree = _transform(source, tree)
    try:
        sql = tree.sql("duckdb")
    except Exception as exc:  # sqlglot's generator refuses constructs DuckDB has no form for
        raise _invalid(f"line 1:1: {exc}") from None
    return Translation(sql, tuple(ids), names, bounds)


_TIME_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$")


def _time_literal(node: exp.Expression) -> dt.datetime | None:
    """A string literal, or a CAST/TIMESTAMP of one, naming a moment (``2024-01-01 00:00:00``,
    ``2024-01-01``); None for anything else."""
    while isinstance(node, (exp.Cast, exp.TryCast, exp.Paren)):
        node = node.this
    if not isinstance(node, exp.Literal) or not node.is_string or not _TIME_LITERAL.match(node.this):
        return None
    text = node.this.replace("T", " ")
    if "." in text:
        head, frac = text.split(".")
        text = f"{head}.{frac[:6]}"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_event_time(node: exp.Expression, store_id: str) -> bool:
    if not isinstance(node, exp.Column) or node.name.lower() != "eventtime":
        return False
    table = node.table
    return not table or table.lower() == store_id


def event_time_bounds(tree: exp.Expression) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The eventTime range (inclusive, to the microsecond: ``< x`` gives ``x - 1 µs``) outside
    which ``tree`` (a translated-table tree) can return no row:
    only for one SELECT reading one store directly (no joins, subqueries, set operations or
    CTEs), from the top-level AND terms of its WHERE comparing ``eventTime`` with a literal
    (``>``, ``>=``, ``<``, ``<=``, ``=``, ``BETWEEN``). ``(None, None)`` when nothing bounds it.
    Rows with a NULL eventTime never match such a WHERE. Used to skip day folders."""
    if not isinstance(tree, exp.Select) or tree.args.get("with") or tree.args.get("joins"):
        return None, None
    source = tree.args.get("from_") or tree.args.get("from")
    table = source.this if source is not None else None
    if (not isinstance(table, exp.Table) or sum(1 for _ in tree.find_all(exp.Select)) != 1
            or sum(1 for _ in tree.find_all(exp.Table)) != 1):
        return None, None  # another reference to the store (a subquery) must see every row
    store_id = table.name.lower()
    if table.alias:
        store_id = table.alias.lower()
    where = tree.args.get("where")
    if where is None:
        return None, None
    terms: list[exp.Expression] = []
    stack = [where.this]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Paren):
            stack.append(node.this)
        elif isinstance(node, exp.And):
            stack.extend([node.this, node.expression])
        else:
            terms.append(node)
    lo: dt.datetime | None = None
    hi: dt.datetime | None = None

    def lower(value: dt.datetime | None) -> None:
        nonlocal lo
        if value is not None and (lo is None or value > lo):
            lo = value

    def upper(value: dt.datetime | None) -> None:
        nonlocal hi
        if value is not None and (hi is None or value < hi):
            hi = value
    flipped = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ}
    for term in terms:
        if isinstance(term, exp.Between) and _is_event_time(term.this, store_id):
            lower(_time_literal(term.args["low"]))
            upper(_time_literal(term.args["high"]))
            continue
        kind = type(term)
        if kind not in flipped:
            continue
        left, right = term.this, term.expression
        if _is_event_time(right, store_id):
            left, right, kind = right, left, flipped[kind]
        if not _is_event_time(left, store_id):
            continue
        value = _time_literal(right)
        tick = dt.timedelta(microseconds=1)
        if kind in (exp.GT, exp.GTE, exp.EQ):
            lower(value + tick if value is not None and kind is exp.GT else value)
        if kind in (exp.LT, exp.LTE, exp.EQ):
            upper(value - tick if value is not None and kind is exp.LT else value)
    return lo, hi


def locate(statement: str, name: str, kind: str) -> str:
    """``line L:C`` of the first column (``kind="column"``) or function (``"function"``) called
    ``name`` (case-insensitive) in ``statement``; ``line 1:1`` when it is not found."""
    try:
        source, tree = parse(statement)
    except InvalidQueryStatementException:
        return "line 1:1"
    wanted = name.lower()
    for node in tree.walk():
        if kind == "column" and isinstance(node, (exp.Column, exp.Identifier)) and node.name.lower() == wanted:
            return source.position_of(node)
        if kind == "function" and isinstance(node, exp.Func):
            fname = str(node.this) if isinstance(node, exp.Anonymous) else node.sql_name()
            if fname.lower() == wanted:
                return source.position_of(node)
    return "line 1:1"
