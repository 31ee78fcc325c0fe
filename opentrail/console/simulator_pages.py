"""The policy simulator page (:mod:`.simulation` answers).

- ``GET /console/iam/simulate``: the form; the users and roles of the account to choose from
  (ListUsers, ListRoles through the IAM handlers, recorded).
- ``POST /console/iam/simulate``: with ``source=principal`` the chosen user's or role's policies
  (inline, attached, its groups'; its permissions boundary: what the Authorizer evaluates, read
  from the IAM store), authorized and recorded as ``iam:SimulatePrincipalPolicy``; with
  ``source=custom`` the pasted identity policy and optional permissions boundary, as
  ``iam:SimulateCustomPolicy`` for an IAM user ``simulated`` of the account. The answer shows
  Allow / ExplicitDeny / ImplicitDeny, the deciding policy and statement (Sid or ``#index``) and
  for a deny AWS's message. A malformed pasted policy shows IAM's ``MalformedPolicyDocument``
  message; a bad context line says which (both HTTP 400). SCPs and resource-based policies are not
  part of the simulation.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..access import MalformedPolicyDocumentException, Policy, Principal, parse_policy
from ..api.errors import AwsError
from .iam_pages import IAM, wire_code
from .pages import Pages
from .sessions import ConsoleSession
from .simulation import ContextError, Outcome, parse_context, pasted_policies, simulate
from .web import error_page, info, signin_redirect

SIMULATE = IAM + "/simulate"
DEFAULTS = {"source": "principal", "principal": "", "action": "cloudtrail:StopLogging", "resource": "",
            "context": "", "policy": "", "boundary": ""}
#: The IAM user pasted policies are evaluated for.
SIMULATED_USER = "simulated"
_EVAL = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}


def _parse_all(documents: Any) -> list[Policy]:
    return [parse_policy(d.document, "identity", d.name) for d in documents]


class SimulatorPages(Pages):
    def _principals(self, session: ConsoleSession, request: Request) -> list[tuple[str, str]]:
        call_info = info(request)
        users = self.backend.call(session, call_info, "ListUsers", {"MaxItems": 1000}, service="iam")["Users"]
        roles = self.backend.call(session, call_info, "ListRoles", {"MaxItems": 1000}, service="iam")["Roles"]
        return ([(f"user:{u['UserName']}", f"User {u['UserName']}") for u in users]
                + [(f"role:{r['RoleName']}", f"Role {r['RoleName']}") for r in roles])

    def _render(self, request: Request, session: ConsoleSession, form: dict[str, str], *,
                outcome: Outcome | None = None, error: str | None = None, status: int = 200) -> Response:
        if self.backend.iam is None:
            return error_page(request, 404, "No IAM", "This server runs without IAM.", session)
        return self.page(request, session, "simulate.html", {
            "form": form, "principals": self._principals(session, request), "outcome": outcome, "error": error,
        }, status=status)

    def form(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        return self._render(request, session, dict(DEFAULTS))

    def _principal(self, session: ConsoleSession, choice: str) -> tuple[Principal, list[Policy], Policy | None, str]:
        """The chosen principal, its identity policies and boundary, and its ARN; LookupError when the
        account has no such user or role."""
        iam, account = self.backend.iam, session.account_id
        kind, _, name = choice.partition(":")
        if kind == "user":
            user = iam.get_user(account, name)
            if user is None:
                raise LookupError(f"The user with name {name} cannot be found.")
            found = iam.user_policies(account, name)
            principal = Principal.user(account, user.name, user.path, userid=user.user_id, tags=dict(user.tags))
            arn = user.arn
        elif kind == "role":
            role = iam.get_role(account, name)
            if role is None:
                raise LookupError(f"The role with name {name} cannot be found.")
            found = iam.role_policies(account, name)
            principal = Principal.role_session(account, role.name, "simulator", role.path,
                                               userid=f"{role.role_id}:simulator", tags=dict(role.tags))
            arn = role.arn
        else:
            raise LookupError("Choose a user or a role.")
        boundary = parse_policy(found.boundary.document, "identity", found.boundary.name) if found.boundary else None
        return principal, _parse_all(found.identity), boundary, arn

    def _simulate(self, session: ConsoleSession, request: Request, form: dict[str, str]) -> Outcome:
        context = parse_context(form["context"])
        now = datetime.fromtimestamp(self.backend.clock(), timezone.utc)
        action, resource = form["action"].strip(), form["resource"].strip() or "*"
        if form["source"] == "custom":
            identity = pasted_policies([("pasted policy", form["policy"])])
            boundary_list = pasted_policies([("pasted permissions boundary", form["boundary"])])
            principal = Principal.user(session.account_id, SIMULATED_USER)
            operation = "SimulateCustomPolicy"
            params: dict[str, Any] = {"PolicyInputList": [form["policy"]], "ActionNames": [action],
                                      "ResourceArns": [resource]}
            if form["boundary"].strip():
                params["PermissionsBoundaryPolicyInputList"] = [form["boundary"]]
            boundary = boundary_list[0] if boundary_list else None
        else:
            principal, identity, boundary, arn = self._principal(session, form["principal"])
            operation = "SimulatePrincipalPolicy"
            params = {"PolicySourceArn": arn, "ActionNames": [action], "ResourceArns": [resource]}
            if form["principal"].startswith("user:"):
                params["UserName"] = form["principal"].split(":", 1)[1]  # the resource IAM authorizes on
        outcome: list[Outcome] = []

        def run() -> dict[str, Any]:
            found = simulate(principal=principal, identity=identity, boundary=boundary, action=action,
                             resource=resource, context=context, now=now)
            outcome.append(found)
            return {"EvaluationResults": [{"EvalActionName": action, "EvalResourceName": found.resource,
                                           "EvalDecision": _EVAL[found.effect]}]}

        recorded = {k: v for k, v in params.items() if k != "UserName"}
        self.backend.run(session, info(request), operation, recorded, run, service="iam", authorize_params=params)
        return outcome[0]

    async def simulate(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, submitted = checked
        form = {k: str(submitted.get(k, DEFAULTS[k])) for k in DEFAULTS}
        if form["source"] not in ("principal", "custom"):
            form["source"] = "principal"
        error, outcome, status = None, None, 200
        try:
            outcome = await run_in_threadpool(self._simulate, session, request, form)
        except MalformedPolicyDocumentException as exc:
            error, status = f"MalformedPolicyDocument: {exc.message}", 400
        except (ContextError, LookupError) as exc:
            error, status = str(exc), 400
        except AwsError as exc:
            error, status = f"{wire_code(exc)}: {exc.message}", 400
        return await run_in_threadpool(lambda: self._render(request, session, form, outcome=outcome, error=error,
                                                            status=status))
