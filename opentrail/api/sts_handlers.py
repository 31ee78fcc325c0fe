"""STS handlers: request (the JSON form of the input shape, decoded from the Query protocol) ->
caller facts or :class:`opentrail.sts.sessions.SessionStore` call -> response.

- GetCallerIdentity: ``{UserId, Account, Arn}`` of the caller; needs no permission and cannot be
  denied (STS API reference). Root: UserId = the account id, Arn ``arn:aws:iam::<acct>:root``;
  IAM user: the ``AIDA...`` id and the user ARN. With session credentials from GetSessionToken the
  principal is the one of the key that made the session, so the answer is the same.
- AssumeRole: :mod:`.sts_assume_role`.
- GetAccessKeyInfo: ``{Account}`` of a key id, whether or not the key exists, as AWS answers: a
  key or session stored here gives its account; any other id gives the account its characters
  encode (:func:`opentrail.sts.key_ids.account_of`); an id that encodes none (not base32) answers
  InvalidParameterValue (opentrail's choice: AWS's answer for such ids is not documented).
- GetSessionToken: ``{Credentials: {AccessKeyId (ASIA...), SecretAccessKey, SessionToken,
  Expiration}}`` valid ``DurationSeconds`` seconds (model: 900..129600, default 43200); for the
  root user AWS caps it at 3600 ("Sessions for Amazon Web Services account owners are restricted to
  a maximum of 3,600 seconds (one hour). If the duration is longer than one hour, the session for
  Amazon Web Services account owners defaults to one hour.", GetSessionToken API reference).
  Called with session credentials it answers AccessDenied "Cannot call GetSessionToken with
  session credentials" (AWS: session credentials cannot call any STS API except AssumeRole and
  GetCallerIdentity). opentrail has no MFA devices: a SerialNumber or TokenCode answers
  AccessDenied "MultiFactorAuthentication failed, unable to validate MFA code." (opentrail's
  wording, not confirmed against AWS).
"""

from __future__ import annotations

from typing import Any

from ..sts.key_ids import account_of
from .services import Handler, context_part
from .sts_assume_role import assume_role
from .sts_errors import AccessDenied

#: GetSessionToken durations, seconds (STS API reference).
DEFAULT_DURATION_S = 43_200
ROOT_MAX_DURATION_S = 3_600


def get_caller_identity(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    identity = ctx.caller.user_identity()
    return {"UserId": identity["principalId"], "Account": ctx.caller.account_id, "Arn": ctx.caller.arn}


def get_access_key_info(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    from .cloudwatch_errors import InvalidParameterValueException

    accounts = context_part(ctx, "accounts", "GetAccessKeyInfo")
    key_id = params["AccessKeyId"]
    known = accounts.find_key(key_id)
    account = known.account_id if known is not None else account_of(key_id)
    if account is None:
        raise InvalidParameterValueException(f"Value ({key_id}) for parameter AccessKeyId is invalid.")
    return {"Account": account}


def get_session_token(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    accounts = context_part(ctx, "accounts", "GetSessionToken")
    caller = ctx.caller
    if caller.session_created is not None:
        raise AccessDenied("Cannot call GetSessionToken with session credentials")
    if params.get("SerialNumber") is not None or params.get("TokenCode") is not None:
        raise AccessDenied("MultiFactorAuthentication failed, unable to validate MFA code.")
    duration = int(params.get("DurationSeconds", DEFAULT_DURATION_S))
    if caller.user_name is None:
        duration = min(duration, ROOT_MAX_DURATION_S)
    issued = accounts.sessions.create(account_id=caller.account_id, user_name=caller.user_name,
                                      parent_access_key_id=caller.access_key_id, duration_s=duration, now=ctx.clock())
    return {"Credentials": {"AccessKeyId": issued.access_key_id, "SecretAccessKey": issued.secret_access_key,
                            "SessionToken": issued.session_token, "Expiration": issued.expires_s}}


#: Implemented operation -> handler.
STS_HANDLERS: dict[str, Handler] = {
    "AssumeRole": assume_role,
    "GetAccessKeyInfo": get_access_key_info,
    "GetCallerIdentity": get_caller_identity,
    "GetSessionToken": get_session_token,
}
