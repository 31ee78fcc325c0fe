"""Records of console activity, written as AWS writes them.

- :func:`console_login_record`: the ``ConsoleLogin`` sign-in event (eventType
  ``AwsConsoleSignIn``, eventSource ``signin.amazonaws.com``), success or failure. Shape and key
  order follow real records (datasets/cloudtrail/invictus-ir-aws_dataset, eventVersion 1.08, and
  the User Guide's "AWS Management Console sign-in events" examples in
  datasets/cloudtrail/aws-docs-examples): ``requestParameters`` null, ``responseElements
  {"ConsoleLogin": "Success"|"Failure"}``, ``additionalEventData {LoginTo, MobileVersion,
  MFAUsed}``, ``errorMessage "Failed authentication"`` on failure, no requestID. A successful IAM
  user sign-in has no accessKeyId; root sign-ins and failures carry ``accessKeyId: ""``; a failed
  IAM user sign-in has no arn.
- :func:`console_call_record`: an API call made by the console: the API record of
  :func:`opentrail.api.recording.call_record`, with ``userIdentity.sessionContext.attributes
  {creationDate, mfaAuthenticated}``, the session's ``ASIA...`` key id, userAgent ``AWS Internal``
  and ``sessionCredentialFromConsole: "true"`` last, as in the real console calls of the
  invictus-ir dataset.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Mapping

from ..api.recording import CallInfo, call_record
from ..auth.sigv4 import Caller
from ..events.record import RecordRejected, read_record
from ..events.times import format_event_time
from ..events.writer import EVENT_VERSION
from ..store.base import EventStore
from .sessions import ConsoleSession

log = logging.getLogger("opentrail.console")

SIGNIN_EVENT_SOURCE = "signin.amazonaws.com"
#: The userAgent AWS records for API calls the console makes on a user's behalf.
CONSOLE_USER_AGENT = "AWS Internal"


def _tls(info: CallInfo) -> dict[str, str] | None:
    if not info.is_tls:
        return None
    out: dict[str, str] = {}
    if info.tls_version:
        out["tlsVersion"] = info.tls_version
    if info.cipher_suite:
        out["cipherSuite"] = info.cipher_suite
    if info.host:
        out["clientProvidedHostHeader"] = info.host
    return out


#: The userName CloudTrail writes for a failed sign-in with a user name that is no IAM user of the
#: account (CloudTrail User Guide, "CloudTrail userIdentity element", userName: the typed text is
#: not recorded, as it could be a password or another account's id).
HIDDEN_USER_NAME = "HIDDEN_DUE_TO_SECURITY_REASONS"


def console_login_record(*, caller: Caller, success: bool, event_time: float, info: CallInfo,
                         login_to: str, unknown_user: bool = False) -> dict[str, Any]:
    """The ConsoleLogin record for a sign-in attempt by ``caller`` (its region is the Region the
    event is recorded in). ``login_to`` is the console URL the user was going to. ``unknown_user``:
    a failed IAM user sign-in whose user name is no user of the account: ``userIdentity {type
    IAMUser, accountId, accessKeyId "", userName HIDDEN_DUE_TO_SECURITY_REASONS}``."""
    identity = caller.user_identity()
    identity.pop("accessKeyId", None)
    if caller.user_name is None or not success:
        identity["accessKeyId"] = ""
    if caller.user_name is not None and not success:
        identity.pop("arn", None)
        identity = {k: identity[k] for k in ("type", "principalId", "accountId", "accessKeyId", "userName")}
    if unknown_user and not success:
        identity = {"type": "IAMUser", "accountId": caller.account_id, "accessKeyId": "",
                    "userName": HIDDEN_USER_NAME}
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": format_event_time(int(event_time)),
        "eventSource": SIGNIN_EVENT_SOURCE,
        "eventName": "ConsoleLogin",
        "awsRegion": caller.region,
        "sourceIPAddress": info.source_ip,
        "userAgent": info.user_agent,
    }
    if not success:
        record["errorMessage"] = "Failed authentication"
    record["requestParameters"] = None
    record["responseElements"] = {"ConsoleLogin": "Success" if success else "Failure"}
    record["additionalEventData"] = {"LoginTo": login_to, "MobileVersion": "No", "MFAUsed": "No"}
    record["eventID"] = str(uuid.uuid4())
    record["readOnly"] = False
    record["eventType"] = "AwsConsoleSignIn"
    record["managementEvent"] = True
    record["recipientAccountId"] = caller.account_id
    record["eventCategory"] = "Management"
    tls = _tls(info)
    if tls is not None:
        record["tlsDetails"] = tls
    return record


def console_call_record(*, session: ConsoleSession, operation: str, params: Mapping[str, Any] | None,
                        response: Mapping[str, Any] | None, error_code: str | None,
                        error_message: str | None, request_id: str, event_time: float,
                        info: CallInfo, service: Any = None) -> dict[str, Any]:
    """The record of one API call the console made for ``session`` to ``service`` (an
    :class:`opentrail.api.services.Service`; None: CloudTrail)."""
    console_info = CallInfo(info.source_ip, CONSOLE_USER_AGENT, info.host, info.tls_version,
                            info.cipher_suite, info.is_tls)
    record = call_record(
        caller=session.caller(),
        operation=operation,
        params=params,
        response=response,
        error_code=error_code,
        error_message=error_message,
        request_id=request_id,
        event_time=event_time,
        info=console_info,
        service=service,
    )
    record["userIdentity"]["sessionContext"] = {
        "attributes": {"creationDate": format_event_time(int(session.created)), "mfaAuthenticated": "false"}
    }
    record["sessionCredentialFromConsole"] = "true"
    return record


def submit(store: EventStore, record: dict[str, Any]) -> None:
    """Hand ``record`` to the store without waiting; failures are logged, never raised."""
    try:
        store.submit([read_record(record)])
    except (RecordRejected, ValueError) as exc:
        log.error("could not record console %s: %s", record.get("eventName"), exc)
    except Exception:
        log.exception("could not record console %s", record.get("eventName"))
