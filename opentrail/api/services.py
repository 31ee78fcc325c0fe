"""The AWS services opentrail serves on its one port, and how a request finds its service.

Every service is a :class:`Service`: its SigV4 signing name (the credential scope's service, what
``AWS_ENDPOINT_URL`` clients sign for), its botocore model (the API contract: operations, shapes,
errors), the ``eventSource`` its calls are recorded under, the ``X-Amz-Target`` prefixes it answers,
and its explicit operation table (every operation of the model -> handler, IAM action and resource
type). :func:`served_services` lists them; :func:`service_for_request` routes one request:

1. the SigV4 credential scope's service (``Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/
   region/<service>/aws4_request`` or the presigned ``X-Amz-Credential``), when opentrail serves it;
2. else the ``X-Amz-Target`` prefix (so an unsigned request is answered by the service it names);
3. else CloudWatch's Query protocol (``Content-Type: application/x-www-form-urlencoded``) or its
   ``smithy-rpc-v2-cbor`` path (``/service/GraniteServiceVersion20100801/operation/<Op>``);
4. else CloudTrail.

STS (signing name ``sts``) and IAM (``iam``) speak only the Query protocol: a request signed for one is answered by it.

Recording (what CloudTrail writes for each call, from each service's "Logging ... API calls with AWS
CloudTrail" page): management events for every operation, readOnly for Get/Describe/List/Lookup/
Search/Test operations, except

- :attr:`Service.data_events`: operations AWS records as *data* events (eventCategory Data,
  managementEvent false, logged by a trail only when its selectors ask for that resource type);
- :attr:`Service.not_recorded`: the log-event operations CloudWatch Logs does not log in CloudTrail
  (PutLogEvents, GetLogEvents, FilterLogEvents, ...), see docs/monitoring.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs

from .targets import accepted_target_prefixes, operation_for_target

#: A handler takes the :class:`opentrail.api.operations.OperationContext` and the request object
#: (the JSON form of the operation's input shape) and returns the response object.
Handler = Callable[[Any, dict[str, Any]], dict[str, Any]]

#: Prefixes of operations AWS records with ``readOnly: true``.
READ_ONLY_PREFIXES: tuple[str, ...] = ("Get", "Describe", "List", "Lookup", "Search", "Test")


@dataclass(frozen=True)
class Service:
    """One AWS service on opentrail's port (see the module docstring).

    ``name`` is the SigV4 signing name (``cloudtrail``, ``logs``, ``monitoring``, ``events``,
    ``organizations``);
    ``model`` the botocore service name (``cloudtrail``, ``logs``, ``cloudwatch``, ``events``);
    ``iam_prefix`` the IAM action prefix (``cloudtrail``, ``logs``, ``cloudwatch``, ``events``); ``operations`` maps every operation of the model
    to its handler (unimplemented ones answer UnknownOperationException); ``resources`` maps every
    operation to the resource type its IAM action is authorized on (``*``: none);
    ``json_content_type`` is the AWS JSON version the service speaks; ``query_compatible`` marks a
    model with ``awsQueryCompatible`` (errors also carry ``x-amzn-query-error``)."""

    name: str
    model: str
    iam_prefix: str
    event_source: str
    target_prefix: str
    operations: Mapping[str, Handler]
    resources: Mapping[str, str]
    json_content_type: str = "application/x-amz-json-1.1"
    query_compatible: bool = False
    data_events: Mapping[str, str] = field(default_factory=dict)
    not_recorded: frozenset[str] = frozenset()
    #: Operations run on the event loop (short, no I/O wait), with their handlers.
    inline: Mapping[str, Handler] = field(default_factory=dict)
    #: The Region a global service's calls are recorded in (Organizations, IAM: ``us-east-1``),
    #: whatever Region the client signed for; None: the signing Region.
    global_region: str | None = None
    #: Read-only operations whose ``responseElements`` AWS records anyway, with the function that
    #: gives the part of the response recorded (STS GetSessionToken: the credentials' key id and
    #: expiration).
    logged_responses: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    #: Operations AWS records with ``readOnly: true`` beyond :data:`READ_ONLY_PREFIXES` (STS AssumeRole).
    read_only: frozenset[str] = frozenset()
    #: State-changing operations whose only change is events added to the event log with the call's
    #: record (PutAuditEvents, :class:`opentrail.api.calls.WithEvents`): run without the services'
    #: staged changes and their locks, so concurrent calls share one group commit.
    unstaged: frozenset[str] = frozenset()
    #: Operations whose record carries ``resources``, with the function that gives them from the
    #: request (STS AssumeRole: ``[{accountId, type: "AWS::IAM::Role", ARN}]``; None: no element).
    recorded_resources: Mapping[str, Callable[[dict[str, Any]], list[dict[str, Any]] | None]] = field(
        default_factory=dict)

    @property
    def target_prefixes(self) -> frozenset[str]:
        """Every ``X-Amz-Target`` prefix the service answers (:func:`accepted_target_prefixes`)."""
        return accepted_target_prefixes(self.target_prefix)

    def operation_for_target(self, target: str | None) -> str | None:
        """The operation an ``X-Amz-Target`` value names, or None."""
        return operation_for_target(target, self.target_prefixes, self.operations)

    def iam_action(self, operation: str) -> str:
        """The IAM action that authorizes ``operation``: ``<iam_prefix>:<Operation>``."""
        return f"{self.iam_prefix}:{operation}"

    def is_read_only(self, operation: str) -> bool:
        """True for operations AWS records with ``readOnly: true``."""
        return operation.startswith(READ_ONLY_PREFIXES) or operation in self.read_only

    def is_recorded(self, operation: str) -> bool:
        """False for operations CloudTrail does not log for this service."""
        return operation not in self.not_recorded


def not_implemented(service: str, operation: str) -> Handler:
    """A handler answering UnknownOperationException naming ``operation`` (never a 500)."""
    from .errors import UnknownOperationException

    def handler(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise UnknownOperationException.not_implemented(operation)

    handler.__name__ = f"not_implemented_{operation}"
    return handler


def operation_table(service: str, model_operations: Mapping[str, str],
                    implemented: Mapping[str, Handler]) -> dict[str, Handler]:
    """Every operation of ``model_operations`` -> its handler behind the model's request validation
    (:func:`opentrail.api.validation.validated`), or :func:`not_implemented`."""
    from .validation import validated

    unknown = set(implemented) - set(model_operations)
    if unknown:
        raise ValueError(f"handlers for operations {service} does not have: {sorted(unknown)}")
    return {op: validated(op, implemented[op], service) if op in implemented else not_implemented(service, op)
            for op in model_operations}


def handlers_of(module: str, table: str) -> dict[str, Handler]:
    """The handler table ``table`` (operation -> handler) of ``opentrail.api.<module>``, or ``{}``
    while that module is not there (a service whose handlers arrive later: every operation answers
    UnknownOperationException meanwhile)."""
    import importlib
    import importlib.util

    name = f"{__package__}.{module}"
    if importlib.util.find_spec(name) is None:
        return {}
    handlers: dict[str, Handler] = getattr(importlib.import_module(name), table)
    return handlers


def context_part(ctx: Any, part: str, operation: str) -> Any:
    """``ctx.<part>`` (the service object the server runs, e.g. ``logs``, ``eventbridge``,
    ``monitoring``), or UnknownOperationException naming ``operation`` when it runs without it."""
    from .errors import UnknownOperationException

    found = getattr(ctx, part, None)
    if found is None:
        raise UnknownOperationException.not_implemented(operation)
    return found


def is_implemented(handler: Handler) -> bool:
    """False for the :func:`not_implemented` placeholders."""
    return not handler.__name__.startswith("not_implemented_")


@lru_cache(maxsize=1)
def served_services() -> dict[str, Service]:
    """Signing name -> :class:`Service`, for every service opentrail serves."""
    from .cloudtrail_data import CLOUDTRAIL_DATA
    from .events_operations import EVENTS
    from .iam_operations import IAM
    from .logs_operations import LOGS
    from .monitoring_operations import MONITORING
    from .operations import CLOUDTRAIL
    from .organizations_operations import ORGANIZATIONS
    from .sts_operations import STS

    return {s.name: s for s in (CLOUDTRAIL, CLOUDTRAIL_DATA, LOGS, MONITORING, EVENTS, ORGANIZATIONS, STS, IAM)}


def service_named(name: str) -> Service:
    """The served service whose signing name is ``name`` (KeyError otherwise)."""
    return served_services()[name]


_SCOPE_SERVICE = re.compile(r"Credential=[^/,\s]*/[^/,\s]*/[^/,\s]*/([^/,\s]+)/")
#: Path of the ``smithy-rpc-v2-cbor`` protocol: ``/service/<ServiceShape>/operation/<Operation>``.
CBOR_PATH = re.compile(r"^/service/([^/]+)/operation/([^/]+)$")


def scope_service(authorization: str | None, query_string: str = "") -> str | None:
    """The service named by a SigV4 credential scope (header or presigned query), or None."""
    if authorization:
        m = _SCOPE_SERVICE.search(authorization)
        if m:
            return m.group(1)
    if "X-Amz-Credential=" in query_string:
        for value in parse_qs(query_string).get("X-Amz-Credential", [])[:1]:
            parts = value.split("/")
            if len(parts) == 5:
                return parts[3]
    return None


def service_for_request(*, authorization: str | None, query_string: str, target: str | None,
                        content_type: str, path: str) -> Service:
    """The service that answers one request (the routing rules of the module docstring)."""
    services = served_services()
    named = scope_service(authorization, query_string)
    if named in services:
        return services[named]
    if target:
        prefix = target.rpartition(".")[0]
        for service in services.values():
            if prefix in service.target_prefixes:
                return service
    monitoring = services.get("monitoring")
    if monitoring is not None:
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            return monitoring
        m = CBOR_PATH.match(path)
        if m and m.group(1) in monitoring.target_prefixes:
            return monitoring
    return services["cloudtrail"]
