"""The IAM page of the signed-in account, through the IAM API's own handlers.

- ``GET /console/iam``: GetAccountAuthorizationDetails (paged: users with groups, attached and inline
  policies; groups; roles with trust policies and policies; customer managed policies with their
  default documents), ListAccessKeys and GetLoginProfile of each user (NoSuchEntity: no login
  profile), ListPolicies ``Scope=AWS`` for the AWS managed policies and GetPolicyVersion of each for
  its document. Every call is recorded as the API records it, except the GetPolicyVersion reads of
  AWS managed policy documents (as a download records its first call only).
- ``POST /console/iam/users``: CreateUser, then CreateLoginProfile when a password is given.
- ``POST /console/iam/keys``: ``action`` create (CreateAccessKey: the page shows the secret once,
  answered directly and never kept), activate / deactivate (UpdateAccessKey), delete
  (DeleteAccessKey).
- ``POST /console/iam/attachments``: ``action`` attach / detach of ``policy_arn`` to the user or role
  ``name`` (``kind`` user | role): Attach/DetachUserPolicy, Attach/DetachRolePolicy.

Forms are offered only where the principal may use them (:class:`.pages.Permissions` with the
resource the form acts on); a denied call is HTTP 403 with AWS's message (:mod:`.denials`). IAM's
errors (EntityAlreadyExists, LimitExceeded, NoSuchEntity, ...) come back as a flash message with
their code. Without an IAM store the page says so (404).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.errors import AwsError
from ..api.recording import CallInfo
from .iam_view import default_document, group_row, policy_row, role_row, user_row
from .pages import Pages
from .sessions import ConsoleSession
from .web import BASE, error_page, info, signin_redirect

IAM = BASE + "/iam"
_KEY_ACTIONS = {"activate": "UpdateAccessKey", "deactivate": "UpdateAccessKey", "delete": "DeleteAccessKey"}
_ATTACH = {("attach", "user"): "AttachUserPolicy", ("detach", "user"): "DetachUserPolicy",
           ("attach", "role"): "AttachRolePolicy", ("detach", "role"): "DetachRolePolicy"}


def wire_code(exc: AwsError) -> str:
    """The code IAM answers on the wire (its Query code: ``NoSuchEntity``, ``EntityAlreadyExists``)."""
    return exc.query_code or exc.code


def _error_text(exc: AwsError) -> str:
    return f"{wire_code(exc)}: {exc.message}" if exc.message else wire_code(exc)


class IamPages(Pages):
    def _iam(self, session: ConsoleSession, call_info: CallInfo, operation: str, params: dict[str, Any],
             record: bool = True) -> dict[str, Any]:
        return self.backend.call(session, call_info, operation, params, service="iam", record=record)

    def _details(self, session: ConsoleSession, call_info: CallInfo) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                                                "Policies": []}
        params: dict[str, Any] = {"Filter": ["User", "Group", "Role", "LocalManagedPolicy"]}
        while True:
            page = self._iam(session, call_info, "GetAccountAuthorizationDetails", params)
            for name in out:
                out[name] += page.get(name, [])
            if not page.get("IsTruncated"):
                return out
            params = {**params, "Marker": page["Marker"]}

    def _login_profile(self, session: ConsoleSession, call_info: CallInfo, user: str) -> bool:
        try:
            self._iam(session, call_info, "GetLoginProfile", {"UserName": user})
        except AwsError as exc:
            if wire_code(exc) == "NoSuchEntity":
                return False
            raise
        return True

    def _view(self, session: ConsoleSession, call_info: CallInfo) -> dict[str, Any]:
        details = self._details(session, call_info)
        users = []
        for detail in details["UserDetailList"]:
            name = detail["UserName"]
            keys = self._iam(session, call_info, "ListAccessKeys", {"UserName": name})["AccessKeyMetadata"]
            users.append(user_row(detail, keys, self._login_profile(session, call_info, name)))
        aws = []
        listed = self._iam(session, call_info, "ListPolicies", {"Scope": "AWS", "MaxItems": 1000})["Policies"]
        for policy in listed:
            version = self._iam(session, call_info, "GetPolicyVersion",
                                {"PolicyArn": policy["Arn"], "VersionId": policy["DefaultVersionId"]}, record=False)
            aws.append(policy_row(policy, version["PolicyVersion"].get("Document")))
        return {
            "users": users,
            "groups": [group_row(g) for g in details["GroupDetailList"]],
            "roles": [role_row(r) for r in details["RoleDetailList"]],
            "customer_policies": [policy_row(p, default_document(p)) for p in details["Policies"]],
            "aws_policies": aws,
        }

    def _render(self, request: Request, session: ConsoleSession, *, new_key: dict[str, Any] | None = None,
                status: int = 200) -> Response:
        if self.backend.iam is None:
            return error_page(request, 404, "No IAM", "This server runs without IAM.", session)
        view = self._view(session, info(request))
        policy_choices = [(p["name"], p["arn"]) for p in view["customer_policies"] + view["aws_policies"]]
        return self.page(request, session, "iam.html", {**view, "new_key": new_key,
                                                        "policy_choices": policy_choices}, status=status)

    def iam(self, request: Request) -> Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        return self._render(request, session)

    async def create_user(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        name, password = str(form.get("user_name", "")).strip(), str(form.get("password", ""))
        path = str(form.get("path", "")).strip() or "/"
        call_info = info(request)
        try:
            await run_in_threadpool(self._iam, session, call_info, "CreateUser", {"UserName": name, "Path": path})
            if password:
                await run_in_threadpool(self._iam, session, call_info, "CreateLoginProfile",
                                        {"UserName": name, "Password": password})
        except AwsError as exc:
            return self.redirect_with(session, IAM, "error", _error_text(exc))
        note = " with a console password" if password else ""
        return self.redirect_with(session, IAM, "ok", f"Created user {name}{note}.")

    async def key_action(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        action, user = str(form.get("action", "")), str(form.get("user_name", ""))
        key_id = str(form.get("access_key_id", ""))
        call_info = info(request)
        try:
            if action == "create":
                created = await run_in_threadpool(self._iam, session, call_info, "CreateAccessKey", {"UserName": user})
                return await run_in_threadpool(lambda: self._render(request, session, new_key=created["AccessKey"]))
            if action not in _KEY_ACTIONS:
                return error_page(request, 400, "Unknown action", f"{action!r} is not an access key action.", session)
            params: dict[str, Any] = {"UserName": user, "AccessKeyId": key_id}
            if action != "delete":
                params["Status"] = "Active" if action == "activate" else "Inactive"
            await run_in_threadpool(self._iam, session, call_info, _KEY_ACTIONS[action], params)
        except AwsError as exc:
            return self.redirect_with(session, IAM, "error", _error_text(exc))
        done = {"activate": "Activated", "deactivate": "Deactivated", "delete": "Deleted"}[action]
        return self.redirect_with(session, IAM, "ok", f"{done} access key {key_id} of {user}.")

    async def attachment(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        action, kind = str(form.get("action", "")), str(form.get("kind", ""))
        name, policy_arn = str(form.get("name", "")), str(form.get("policy_arn", ""))
        operation = _ATTACH.get((action, kind))
        if operation is None:
            return error_page(request, 400, "Unknown action", f"{action!r} of a {kind!r} is not an attachment.",
                              session)
        member = "UserName" if kind == "user" else "RoleName"
        try:
            await run_in_threadpool(self._iam, session, info(request), operation,
                                    {member: name, "PolicyArn": policy_arn})
        except AwsError as exc:
            return self.redirect_with(session, IAM, "error", _error_text(exc))
        verb = "Attached" if action == "attach" else "Detached"
        return self.redirect_with(session, IAM, "ok", f"{verb} {policy_arn} {'to' if action == 'attach' else 'from'} "
                                                      f"{kind} {name}.")
