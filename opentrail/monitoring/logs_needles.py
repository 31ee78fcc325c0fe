"""Picking, from a block of log event messages, the few a filter pattern could match, with C-speed
substring searches over the whole block instead of a test per message.

A pattern's *needle* is what a message's raw text must contain for the pattern to match (exact: it
never rules out a match), from :func:`opentrail.monitoring.filter_pattern_precheck.need` for JSON
patterns (``("lit", s)``: ``s`` or a ``\\u`` escape; ``("raw", s)``: ``s``; ``("key", (name,
values))``: some ``"name": "v"`` with ``v`` in ``values``, or an escaped value or a ``\\u`` escape;
``("all", [...])``, ``("any", [...])``; any other kind selects everything) and from the terms of a term pattern without ``%regex%`` (every plain term,
and one of the ``?`` terms when they count). Space-delimited patterns and patterns without a
needle give None: every message is a candidate.

:func:`candidates` joins a block's messages and finds each literal's occurrences with ``str.find``,
mapping them back to messages: a literal that appears nowhere costs one scan of the block and no
Python work per message. The pattern itself then decides on the candidates.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any, Sequence, cast

from .filter_pattern_base import FilterPattern
from .filter_pattern_precheck import need

Needle = tuple[str, Any]
_SEPARATOR = "\x00"


def needle_of(pattern: FilterPattern) -> Needle | None:
    """The pattern's needle (see the module docstring), or None."""
    if pattern.kind == "json":
        tree = getattr(pattern, "tree", None)
        return need(tree) if tree is not None else None
    if pattern.kind == "terms":
        terms = getattr(pattern, "terms", ())
        if any(getattr(t, "regex", None) is not None for t in terms):
            return None
        parts: list[Needle] = [("raw", t.text) for t in getattr(pattern, "required", ()) if t.text]
        optional = [("raw", t.text) for t in getattr(pattern, "optional", ())]
        if optional and all(text for _, text in optional):
            parts.append(("any", optional))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else ("all", parts)
    return None


class _Block:
    """A block of messages (all ``str`` or all UTF-8 ``bytes``) joined once, and where each
    begins. Literals are searched as the messages are held (a UTF-8 literal is found in UTF-8 bytes
    exactly where the text holds it)."""

    __slots__ = ("text", "starts", "_escaped", "_bytes")

    def __init__(self, messages: Sequence[str] | Sequence[bytes]) -> None:
        self._bytes = bool(messages) and isinstance(messages[0], bytes)
        self.text: Any = (_SEPARATOR.encode() if self._bytes else _SEPARATOR).join(cast(Any, messages))
        starts = [0] * len(messages)
        pos = 0
        for i, m in enumerate(messages):
            starts[i] = pos
            pos += len(m) + 1
        self.starts = starts
        self._escaped: set[int] | None = None

    def containing(self, literal: str) -> set[int]:
        """Indexes of the messages containing ``literal``."""
        text, starts, found = self.text, self.starts, set()
        needle: Any = literal.encode("utf-8") if self._bytes else literal
        last = len(starts) - 1
        pos = text.find(needle)
        while pos >= 0:
            i = bisect_right(starts, pos) - 1
            found.add(i)
            if i >= last:
                break
            pos = text.find(needle, starts[i + 1])
        return found

    def keyed(self, key: str, values: frozenset[str]) -> set[int]:
        """Indexes of the messages where some ``"key": "v"`` has ``v`` in ``values`` or a value
        with an escape in it (the JSON pre-check's ``key`` rule), or a ``\\u`` escape."""
        text, starts, found = self.text, self.starts, set()
        if self._bytes:
            needle: Any = ('"' + key + '"').encode("utf-8")
            wanted: Any = {v.encode("utf-8") for v in values}
            value_at = re.compile(re.escape(needle) + rb'\s*:\s*"([^"\\]*)(["\\])').match
            backslash: Any = b"\\"
        else:
            needle = '"' + key + '"'
            wanted = values
            value_at = re.compile(re.escape(needle) + r'\s*:\s*"([^"\\]*)(["\\])').match
            backslash = "\\"
        last = len(starts) - 1
        pos = text.find(needle)
        while pos >= 0:
            m = value_at(text, pos)
            if m is not None and (m.group(2) == backslash or m.group(1) in wanted):
                i = bisect_right(starts, pos) - 1
                found.add(i)
                if i >= last:
                    break
                pos = text.find(needle, starts[i + 1])
                continue
            pos = text.find(needle, pos + 1)
        return found | self.escaped

    @property
    def escaped(self) -> set[int]:
        """Indexes of the messages holding a ``\\u`` escape."""
        if self._escaped is None:
            self._escaped = self.containing("\\u")
        return self._escaped


def _select(block: _Block, needle: Needle) -> set[int]:
    kind, arg = needle
    if kind == "lit":
        return block.containing(arg) | block.escaped
    if kind == "raw":
        return block.containing(arg)
    if kind == "key":
        return block.keyed(*arg)
    if kind == "any":
        out: set[int] = set()
        for part in arg:
            out |= _select(block, part)
        return out
    if kind != "all":  # a rule this module does not know: every message stays a candidate
        return set(range(len(block.starts)))
    selected: set[int] | None = None
    for part in arg:
        found = _select(block, part)
        selected = found if selected is None else selected & found
        if not selected:
            return set()
    return selected or set()


class Selector:
    """One block of messages (``str``, or their UTF-8 ``bytes``), joined once, to pick the
    candidates of several needles from."""

    def __init__(self, messages: Sequence[str] | Sequence[bytes]) -> None:
        self._messages = messages
        self._block: _Block | None = None

    def candidates(self, needle: Needle | None) -> list[int]:
        """Indexes (ascending) of the messages whose raw text satisfies ``needle``: all of them
        when ``needle`` is None."""
        if needle is None or not self._messages:
            return list(range(len(self._messages)))
        if self._block is None:
            self._block = _Block(self._messages)
        return sorted(_select(self._block, needle))


def candidates(needle: Needle | None, messages: Sequence[str] | Sequence[bytes]) -> list[int]:
    """:meth:`Selector.candidates` for one needle."""
    return Selector(messages).candidates(needle)
