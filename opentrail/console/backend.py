"""What the console pages run on: the API's own operation handlers, called as the signed-in user.

The console never reads the store or the trail database by itself: every page calls the same
handlers the APIs dispatch to (each service's operation table, :mod:`opentrail.api.services`), with an
:class:`OperationContext` whose caller is the console session (its ``ASIA...`` key id and chosen
Region). What the console shows is therefore what LookupEvents/DescribeTrails answer.

Each console action is recorded once, like an API call (and, like one, a change is made only once
its record is durable: :mod:`opentrail.api.calls`), with ``sessionCredentialFromConsole``
(:func:`.recording.console_call_record`). An action that pages through many results internally
(a download, the activity chart) is recorded as its first call only.

Every call goes through the app's :class:`opentrail.api.authorization.Authorizer` first, as the
API's calls do: a denial is recorded like the API records it (the AccessDenied call) and raised as
:class:`ConsoleDenied`, which the console's routes answer with HTTP 403 and AWS's message
(:func:`opentrail.console.denials.answering_denials`). :meth:`ConsoleBackend.permits` asks the same
question without calling, so pages offer only the actions the principal may use.

The console does not apply the LookupEvents rate limit (``lookup_events_rate_limit_per_s``): a
download or the chart makes many calls in a row for one user action.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from ..api.authorization import Authorizer
from ..api.errors import AwsError, InternalFailure, new_request_id
from ..api.operations import OperationContext
from ..api.services import service_named
from ..api.ratelimit import RateLimiter
from ..api.calls import run_recorded, services_staging
from ..api.commit_errors import commit_errors
from ..api.recording import CallInfo
from ..auth.accounts import AccountStore
from ..insights.model import InsightMetrics
from ..settings import Settings
from ..store.base import EventStore
from .recording import console_call_record
from .sessions import ConsoleSession, SessionStore

log = logging.getLogger("opentrail.console")


class ConsoleDenied(Exception):
    """A console call the Authorizer refused; ``error`` is the service's access-denied AwsError
    (``AccessDeniedException`` or ``AccessDenied``) with AWS's message. Not an AwsError, so the
    pages' own error handling lets it through to the 403 page."""

    def __init__(self, error: AwsError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class ConsoleBackend:
    """The pieces the console uses; ``trails`` is the TrailService (None: no trail pages);
    ``token_key`` signs LookupEvents NextTokens as the API does (None: a key for the process);
    ``lake`` is the :class:`opentrail.lake.Lake` of the API (None: no Lake page); ``logs`` and
    ``monitoring`` the CloudWatch Logs and CloudWatch services; ``eventbridge`` the
    :class:`opentrail.eventbridge.rules_service.RulesService` (None: no rule pages) and ``event_bus``
    the bus PutEvents hands events to, whose ``rule_status(rule_arn)`` the rule pages read when it
    has one (:class:`opentrail.eventbridge.bus.EventBusWorker`; otherwise no matches are shown);
    ``insights`` the per-minute call counts of the Insights pages' charts
    (:class:`opentrail.insights.model.InsightMetrics`; None: the charts say no counts are available).
    ``authorizer`` the app's :class:`opentrail.api.authorization.Authorizer` (None: one without IAM,
    so everything is allowed as before IAM existed); ``iam`` the IAM store and ``organizations`` the
    Organizations service, as in :func:`opentrail.api.app.build_app`."""

    settings: Settings
    store: EventStore
    accounts: AccountStore
    clock: Callable[[], float]
    trails: Any
    sessions: SessionStore
    token_key: bytes | None = None
    lake: Any = None
    logs: Any = None
    monitoring: Any = None
    eventbridge: Any = None
    event_bus: Any = None
    insights: InsightMetrics | None = None
    authorizer: Authorizer | None = None
    iam: Any = None
    organizations: Any = None

    def __post_init__(self) -> None:
        self._no_limit = RateLimiter(0.0, self.clock)
        if self.authorizer is None:
            self.authorizer = Authorizer(self.settings, self.iam, self.organizations)

    def permits(self, session: ConsoleSession, info: CallInfo, operation: str, params: dict[str, Any] | None = None,
                *, service: str = "cloudtrail") -> bool:
        """Whether ``session`` may call ``operation`` of ``service`` with ``params`` (the resource the
        page would act on): :meth:`Authorizer.permits`, nothing called or recorded."""
        assert self.authorizer is not None
        return self.authorizer.permits(session.caller(), service_named(service), operation, params, info,
                                       self.clock())

    def context(self, session: ConsoleSession) -> OperationContext:
        """The handlers' context for ``session``'s calls."""
        return OperationContext(session.caller(), self.settings, self.store, self.clock, self._no_limit, self.trails,
                                token_key=self.token_key, lake=self.lake, logs=self.logs, monitoring=self.monitoring,
                                eventbridge=self.eventbridge, event_bus=self.event_bus, insights=self.insights,
                                organizations=self.organizations, accounts=self.accounts, iam=self.iam)

    def call(self, session: ConsoleSession, info: CallInfo, operation: str, params: dict[str, Any],
             *, record: bool = True, service: str = "cloudtrail") -> dict[str, Any]:
        """Run ``operation`` of ``service`` (a signing name: ``cloudtrail``, ``logs``, ``monitoring``, ``events``)
        with ``params`` (the API's JSON request) as ``session``; returns the response object or raises
        the operation's :class:`AwsError` (InternalFailure for anything unexpected). With ``record``
        the call is recorded in the session's event history, as the API records it (operations the
        service does not log in CloudTrail are not)."""
        api = service_named(service)
        handler = api.operations[operation]
        ctx = self.context(session)
        return self.run(session, info, operation, params, lambda: handler(ctx, params), record=record, service=service)

    def run(self, session: ConsoleSession, info: CallInfo, operation: str, params: dict[str, Any],
            call: Callable[[], dict[str, Any]], *, record: bool = True, service: str = "cloudtrail",
            authorize_params: dict[str, Any] | None = None) -> dict[str, Any]:
        """As :meth:`call` with ``call`` doing the work instead of the operation's handler (the policy
        simulator, which evaluates in the console): authorized (on the resource ``authorize_params``
        names, default ``params``), recorded and answered the same way."""
        request_id = new_request_id()
        event_time = self.clock()
        api = service_named(service)
        authorizer = self.authorizer
        assert authorizer is not None
        caller = session.caller()
        denied: list[AwsError] = []

        def authorized() -> dict[str, Any]:
            try:
                authorizer.authorize(caller, api, operation, authorize_params or params, info, event_time)
            except AwsError as exc:
                denied.append(exc)
                raise
            return call()

        if not record:
            try:
                return authorized()
            except AwsError as exc:
                if denied and exc is denied[0]:
                    raise ConsoleDenied(exc) from None
                raise
            except Exception:
                log.exception("unexpected error in console %s (request %s)", operation, request_id)
                raise InternalFailure() from None

        def make_record(response: dict[str, Any] | None, error: AwsError | None) -> dict[str, Any]:
            return console_call_record(
                session=session, operation=operation, params=params, response=response,
                error_code=error.code if error else None, error_message=error.message if error else None,
                request_id=request_id, event_time=event_time, info=info, service=api,
            )

        try:
            return run_recorded(operation=operation, call=authorized, make_record=make_record, store=self.store,
                                staging=services_staging(self.trails, self.lake, self.logs, self.monitoring,
                                                         self.eventbridge, self.organizations, self.iam),
                                read_only=api.is_read_only(operation), recorded=api.is_recorded(operation),
                                commit_errors=lambda: commit_errors(api.name))
        except AwsError as exc:
            if denied and exc is denied[0]:
                raise ConsoleDenied(exc) from None
            raise
