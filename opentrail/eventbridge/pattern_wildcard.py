"""The ``wildcard`` operator's text: parsing (``*`` matches any run of characters, ``\\*`` is a
literal star, ``\\\\`` a literal backslash), the regex it compiles to, and the complexity limit
behind EventBridge's "Rule is too complex" answer.

Positions in reasons are EventBridge's: UTF-8 byte offsets into the value as its matcher stores it,
with a leading quote (so the first character is at position 1). Errors are raised as ``ValueError``
carrying the reason; the pattern parser wraps them.
"""

from __future__ import annotations

import re

#: "Rule is too complex" past this many wildcard-pattern prefixes alive at once in one field
#: (aws/event-ruler's MachineComplexityEvaluator criterion; the limit reproduces EventBridge's
#: known answers: "*:*:*:*:*:event-bus/*" and four "*/datasync/*.<ext>" on one field are refused,
#: two of those, four "*.<ext>" and "arn:aws:events:us-east-1:*:event-bus/*" are accepted).
MAX_COMPLEXITY = 10
#: Sets of states explored before giving up and calling the field too complex.
_MAX_EXPLORED = 4096
_ANY = -1  # the token of an unescaped "*"


def _position(pattern: str, index: int) -> int:
    return len(pattern[:index].encode("utf-8", errors="replace")) + 1


def wildcard_parts(pattern: str) -> list[str | None]:
    """The pattern as literal runs and ``None`` for each unescaped ``*``. Raises ``ValueError``
    for consecutive stars or an escape of anything but ``*`` and ``\\`` (a trailing backslash
    included: it would escape the closing quote)."""
    parts: list[str | None] = []
    literal: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
            if nxt not in ("*", "\\"):
                raise ValueError(f"Invalid escape character at pos {_position(pattern, i)}")
            literal.append(nxt)
            i += 2
            continue
        if c == "*":
            if i + 1 < len(pattern) and pattern[i + 1] == "*":
                raise ValueError(f"Consecutive wildcard characters at pos {_position(pattern, i)}")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(None)
        else:
            literal.append(c)
        i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """A regex whose ``fullmatch`` is the wildcard's match."""
    return re.compile("".join(".*" if p is None else re.escape(p) for p in wildcard_parts(pattern)), re.DOTALL)


def _tokens(pattern: str) -> list[int]:
    out = [ord('"')]
    for part in wildcard_parts(pattern):
        if part is None:
            out.append(_ANY)
        else:
            out.extend(part.encode("utf-8", errors="replace"))
    out.append(ord('"'))
    return out


def complexity(patterns: list[str]) -> int:
    """How many wildcard-pattern prefixes one input value can keep alive at once when all of
    ``patterns`` (the wildcards of one field) are matched together, as event-ruler measures it:
    the patterns become one automaton over UTF-8 bytes (quotes included, a ``*`` a state looping
    on every byte whose following byte is also reachable from the state before it); for every set
    of states some input leads to, the size is the number of states in it plus the star states
    one byte away that it does not hold. Answers ``MAX_COMPLEXITY + 1`` as soon as it is passed."""
    moves: list[list[tuple[int, int]]] = []  # state -> [(byte or _ANY, next state)]
    starts: list[int] = []
    for pattern in dict.fromkeys(patterns):
        tokens = _tokens(pattern)
        base = len(moves)
        moves.extend([] for _ in range(len(tokens) + 1))
        starts.append(base)
        for k, token in enumerate(tokens):
            here, nxt = base + k, base + k + 1
            if token == _ANY:
                moves[here].append((_ANY, nxt))
                moves[nxt].append((_ANY, nxt))
            else:
                moves[here].append((token, nxt))
                if k > 0 and tokens[k - 1] == _ANY:
                    moves[here - 1].append((token, nxt))
    stars_after = [[n for b, n in out if b == _ANY and n != s] for s, out in enumerate(moves)]
    seen: set[frozenset[int]] = set()
    pending = [frozenset(starts)]
    worst = 0
    while pending:
        active = pending.pop()
        # The bytes some active state names, and one (-2) that none does.
        inputs = {b for s in active for b, _ in moves[s] if b != _ANY}
        inputs.add(-2)
        for byte in inputs:
            reached = frozenset(n for s in active for b, n in moves[s] if b == _ANY or b == byte)
            if not reached or reached in seen:
                continue
            size = len(reached) + sum(1 for s in reached for star in stars_after[s] if star not in reached)
            worst = max(worst, size)
            if worst > MAX_COMPLEXITY or len(seen) >= _MAX_EXPLORED:
                return MAX_COMPLEXITY + 1
            seen.add(reached)
            pending.append(reached)
    return worst
