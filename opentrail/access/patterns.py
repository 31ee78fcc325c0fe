"""Wildcard patterns and policy variables, compiled once per policy.

Three kinds of pattern appear in IAM policies `[UG-IAM reference_policies_elements_action.md,
reference_policies_elements_resource.md, reference_policies_elements_condition_operators.md]`:

* **action** patterns (``cloudtrail:Get*``): case-insensitive; ``*`` matches any run of characters
  and ``?`` exactly one; no policy variables;
* **resource** patterns (``Resource``/``NotResource``): case-sensitive; wildcards stay within a
  colon-separated segment, except a ``*`` that ends a segment, which "can expand to match beyond
  colon boundaries" `[UG-IAM reference_policies_elements_resource.md]`
  (``arn:aws:cloudtrail:us-east-1:*`` matches every CloudTrail ARN of that Region);
* **ARN** patterns (the ``Arn*`` condition operators): case-sensitive; "each of the six
  colon-delimited components of the ARN is checked separately", so a wildcard in the first five
  parts never crosses a ``:``; one in the sixth (resource) part may. A pattern of fewer than six
  parts is matched as a whole string (``*`` crossing colons): AWS does not document that case;
* **string** patterns (``StringLike``): case-sensitive, wildcards anywhere.

Policy variables ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}`` and the escapes ``${*}``,
``${?}``, ``${$}`` are substituted from the request context when the policy's Version is
``2012-10-17`` `[UG-IAM reference_policies_variables.md]`; a substituted value is always literal (a
``*`` in a user name is not a wildcard). A variable whose key is missing (or multi-valued) and that
has no default makes that one pattern match nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

__all__ = ["ContextLookup", "Pattern", "parse_template", "Template", "Var"]


class ContextLookup(Protocol):
    """The request context as conditions and variables see it."""

    def values(self, key: str) -> tuple[str, ...] | None:
        """Values of the context key ``key`` (lower case), ``None`` when the key is absent."""
        ...


class Var:
    """A policy variable ``${key}`` or ``${key, 'default'}``; ``key`` is lower case."""

    __slots__ = ("key", "default")

    def __init__(self, key: str, default: str | None) -> None:
        self.key = key
        self.default = default

    def resolve(self, ctx: ContextLookup) -> str | None:
        found = ctx.values(self.key)
        if found is not None and len(found) == 1:
            return found[0]
        return self.default

    def __repr__(self) -> str:
        return f"Var({self.key!r}, {self.default!r})"


#: Literal text (may hold wildcards) or a variable; escapes are already literal ``\x00``-marked.
Template = tuple["str | Var | _Literal", ...]


class _Literal(str):
    """Text that came from ``${*}``/``${?}``/``${$}``: never a wildcard."""


_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT_RE = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")


def parse_template(text: str, variables: bool) -> Template:
    """Split ``text`` into literal parts and :class:`Var` parts (none when ``variables`` is false:
    Version ``2008-10-17`` treats ``${...}`` as literal text)."""
    if not variables or "${" not in text:
        return (text,)
    parts: list[str | Var | _Literal] = []
    pos = 0
    for m in _VAR_RE.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        inner = m.group(1)
        if inner in ("*", "?", "$"):
            parts.append(_Literal(inner))
        else:
            dm = _DEFAULT_RE.match(inner)
            if dm:
                parts.append(Var(dm.group(1).lower(), dm.group(2)))
            else:
                parts.append(Var(inner.strip().lower(), None))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return tuple(parts)


def _glob_fragment(text: str, star: str, one: str) -> str:
    out = []
    for ch in text:
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(one)
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _translate(parts: list[tuple[str, bool]], kind: str) -> str:
    """Regex for ``parts`` = [(text, literal?)] of one pattern of ``kind``."""
    if kind in ("action", "string"):
        return "".join(re.escape(t) if lit else _glob_fragment(t, ".*", ".") for t, lit in parts)
    flat: list[tuple[str, bool]] = [(ch, lit) for t, lit in parts for ch in t]
    if kind == "resource":
        out = []
        for i, (ch, lit) in enumerate(flat):
            if lit or ch not in "*?":
                out.append(re.escape(ch))
            elif ch == "?":
                out.append("[^:]")
            else:
                last = i + 1 == len(flat) or flat[i + 1] == (":", False) or flat[i + 1][0] == ":"
                out.append(".*" if last else "[^:]*")
        return "".join(out)
    # ARN condition operators: find the five separating colons.
    colons = [i for i, (ch, _lit) in enumerate(flat) if ch == ":"]
    if len(colons) < 5:
        return "".join(re.escape(c) if lit else _glob_fragment(c, ".*", ".") for c, lit in flat)
    last_sep = colons[4]
    out = []
    for i, (ch, lit) in enumerate(flat):
        if lit or ch not in "*?":
            out.append(re.escape(ch))
        elif i < last_sep:
            out.append("[^:]*" if ch == "*" else "[^:]")
        else:
            out.append(".*" if ch == "*" else ".")
    return "".join(out)


@lru_cache(maxsize=8192)
def _compile(regex: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


class Pattern:
    """One pattern of ``kind`` ``"action"``, ``"resource"``, ``"arn"`` or ``"string"``, compiled at parse time when it
    holds no variables. ``match(value, ctx)`` is a full match."""

    __slots__ = ("text", "kind", "ignore_case", "_template", "_exact", "_regex", "_any", "_by_values")

    def __init__(self, text: str, kind: str, variables: bool = False, ignore_case: bool = False) -> None:
        self.text = text
        self.kind = kind
        self.ignore_case = ignore_case
        self._template = parse_template(text, variables)
        self._any = text == "*" and len(self._template) == 1
        self._exact: str | None = None
        self._regex: re.Pattern[str] | None = None
        #: compiled regexes of this variable pattern per tuple of substituted values
        self._by_values: dict[tuple[str, ...], re.Pattern[str]] = {}
        if len(self._template) == 1 and not isinstance(self._template[0], Var):
            only = self._template[0]
            literal = isinstance(only, _Literal)
            if literal or ("*" not in only and "?" not in only):
                self._exact = only.lower() if ignore_case else str(only)
            else:
                self._regex = _compile(_translate([(str(only), False)], kind), ignore_case)

    @property
    def is_static(self) -> bool:
        """True when the pattern holds no policy variable."""
        return not any(isinstance(p, Var) for p in self._template)

    def match(self, value: str, ctx: ContextLookup | None = None) -> bool:
        if self._any:
            return True
        if self._exact is not None:
            return (value.lower() if self.ignore_case else value) == self._exact
        if self._regex is not None:
            return self._regex.fullmatch(value) is not None
        if ctx is None:
            return False
        resolved: list[str] = []
        for p in self._template:
            if isinstance(p, Var):
                r = p.resolve(ctx)
                if r is None:
                    return False
                resolved.append(r)
        key = tuple(resolved)
        regex = self._by_values.get(key)
        if regex is None:
            it = iter(resolved)
            parts = [(next(it), True) if isinstance(p, Var) else (str(p), isinstance(p, _Literal))
                     for p in self._template]
            regex = _compile(_translate(parts, self.kind), self.ignore_case)
            if len(self._by_values) >= 256:
                self._by_values.clear()
            self._by_values[key] = regex
        return regex.fullmatch(value) is not None

    def resolve_literal(self, ctx: ContextLookup | None) -> str | None:
        """The pattern's text with variables substituted and wildcards kept as characters (for the
        exact-match operators); ``None`` when a variable cannot be resolved."""
        out = []
        for p in self._template:
            if isinstance(p, Var):
                if ctx is None:
                    return None
                resolved = p.resolve(ctx)
                if resolved is None:
                    return None
                out.append(resolved)
            else:
                out.append(str(p))
        return "".join(out)

    def __repr__(self) -> str:
        return f"Pattern({self.text!r}, {self.kind!r})"
