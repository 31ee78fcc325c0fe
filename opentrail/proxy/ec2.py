"""EC2 responseElements: the answer's XML as CloudTrail writes it, not the model's member names.

From real EC2 records (datasets/cloudtrail/invictus-ir CreateVpc, CreateSecurityGroup,
CreateTags, RunInstances, TerminateInstances):

- every child of the ``<...Response>`` root under its XML element name, ``requestId`` included
  (``{"requestId": ..., "vpc": {"vpcId": ..., ...}}``); ``return`` is written ``_return``;
- a list (``<tagSet><item>..</item></tagSet>``) is ``{"items": [...]}``, an empty list ``{}``;
- scalars typed by the output shape's member at that place (``isDefault: false``,
  ``instanceState.code: 16``), timestamps as epoch milliseconds (``launchTime``); text the model
  does not type stays text (tag values ``"true"`` stay strings).

Used for successful, non-read-only calls (AWS writes null for read-only EC2 calls).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from botocore.model import Shape
from botocore.utils import parse_timestamp

from .capture import CapturedCall
from .resolve import ResolvedCall


def _tag(elem: ET.Element) -> str:
    return elem.tag.split("}", 1)[-1]


def _scalar(text: str, shape: Shape | None) -> Any:
    kind = shape.type_name if shape is not None else "string"
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            return text.strip().lower() == "true"
        if kind == "timestamp":
            return int(parse_timestamp(text).timestamp() * 1000)
    except (ValueError, OverflowError):
        return text
    return text


def _members(shape: Shape | None) -> dict[str, Shape]:
    if shape is None or shape.type_name != "structure":
        return {}
    return {str(m.serialization.get("name", n)): m for n, m in shape.members.items()}  # type: ignore[attr-defined]


def _convert(elem: ET.Element, shape: Shape | None) -> Any:
    children = list(elem)
    kind = shape.type_name if shape is not None else None
    if kind == "list" or (kind is None and children and all(_tag(c) == "item" for c in children)):
        member = shape.member if shape is not None else None  # type: ignore[attr-defined]
        items = [_convert(c, member) for c in children]
        return {"items": items} if items else {}
    if children or kind == "structure":
        members = _members(shape)
        out: dict[str, Any] = {}
        for child in children:
            tag = _tag(child)
            out["_return" if tag == "return" else tag] = _convert(child, members.get(tag))
        return out
    return _scalar(elem.text or "", shape)


def response_elements(call: CapturedCall, resolved: ResolvedCall) -> dict[str, Any] | None:
    """The EC2 answer's elements (see the module docstring), or None when there is no XML body."""
    body = call.response_body
    if not body:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    value = _convert(root, resolved.operation.output_shape)
    return value if isinstance(value, dict) and value else None
