"""requestParameters of a non-S3 call, read from the request against the model's input shape.

- JSON protocols: the JSON body.
- Query and EC2 protocols: the form parameters, un-flattened the way botocore's
  ``QuerySerializer``/``EC2Serializer`` flattened them (``Tags.member.1.Key``,
  ``Attributes.entry.1.key``, flattened lists ``Name.1``; EC2 names from ``queryName`` or the
  capitalised ``locationName``).
- REST protocols: URI labels, query string and headers per the members' ``location`` traits, the
  rest from the JSON body (rest-json) or the XML payload (rest-xml, parsed by botocore's
  ``RestXMLParser``).

The result goes through :func:`opentrail.proxy.values.to_record` (camelCase names, sensitive
members left out). An empty request gives None (AWS writes ``requestParameters: null``, as for
STS GetCallerIdentity).
"""

from __future__ import annotations

from typing import Any

import orjson
from botocore.model import Shape
from botocore.parsers import RestXMLParser
from botocore.utils import parse_timestamp

from .capture import CapturedCall
from .resolve import ResolvedCall
from .values import OMIT, scalar_from_text, to_record

_MISSING = object()


def _query_name(shape: Shape, default: str, ec2: bool) -> str:
    if ec2:
        if "queryName" in shape.serialization:
            return str(shape.serialization["queryName"])
        if "name" in shape.serialization:
            name = str(shape.serialization["name"])
            return name[:1].upper() + name[1:]
        return default
    return str(shape.serialization.get("name", default))


def _has_prefix(keys: set[str], prefix: str) -> bool:
    dotted = prefix + "."
    return prefix in keys or any(k.startswith(dotted) for k in keys)


def _from_query(shape: Shape, params: dict[str, str], keys: set[str], prefix: str, ec2: bool) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            loc = _query_name(member, name, ec2)
            key = f"{prefix}.{loc}" if prefix else loc
            value = _from_query(member, params, keys, key, ec2)
            if value is not _MISSING:
                out[name] = value
        return out if out or not prefix else _MISSING
    if kind == "list":
        if params.get(prefix) == "":
            return []
        member = shape.member  # type: ignore[attr-defined]
        if ec2 or shape.serialization.get("flattened"):
            base = prefix
            if not ec2 and member.serialization.get("name"):
                base = ".".join(prefix.split(".")[:-1] + [str(member.serialization["name"])])
        else:
            base = f"{prefix}.{member.serialization.get('name', 'member')}"
        items = []
        i = 1
        while _has_prefix(keys, f"{base}.{i}"):
            value = _from_query(member, params, keys, f"{base}.{i}", ec2)
            items.append(None if value is _MISSING else value)
            i += 1
        return items if items else _MISSING
    if kind == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        kname = shape.key.serialization.get("name", "key")  # type: ignore[attr-defined]
        vname = shape.value.serialization.get("name", "value")  # type: ignore[attr-defined]
        out = {}
        i = 1
        while _has_prefix(keys, f"{base}.{i}"):
            k = params.get(f"{base}.{i}.{kname}")
            v = _from_query(shape.value, params, keys, f"{base}.{i}.{vname}", ec2)  # type: ignore[attr-defined]
            if k is not None:
                out[k] = None if v is _MISSING else v
            i += 1
        return out if out else _MISSING
    if prefix not in params:
        return _MISSING
    text = params[prefix]
    if kind == "timestamp":
        try:
            return parse_timestamp(text)
        except ValueError:
            return text
    return scalar_from_text(shape, text)


def query_params(shape: Shape, params: dict[str, str], ec2: bool = False) -> dict[str, Any]:
    """Form parameters -> a dict keyed by member names (``Action``/``Version`` are not members)."""
    keys = set(params)
    out = _from_query(shape, params, keys, "", ec2)
    return out if isinstance(out, dict) else {}


def _rest_params(call: CapturedCall, resolved: ResolvedCall, shape: Shape) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    body_members: dict[str, Shape] = {}
    headers = {k: v for k, v in call.headers}
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        loc = member.serialization.get("location")
        where = str(member.serialization.get("name", name))
        if loc == "uri":
            if where in resolved.labels:
                out[name] = resolved.labels[where]
        elif loc == "querystring":
            if member.type_name == "map":
                continue
            if where in resolved.query:
                value = resolved.query[where]
                out[name] = [value] if member.type_name == "list" else scalar_from_text(member, value)
        elif loc == "header":
            if where.lower() in headers:
                out[name] = scalar_from_text(member, headers[where.lower()])
        elif loc == "headers":
            prefix = where.lower()
            meta = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}
            if meta:
                out[name] = meta
        elif name != payload:
            body_members[name] = member
    body = call.request_body
    if body:
        if payload is not None:
            pshape = shape.members[payload]  # type: ignore[attr-defined]
            if pshape.type_name == "structure":
                value = _parse_body(body, pshape, resolved.protocol)
                if value is not None:
                    out[payload] = value
        elif body_members and resolved.protocol == "rest-json":
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                for name, member in body_members.items():
                    key = str(member.serialization.get("name", name))
                    if key in data:
                        out[name] = data[key]
    return out


def _parse_body(body: bytes, shape: Shape, protocol: str) -> Any:
    if protocol == "rest-json":
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
    try:
        parser = RestXMLParser()
        node = parser._parse_xml_string_to_dom(body)  # botocore's own XML reading
        return parser._parse_shape(shape, node)
    except Exception:
        return None


def raw_parameters(call: CapturedCall, resolved: ResolvedCall) -> dict[str, Any]:
    """The request's input members as sent, keyed by member name (wire names for JSON bodies)."""
    shape = resolved.operation.input_shape
    if shape is None:
        return {}
    raw: Any = {}
    if resolved.protocol == "json":
        if call.request_body:
            try:
                raw = orjson.loads(call.request_body)
            except orjson.JSONDecodeError:
                raw = {}
    elif resolved.protocol in ("query", "ec2"):
        raw = query_params(shape, resolved.form or {}, ec2=resolved.protocol == "ec2")
    else:
        raw = _rest_params(call, resolved, shape)
    return raw if isinstance(raw, dict) else {}


def request_parameters(resolved: ResolvedCall, raw: dict[str, Any]) -> dict[str, Any] | None:
    """requestParameters from :func:`raw_parameters` (see the module docstring), or None."""
    shape = resolved.operation.input_shape
    if shape is None or not raw:
        return None
    out = to_record(shape, raw, resolved.model.endpoint_prefix, wire_names=resolved.protocol == "json")
    if out is OMIT or not out:
        return None
    return dict(out)
