"""The policy simulator's question and answer, with no I/O: a principal and its policies (or pasted
policy documents), an action, a resource ARN and context keys -> Allow, ExplicitDeny or
ImplicitDeny and the policy and statement that decided, by :func:`opentrail.access.evaluate` (the
evaluation every API call gets).

Context keys are ``key=value`` lines (``aws:SourceIp=203.0.113.7``); a key given on several lines,
or a value with commas inside brackets (``aws:TagKeys=[env,team]``), is multivalued. They win over
the keys derived from the principal and the request (``aws:username``, ``aws:CurrentTime``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from ..access import Decision, Policy, PolicySet, Principal, Request, denial_message, evaluate, parse_policy

#: Most context lines read.
MAX_CONTEXT_LINES = 100


class ContextError(ValueError):
    """A context line that is not ``key=value``; the message names the line."""


def parse_context(text: str) -> dict[str, str | list[str]]:
    """``key=value`` lines -> keys and values (see the module docstring); blank lines and lines
    starting with ``#`` are skipped. Raises ContextError."""
    out: dict[str, str | list[str]] = {}
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if len(lines) > MAX_CONTEXT_LINES:
        raise ContextError(f"At most {MAX_CONTEXT_LINES} context lines are read.")
    for number, line in enumerate(lines, 1):
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ContextError(f"Context line {number} is not key=value: {line!r}")
        values: list[str] = ([v.strip() for v in value[1:-1].split(",") if v.strip()]
                             if value.startswith("[") and value.endswith("]") else [value])
        found = out.get(key)
        if found is None:
            out[key] = values[0] if len(values) == 1 and not value.startswith("[") else values
        else:
            out[key] = ([found] if isinstance(found, str) else found) + values
    return out


@dataclass(frozen=True)
class Outcome:
    """The answer: ``effect`` Allow | ExplicitDeny | ImplicitDeny; ``policy_type`` the kind of policy
    that decided (``identity-based policy``, ``permissions boundary``; None: the root user's own
    access); ``policy`` its name (inline policy name or managed policy ARN) and ``statement`` its
    Sid or ``#<index>`` (0-based) when a statement decided; ``message`` AWS's denial text for a
    deny, else None."""

    effect: str
    policy_type: str | None
    policy: str | None
    statement: str | None
    resource: str
    message: str | None


def simulate(*, principal: Principal, identity: Sequence[Policy], boundary: Policy | None, action: str,
             resource: str, context: dict[str, str | list[str]], now: datetime) -> Outcome:
    """Evaluate ``action`` on ``resource`` (``*`` when empty) for ``principal`` with its identity
    policies and permissions boundary (see the module docstring)."""
    request = Request(principal, action.strip(), now, (resource.strip() or "*",), context=context)
    decision: Decision = evaluate(request, PolicySet(identity=tuple(identity), boundary=boundary))
    statement = None
    if decision.statement is not None:
        statement = decision.statement.sid or f"#{decision.statement.index}"
    return Outcome(decision.effect, decision.policy_type, decision.policy.name if decision.policy else None,
                   statement, decision.resource, None if decision.allowed else denial_message(request, decision))


def pasted_policies(texts: Sequence[tuple[str, str]]) -> list[Policy]:
    """Pasted identity policies (name, JSON text), empty texts skipped. Raises
    :class:`opentrail.access.MalformedPolicyDocumentException` naming nothing more than IAM does."""
    return [parse_policy(text, "identity", name) for name, text in texts if text.strip()]
