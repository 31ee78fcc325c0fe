"""Request validation against the botocore model, before any handler runs.

Every implemented operation's request JSON object is checked against the input shape of the
operation in ``botocore/data/cloudtrail/2013-11-01/service-2.json`` (loaded with botocore's
``Loader``), the way the Coral framework behind AWS JSON 1.1 services does:

1. *Types* (Coral's deserializer): a member of the wrong JSON type is ``SerializationException``
   with Coral's wording (:meth:`SerializationException.for_value`; architect/dynalite
   ``validations/index.js``, recorded from DynamoDB), e.g. ``class java.lang.String can not be
   converted to an Integer``. JSON ``null`` is an absent member. Integers and longs take any JSON
   number (a fraction is truncated); timestamps take JSON numbers (epoch seconds, what every AWS SDK
   sends for AWS JSON 1.1; Coral refuses strings: ``class java.lang.String can not be converted to
   milliseconds since epoch``); blobs take base64 strings. Members the model does not know are
   ignored, as AWS ignores them. The first wrong type answers; nothing else is checked after it.
2. *Constraints* (Coral's validator): required members, ``min``/``max`` (length of strings, lists,
   maps and decoded blobs; value of numbers), ``pattern`` (whole value) and ``enum``. All violations
   (at most :data:`MAX_LISTED_ERRORS`) answer one ``ValidationException``: ``1 validation error
   detected: Value 'x' at 'trailName' failed to satisfy constraint: Member must have length less
   than or equal to 128`` or ``2 validation errors detected: ...; ...``, member paths in camelCase
   with list items as ``advancedEventSelectors.1.member.fieldSelectors`` and map values as
   ``dimensions.EventName.member``. A null list item or map value is ``Member must not be null``.

Where CloudTrail answers one of its own modeled errors instead (LookupEvents' MaxResults,
EventCategory and lookup attributes, event selector and Insights selector values, tag keys and
values), the constraint is left to the handler: :data:`HANDLER_CONSTRAINTS` and
:data:`HANDLER_REQUIRED` list those member paths (``[]`` stands for a list item). Types are always
checked here. CloudWatch Logs checks the length of log group and stream names itself, with its own
message (:data:`HANDLER_MAX_LENGTH`). Java ``\\p{L}``-style classes of the Logs and CloudWatch
models are read as their Unicode categories. See docs/api.md ("Request validation").

:func:`validated` wraps a handler; :func:`validate_request` is the check itself (LookupEvents'
rendered variant calls it directly).
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from typing import Any, Callable


from .model import service_description
from .errors import SHOWN_VALUE_CHARS, AwsError, SerializationException, ValidationException

#: Constraint violations listed in one ValidationException at most (Coral stops at 10).
MAX_LISTED_ERRORS = 10

_OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")
_TAGS = frozenset({"TagsList[].Key", "TagsList[].Value"})
_ADVANCED = frozenset({
    "AdvancedEventSelectors[].Name", "AdvancedEventSelectors[].FieldSelectors",
    "AdvancedEventSelectors[].FieldSelectors[].Field",
    *(f"AdvancedEventSelectors[].FieldSelectors[].{op}{item}" for op in _OPERATORS for item in ("", "[]")),
})

#: Member paths whose model constraints (min/max/pattern/enum) the handler checks itself, answering
#: CloudTrail's modeled error (InvalidMaxResultsException, InvalidEventSelectorsException, ...).
HANDLER_CONSTRAINTS: dict[str, frozenset[str]] = {
    "LookupEvents": frozenset({"MaxResults", "EventCategory", "LookupAttributes[].AttributeKey",
                               "LookupAttributes[].AttributeValue"}),
    "PutEventSelectors": frozenset({"EventSelectors[].ReadWriteType"}) | _ADVANCED,
    "PutInsightSelectors": frozenset({"InsightSelectors[].InsightType", "InsightSelectors[].EventCategories[]"}),
    "CreateTrail": _TAGS,
    "CreateEventDataStore": _TAGS | _ADVANCED,
    "UpdateEventDataStore": _ADVANCED,
    "ListEventDataStores": frozenset({"MaxResults", "NextToken"}),
    "AddTags": _TAGS,
    "RemoveTags": _TAGS,
}
#: Service -> top-level members whose *maximum length* the service's handlers check themselves.
#: CloudWatch Logs answers a log group or stream name over 512 characters with its own text ("Invalid
#: LogGroup or LogStream, both must have length less than or equal to 512.", LocalStack's
#: AWS-validated snapshots of CreateLogGroup and DeleteMetricFilter), not Coral's.
HANDLER_MAX_LENGTH: dict[str, frozenset[str]] = {
    "logs": frozenset({"logGroupName", "logStreamName"}),
}
#: Required members whose absence the handler answers with CloudTrail's modeled error.
HANDLER_REQUIRED: dict[str, frozenset[str]] = {
    "LookupEvents": frozenset({"LookupAttributes[].AttributeKey", "LookupAttributes[].AttributeValue"}),
}

#: A compiled check: (value, member path, problems found so far) -> None; raises
#: SerializationException for a wrong type, appends constraint messages to the list.
Checker = Callable[[Any, str, list[str]], None]

_NUMBER_TYPES = {"integer": "Integer", "long": "Long", "double": "Double", "float": "Float"}
_BASE64_BAD = re.compile(r"[^a-zA-Z0-9+/=]|=[^=]")


def _load_model(service: str = "cloudtrail") -> dict[str, Any]:
    return service_description(service)


def shown(value: Any, depth: int = 0) -> str:
    """``value`` as Coral prints it in a message (Java ``toString``: ``[a, b]``, ``{k=v}``), cut to
    :data:`SHOWN_VALUE_CHARS` characters (and nesting beyond 8 levels shown as ``...``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        if depth >= 8:
            return "..."
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        parts: list[str] = []
        size = 0
        for key, item in items:
            text = shown(item, depth + 1)
            parts.append(text if key is None else f"{key}={text}")
            size += len(parts[-1]) + 2
            if size > SHOWN_VALUE_CHARS:
                break
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        return (opening + ", ".join(parts) + closing)[:SHOWN_VALUE_CHARS]
    return str(value)[:SHOWN_VALUE_CHARS]


#: Stands for the value of a member the model marks ``sensitive``: Coral leaves such values out of
#: its messages ("Value at 'password' failed to satisfy constraint: ...", Cognito's answers).
HIDDEN = object()


def _problem(problems: list[str], value: Any, path: str, constraint: str) -> None:
    if len(problems) < MAX_LISTED_ERRORS:
        quoted = "" if value is HIDDEN else " null" if value is None else f" '{shown(value)}'"
        problems.append(f"Value{quoted} at '{path}' failed to satisfy constraint: {constraint}")


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


#: Java's ``\\p{X}`` Unicode category classes (CloudWatch Logs tag keys, CloudWatch dimension values).
_JAVA_CATEGORY = re.compile(r"\\p\{([A-Z][a-z]?)\}")
#: A class escape followed by ``-`` inside a character class (``[\\w-_]``): Java reads the ``-`` as
#: itself, Python refuses the range.
_JAVA_ESCAPE_DASH = re.compile(r"(\\[wdsWDS])-")


@functools.lru_cache(maxsize=1)
def _category_table() -> dict[str, str]:
    """Unicode general category (``Lu``) and major category (``L``) -> its code point ranges as the
    inside of a Python character class, computed once in one pass (:mod:`unicodedata`)."""
    import unicodedata

    ranges: dict[str, list[str]] = {}
    category = unicodedata.category

    def close(name: str, start: int, end: int) -> None:
        text = f"\\U{start:08x}" if start == end else f"\\U{start:08x}-\\U{end:08x}"
        ranges.setdefault(name, []).append(text)
        ranges.setdefault(name[0], []).append(text)

    # Planes 4-13 are unassigned and planes 15-16 private use: no letter, mark, number,
    # punctuation, symbol or separator there, so only these spans are read.
    for first, last in ((0, 0x3FFFF), (0xE0000, 0xEFFFF)):
        current, start = category(chr(first)), first
        for cp in range(first + 1, last + 1):
            name = category(chr(cp))
            if name != current:
                close(current, start, cp - 1)
                current, start = name, cp
        close(current, start, last)
    return {name: "".join(parts) for name, parts in ranges.items()}


def _java_pattern(pattern: str) -> re.Pattern[str] | None:
    """A Java regular expression of the model as a Python one: surrogate-pair ranges become the
    supplementary planes, ``\\p{L}``-style categories their code point ranges (they only appear
    inside character classes in the models), and ``-`` after a class escape in a class is literal.
    None for a pattern Python's ``re`` still cannot express: that pattern is not checked."""
    python = pattern.replace("\\uD800\\uDC00-\\uDBFF\\uDFFF", "\\U00010000-\\U0010FFFF")
    python = _JAVA_CATEGORY.sub(lambda m: _category_table()[m.group(1)], python)
    python = _JAVA_ESCAPE_DASH.sub(lambda m: m.group(1) + "\\-", python)
    try:
        return re.compile(python)
    except re.error:
        return None


def _size_checks(shape: dict[str, Any], noun: str) -> list[tuple[Callable[[int], bool], str]]:
    checks: list[tuple[Callable[[int], bool], str]] = []
    if "min" in shape:
        low = shape["min"]
        checks.append((lambda n, low=low: n >= low, f"Member must have {noun} greater than or equal to {low}"))
    if "max" in shape:
        high = shape["max"]
        checks.append((lambda n, high=high: n <= high, f"Member must have {noun} less than or equal to {high}"))
    return checks


class _Compiler:
    """Turns the model's shapes into :data:`Checker` closures, once per operation."""

    def __init__(self, shapes: dict[str, Any], operation: str, service: str = "cloudtrail") -> None:
        self.shapes = shapes
        own = service == "cloudtrail"  # HANDLER_CONSTRAINTS / HANDLER_REQUIRED are CloudTrail's
        self.owned = HANDLER_CONSTRAINTS.get(operation, frozenset()) if own else frozenset()
        self.owned_required = HANDLER_REQUIRED.get(operation, frozenset()) if own else frozenset()
        self.owned_max = HANDLER_MAX_LENGTH.get(service, frozenset())

    def compile(self, name: str, template: str) -> Checker:
        shape = self.shapes[name]
        kind = shape["type"]
        constrained = template not in self.owned
        if kind == "structure":
            return self._structure(shape, template)
        if kind == "list":
            return self._list(shape, template, constrained)
        if kind == "map":
            return self._map(shape, template, constrained)
        if kind == "string":
            if template in self.owned_max:
                shape = {k: v for k, v in shape.items() if k != "max"}
            return self._string(shape, constrained)
        if kind == "boolean":
            return _boolean
        if kind in _NUMBER_TYPES:
            return self._number(shape, _NUMBER_TYPES[kind], constrained)
        if kind == "timestamp":
            return _timestamp
        if kind == "blob":
            return self._blob(shape, constrained)
        raise ValueError(f"shape {name} has an unknown type {kind}")

    def _structure(self, shape: dict[str, Any], template: str) -> Checker:
        members: list[tuple[str, str, Checker, bool]] = []
        required = set(shape.get("required", ()))
        prefix = f"{template}." if template else ""
        for member, ref in shape.get("members", {}).items():
            sub = prefix + member
            needed = member in required and sub not in self.owned_required
            members.append((member, _camel(member), self.compile(ref["shape"], sub), needed))

        def check(value: Any, path: str, problems: list[str]) -> None:
            if type(value) is not dict:
                raise SerializationException.for_value(value, "Structure")
            for member, camel, sub_check, needed in members:
                item = value.get(member)
                if item is None:
                    if needed:
                        _problem(problems, None, f"{path}.{camel}" if path else camel, "Member must not be null")
                    continue
                sub_check(item, f"{path}.{camel}" if path else camel, problems)

        return check

    def _holds_sensitive(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """True when shape ``name`` is, or holds at any depth, a shape the model marks sensitive."""
        shape = self.shapes[name]
        if shape.get("sensitive"):
            return True
        if name in seen:
            return False
        refs = [m["shape"] for m in shape.get("members", {}).values()]
        refs += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        return any(self._holds_sensitive(r, seen | {name}) for r in refs)

    def _list(self, shape: dict[str, Any], template: str, constrained: bool) -> Checker:
        member = self.compile(shape["member"]["shape"], template + "[]")
        sizes = _size_checks(shape, "length") if constrained else []
        hidden = bool(sizes) and self._holds_sensitive(shape["member"]["shape"])

        def check(value: Any, path: str, problems: list[str]) -> None:
            if type(value) is not list:
                raise SerializationException.for_value(value, "List")
            for ok, constraint in sizes:
                if not ok(len(value)):
                    _problem(problems, HIDDEN if hidden else value, path, constraint)
            for i, item in enumerate(value, 1):
                if item is None:
                    _problem(problems, None, f"{path}.{i}.member", "Member must not be null")
                else:
                    member(item, f"{path}.{i}.member", problems)

        return check

    def _map(self, shape: dict[str, Any], template: str, constrained: bool) -> Checker:
        key_check = self.compile(shape["key"]["shape"], template + "{key}")
        value_check = self.compile(shape["value"]["shape"], template + "{}")
        sizes = _size_checks(shape, "length") if constrained else []
        hidden = bool(sizes) and self._holds_sensitive(shape["value"]["shape"])

        def check(value: Any, path: str, problems: list[str]) -> None:
            if type(value) is not dict:
                raise SerializationException.for_value(value, "Map")
            for ok, constraint in sizes:
                if not ok(len(value)):
                    _problem(problems, HIDDEN if hidden else value, path, constraint)
            for key, item in value.items():
                where = f"{path}.{key}.member"
                key_check(key, where, problems)
                if item is None:
                    _problem(problems, None, where, "Member must not be null")
                else:
                    value_check(item, where, problems)

        return check

    def _string(self, shape: dict[str, Any], constrained: bool) -> Checker:
        checks = _size_checks(shape, "length") if constrained else []
        pattern = _java_pattern(shape["pattern"]) if constrained and "pattern" in shape else None
        enum = frozenset(shape["enum"]) if constrained and "enum" in shape else None
        if not checks and pattern is None and enum is None:
            return _plain_string
        enum_text = f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]" if enum else ""
        pattern_text = f"Member must satisfy regular expression pattern: {shape.get('pattern')}"
        sensitive = bool(shape.get("sensitive"))

        def check(value: Any, path: str, problems: list[str]) -> None:
            if type(value) is not str:
                raise SerializationException.for_value(value, "String")
            quoted = HIDDEN if sensitive else value
            for ok, constraint in checks:
                if not ok(len(value)):
                    _problem(problems, quoted, path, constraint)
            if pattern is not None and not pattern.fullmatch(value):
                _problem(problems, quoted, path, pattern_text)
            if enum is not None and value not in enum:
                _problem(problems, quoted, path, enum_text)

        return check

    def _number(self, shape: dict[str, Any], java: str, constrained: bool) -> Checker:
        checks = _size_checks(shape, "value") if constrained else []
        truncate = java in ("Integer", "Long")

        def check(value: Any, path: str, problems: list[str]) -> None:
            if type(value) not in (int, float):
                raise SerializationException.for_value(value, java)
            number = math.floor(value) if truncate and type(value) is float else value
            for ok, constraint in checks:
                if not ok(number):
                    _problem(problems, number, path, constraint)

        return check

    def _blob(self, shape: dict[str, Any], constrained: bool) -> Checker:
        checks = _size_checks(shape, "length") if constrained else []

        def check(value: Any, path: str, problems: list[str]) -> None:
            if type(value) is not str:
                raise SerializationException.for_value(value, "Blob")
            data = _base64(value)
            for ok, constraint in checks:
                if not ok(len(data)):
                    _problem(problems, f"java.nio.HeapByteBuffer[pos=0 lim={len(data)} cap={len(data)}]", path,
                             constraint)

        return check


def _plain_string(value: Any, path: str, problems: list[str]) -> None:
    if type(value) is not str:
        raise SerializationException.for_value(value, "String")


def _boolean(value: Any, path: str, problems: list[str]) -> None:
    if type(value) is not bool:
        raise SerializationException.for_value(value, "Boolean")


def _timestamp(value: Any, path: str, problems: list[str]) -> None:
    if type(value) not in (int, float):
        raise SerializationException.for_value(value, "Timestamp")


def _base64(value: str) -> bytes:
    """The bytes of a base64 blob member; SerializationException in Coral's wording otherwise."""
    quoted = f"'{value[:SHOWN_VALUE_CHARS]}' can not be converted to a Blob"
    if len(value) % 4:
        raise SerializationException(
            f"{quoted}: Base64 encoded length is expected a multiple of 4 bytes but found: {len(value)}")
    bad = _BASE64_BAD.search(value)
    if bad:
        raise SerializationException(f"{quoted}: Invalid Base64 character: '{bad.group()[0]}'")
    try:
        data = base64.b64decode(value, validate=True)
    except binascii.Error:
        data = None
    if data is None or base64.b64encode(data).decode("ascii") != value:
        raise SerializationException(f"{quoted}: Invalid last non-pad Base64 character dectected")
    return data


def _build(service: str = "cloudtrail") -> dict[str, Checker]:
    model = _load_model(_MODEL_OF.get(service, service))
    checkers: dict[str, Checker] = {}
    for operation, spec in model["operations"].items():
        shape = spec.get("input", {}).get("shape")
        if shape is not None:
            checkers[operation] = _Compiler(model["shapes"], operation, service).compile(shape, "")
    return checkers


#: Signing name -> botocore model name, where they differ.
_MODEL_OF = {"monitoring": "cloudwatch"}

#: Operation name -> the check of its input shape, for every operation of the CloudTrail model.
CHECKERS: dict[str, Checker] = _build()


@functools.lru_cache(maxsize=None)
def checkers_of(service: str) -> dict[str, Checker]:
    """Operation name -> the check of its input shape, for every operation of ``service`` (a signing
    name or botocore model name)."""
    return CHECKERS if service == "cloudtrail" else _build(service)


def _validation_error(service: str) -> type[AwsError]:
    """The error a constraint violation answers: ValidationException (CloudTrail and EventBridge, Coral's),
    InvalidParameterException (CloudWatch Logs), ValidationError (CloudWatch, STS and IAM, the Query protocol's)."""
    if service == "logs":
        from .logs_errors import InvalidParameterException

        return InvalidParameterException
    if service in ("monitoring", "cloudwatch"):
        from .cloudwatch_errors import ValidationError

        return ValidationError
    if service == "sts":
        from .sts_errors import ValidationError as StsValidationError

        return StsValidationError
    if service == "iam":
        from .iam_errors import ValidationError as IamValidationError

        return IamValidationError
    return ValidationException


def validate_request(operation: str, params: dict[str, Any], service: str = "cloudtrail") -> None:
    """Check the request object ``params`` of ``operation`` of ``service`` against the model. Raises
    SerializationException for a member of the wrong JSON type and the service's validation error
    (:func:`_validation_error`) for constraint violations (see the module docstring); does nothing
    for an operation the model does not have."""
    check = checkers_of(service).get(operation)
    if check is None:
        return
    problems: list[str] = []
    check(params, "", problems)
    if problems:
        count = len(problems)
        plural = "s" if count > 1 else ""
        raise _validation_error(service)(f"{count} validation error{plural} detected: " + "; ".join(problems))


Handler = Callable[[Any, dict[str, Any]], dict[str, Any]]


def validated(operation: str, handler: Handler, service: str = "cloudtrail") -> Handler:
    """``handler`` behind :func:`validate_request` for ``service`` (same name, docstring and
    attributes; the original is ``__wrapped__``)."""

    @functools.wraps(handler)
    def run(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        validate_request(operation, params, service)
        return handler(ctx, params)

    return run
