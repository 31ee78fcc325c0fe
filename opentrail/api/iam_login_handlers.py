"""IAM handlers for login profiles (console passwords): CreateLoginProfile, GetLoginProfile,
UpdateLoginProfile, DeleteLoginProfile, and :func:`verify_password` for the console's sign-in.

The password is hashed (:mod:`opentrail.iam.passwords`), never stored in clear or answered; it
is a ``sensitive`` member, so never recorded. The default password policy applies (8..128
characters, IAM User Guide "Set an account password policy"): a shorter one answers
PasswordPolicyViolation "Password should have a minimum length of 8" (wording assumed).
Without UserName the caller's own user is meant. Not found: NoSuchEntity "Login Profile for User <name>
cannot be found."; a second one: EntityAlreadyExists "Login Profile for user <name> already exists."
"""

from __future__ import annotations

from typing import Any

from ..iam.passwords import check_password, hash_password
from ..iam.store import Entity, IamStore
from . import iam_errors as e
from .iam_wire import entity, store_of
from .services import Handler

MIN_PASSWORD = 8


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise e.PasswordPolicyViolationException(f"Password should have a minimum length of {MIN_PASSWORD}")


def _profile_json(user: Entity, created: float, reset: bool) -> dict[str, Any]:
    return {"UserName": user.name, "CreateDate": created, "PasswordResetRequired": reset}


def create_login_profile(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "CreateLoginProfile")
    name = params.get("UserName") or ctx.caller.user_name
    if name is None:
        raise e.ValidationError("1 validation error detected: Value null at 'userName' failed to satisfy "
                                "constraint: Member must not be null")
    user = entity(ctx, "CreateLoginProfile", "user", name)
    if store.login_profile(user.id) is not None:
        raise e.EntityAlreadyExistsException(f"Login Profile for user {user.name} already exists.")
    password = params.get("Password")
    if password is None:
        raise e.ValidationError("1 validation error detected: Value at 'password' failed to satisfy constraint: "
                                "Member must not be null")
    _check_password(password)
    created = round(ctx.clock(), 3)
    reset = bool(params.get("PasswordResetRequired", False))
    store.put_login_profile(user.id, hash_password(password), created, reset, taken=lambda: e.EntityAlreadyExistsException(
        f"Login Profile for user {user.name} already exists."))
    return {"LoginProfile": _profile_json(user, created, reset)}


def _profile(ctx: Any, operation: str, params: dict[str, Any]) -> tuple[Entity, tuple[str, float, bool]]:
    name = params.get("UserName") or ctx.caller.user_name or ""
    user = entity(ctx, operation, "user", name)
    found = store_of(ctx, operation).login_profile(user.id)
    if found is None:
        raise e.NoSuchEntityException(f"Login Profile for User {user.name} cannot be found.")
    return user, found


def get_login_profile(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    user, (_, created, reset) = _profile(ctx, "GetLoginProfile", params)
    return {"LoginProfile": _profile_json(user, created, reset)}


def update_login_profile(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "UpdateLoginProfile")
    user, (stored, created, reset) = _profile(ctx, "UpdateLoginProfile", params)
    password = params.get("Password")
    if password is not None:
        _check_password(password)
        stored = hash_password(password)
    if params.get("PasswordResetRequired") is not None:
        reset = bool(params["PasswordResetRequired"])
    store.put_login_profile(user.id, stored, created, reset)
    return {}


def delete_login_profile(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    store = store_of(ctx, "DeleteLoginProfile")
    user, _ = _profile(ctx, "DeleteLoginProfile", params)
    store.delete_login_profile(user.id)
    return {}


def verify_password(store: IamStore, account_id: str, user_name: str, password: str) -> bool:
    """True when IAM user ``user_name`` of ``account_id`` has a login profile whose password is
    ``password`` (for the console's sign-in); False otherwise."""
    user = store.entity(account_id, "user", user_name)
    found = store.login_profile(user.id) if user is not None else None
    return found is not None and check_password(password, found[0])


HANDLERS: dict[str, Handler] = {
    "CreateLoginProfile": create_login_profile,
    "GetLoginProfile": get_login_profile,
    "UpdateLoginProfile": update_login_profile,
    "DeleteLoginProfile": delete_login_profile,
}
