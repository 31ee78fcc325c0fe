"""JSON property selectors: ``$.a.b``, ``$.a[0]``, ``$.a[0][1]``, ``$.['cluster.name']``,
``$.*``, ``$.a[*]``.

Lexing follows AWS's errors: a selector is read in segments (``$.name``, ``.name``, ``[0]``,
``[*]``, ``['name']``); a character a segment cannot hold raises "Invalid character(s) in term
'<segment so far><character>'" (AWS: ``'$..'`` for ``$..value``, ``'[-'`` for ``$.arr[-1]``,
``'[0:'`` for ``$.arr[0:2]``, ``'$."'`` for ``$."sc-status"``). Names hold letters, digits, ``_``
and ``-`` (``$.detail-type`` is accepted); other names go in brackets.

Resolution (AWS's answers): a name step reads an object's property, an index step an array's
element (never an object's ``"0"``), ``*`` every element of an array or every value of an object
(one level). A missing step yields nothing; a selector naming an array or object yields that
array or object, which no comparison accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .filter_pattern_errors import SELECTOR_WILDCARDS_MESSAGE, InvalidFilterPattern

#: What a selector yields when a step is missing.
MISSING: Any = object()

NAME, INDEX, WILD = "name", "index", "wild"


def _name_char(c: str) -> bool:
    return c == "_" or c == "-" or c.isalnum()


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector. ``steps`` are ``(NAME, key)``, ``(INDEX, i)`` or ``(WILD, None)``;
    ``source`` is the selector as written."""

    source: str
    steps: tuple[tuple[str, Any], ...]

    @property
    def wildcard(self) -> bool:
        return any(kind == WILD for kind, _ in self.steps)

    def getter(self) -> Callable[[Any], Any]:
        """For a selector without wildcard: root object -> the value, or :data:`MISSING`."""
        steps = self.steps
        if all(kind == NAME for kind, _ in steps):
            keys = tuple(key for _, key in steps)
            if len(keys) == 1:
                (k,) = keys
                return lambda root: root.get(k, MISSING)
            if len(keys) == 2:
                k1, k2 = keys

                def get2(root: dict[str, Any]) -> Any:
                    v = root.get(k1, MISSING)
                    return v.get(k2, MISSING) if v.__class__ is dict else MISSING

                return get2

            def get_names(root: dict[str, Any]) -> Any:
                v: Any = root
                for k in keys:
                    if v.__class__ is not dict:
                        return MISSING
                    v = v.get(k, MISSING)
                return v

            return get_names

        def get_steps(root: dict[str, Any]) -> Any:
            v: Any = root
            for kind, key in steps:
                if kind == NAME:
                    if v.__class__ is not dict:
                        return MISSING
                    v = v.get(key, MISSING)
                else:
                    if v.__class__ is not list or key >= len(v):
                        return MISSING
                    v = v[key]
            return v

        return get_steps

    def resolve(self, root: Any) -> list[Any]:
        """Every value the selector yields in ``root`` (none, one, or several with a wildcard)."""
        nodes = [root]
        for kind, key in self.steps:
            out: list[Any] = []
            for v in nodes:
                cls = v.__class__
                if kind == NAME:
                    if cls is dict and key in v:
                        out.append(v[key])
                elif kind == INDEX:
                    if cls is list and key < len(v):
                        out.append(v[key])
                elif cls is list:
                    out.extend(v)
                elif cls is dict:
                    out.extend(v.values())
            nodes = out
            if not nodes:
                break
        return nodes


def read_selector(text: str, start: int) -> tuple[Selector, int]:
    """Read the selector at ``text[start]`` (a ``$``); return it and the index after it. Raises
    :class:`InvalidFilterPattern` for a bad character (module docstring) and for more than one
    wildcard in the selector (AWS's message)."""
    n = len(text)
    i = start + 1
    seg = start
    steps: list[tuple[str, Any]] = []
    if i >= n or text[i] not in ".[":
        raise InvalidFilterPattern.term(text[start : i + 1])
    while i < n:
        c = text[i]
        if c == ".":
            if steps:
                seg = i
            i += 1
            if i < n and text[i] == "*":
                steps.append((WILD, None))
                i += 1
                continue
            if i < n and text[i] == "[":
                continue
            j = i
            while j < n and _name_char(text[j]):
                j += 1
            if j == i:
                raise InvalidFilterPattern.term(text[seg : i + 1])
            steps.append((NAME, text[i:j]))
            i = j
        elif c == "[":
            seg = i
            i += 1
            if i < n and text[i] == "*":
                i += 1
                step: tuple[str, Any] = (WILD, None)
            elif i < n and text[i] in "'\"":
                quote = text[i]
                end = text.find(quote, i + 1)
                if end < 0:
                    raise InvalidFilterPattern.term(text[seg:])
                step = (NAME, text[i + 1 : end])
                i = end + 1
            else:
                j = i
                while j < n and text[j].isdigit() and text[j].isascii():
                    j += 1
                if j == i:
                    raise InvalidFilterPattern.term(text[seg : i + 1])
                step = (INDEX, int(text[i:j]))
                i = j
            if i >= n or text[i] != "]":
                raise InvalidFilterPattern.term(text[seg : i + 1])
            steps.append(step)
            i += 1
        else:
            break
    selector = Selector(text[start:i], tuple(steps))
    if sum(1 for kind, _ in steps if kind == WILD) > 1:
        raise InvalidFilterPattern(SELECTOR_WILDCARDS_MESSAGE)
    return selector, i


def parse_selector(reference: str) -> Selector | None:
    """``reference`` (a metric value or dimension such as ``$.latency``) as a selector, or ``None``
    when it is not exactly one."""
    if not reference.startswith("$"):
        return None
    try:
        selector, end = read_selector(reference, 0)
    except InvalidFilterPattern:
        return None
    return selector if end == len(reference) and selector.steps else None
