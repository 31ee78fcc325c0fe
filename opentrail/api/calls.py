"""Running one API call together with its CloudTrail record: a call that changes state is
recorded *before* its change is made, and not made when the record cannot be made durable.

This is the one place where a call and its record meet, for every service opentrail serves and for
the console. The order for an operation that is not read-only:

1. the handler runs inside the trail service's staged changes (its writes are held back, the trail
   lock is held: see :meth:`opentrail.trails.service.TrailService.staged_changes`);
2. the call's record (success or AWS error) is appended to the event store and waited for until
   durable;
3. only then are the staged changes committed.

If step 2 fails (the data directory is full, the store is down), the staged changes are dropped,
nothing changed, and the caller gets :func:`opentrail.api.errors.store_error_to_aws` of the store's
error: an audit trail that fails closed. If the call itself failed, its AWS error is answered
either way (nothing changed), and a record that could not be written is logged.

Read-only calls change nothing: their records are handed to the store without waiting
(:meth:`EventStore.submit`), so lookups never wait on a disk flush; a record that cannot be
submitted is logged.

If step 3 fails after the record is durable, the caller gets an error and the history shows a
call that was recorded but not carried out: never the reverse.

A handler whose change is events added to the event log (CloudTrail Data's PutAuditEvents) answers
:class:`WithEvents`: its events are appended in step 2 together with the call's record, after it,
in one durable append (one group commit per call; the record and the events are durable together or
not at all).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterator, Sequence

from ..events.record import RecordRejected, read_record
from ..store.base import EventStore, NewEvent
from .errors import AwsError, InternalFailure, store_error_to_aws
from .operations import is_read_only

log = logging.getLogger("opentrail.api")

#: Builds the record of a call from its response (None on error) and its error (None on success).
RecordBuilder = Callable[[dict[str, Any] | None, AwsError | None], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class WithEvents:
    """A handler's answer ``response`` and the ``events`` its call adds to the event log, appended
    with the call's record (module docstring); ``on_durable`` runs once they are durable (not when
    the append failed)."""

    response: dict[str, Any]
    events: Sequence[NewEvent]
    on_durable: Callable[[], None] | None = None


@contextlib.contextmanager
def _no_staging() -> Iterator[Callable[[], None]]:
    yield lambda: None


def services_staging(trails: Any, lake: Any, logs: Any, monitoring: Any, eventbridge: Any, organizations: Any,
                     iam: Any) -> Callable[[], ContextManager[Callable[[], None]]]:
    """:func:`staging_of` over every service of the app whose changes are staged: trails, the Lake's
    event data stores, channels, resource policies and dashboards, CloudWatch Logs, CloudWatch,
    EventBridge, Organizations and IAM (the order their changes commit in)."""
    lake_parts = [getattr(lake, part, None) for part in ("stores", "channels", "policies", "dashboards")]
    return staging_of(trails, *lake_parts, logs, monitoring, eventbridge, organizations, iam)


def staging_of(*services: Any) -> Callable[[], ContextManager[Callable[[], None]]]:
    """One staged-changes context over every service given that has ``staged_changes`` (the
    TrailService, the event data store service; None is skipped): entered in order, and its
    ``commit`` commits each service's changes in that order."""
    stagers = [s.staged_changes for s in services if getattr(s, "staged_changes", None) is not None]
    if not stagers:
        return _no_staging
    if len(stagers) == 1:
        return stagers[0]

    @contextlib.contextmanager
    def staged() -> Iterator[Callable[[], None]]:
        with contextlib.ExitStack() as stack:
            commits = [stack.enter_context(s()) for s in stagers]

            def commit() -> None:
                for c in commits:
                    c()

            yield commit

    return staged


def run_recorded(
    *,
    operation: str,
    call: Callable[[], dict[str, Any]],
    make_record: RecordBuilder,
    store: EventStore,
    staging: Callable[[], ContextManager[Callable[[], None]]] = _no_staging,
    read_only: bool | None = None,
    recorded: bool = True,
    commit_errors: Callable[[], ContextManager[None]] = contextlib.nullcontext,
) -> dict[str, Any]:
    """Run ``call`` (the handler, bound to its context and parameters) and record it as described
    in the module docstring. Returns the response; raises the call's :class:`AwsError`, or the
    store's error as an AwsError when a state-changing call could not be recorded (nothing
    changed). Unexpected exceptions of ``call`` are logged and become InternalFailure.
    ``read_only`` is the service's rule for ``operation`` (None: CloudTrail's); an operation that is
    not ``recorded`` (a log-event operation CloudTrail does not log) just runs. ``commit_errors``
    translates a domain error raised by the staged commit (a limit or name checked again in the
    write transaction, :mod:`.commit_errors`) into the service's AWS error."""
    if not recorded:
        response, error, added = _run(operation, call)
        _append_unrecorded(store, added)
        return _answer(response, error)
    if read_only is None:
        read_only = is_read_only(operation)
    if read_only:
        response, error, added = _run(operation, call)
        _append_unrecorded(store, added)
        _submit(store, operation, make_record, response, error)
        return _answer(response, error)
    with staging() as commit:
        response, error, added = _run(operation, call)
        try:
            event = read_record(make_record(response, error))
            store.append([event, *(added.events if added is not None else ())], wait_visible=False)
        except Exception as exc:
            if error is not None:
                log.error("could not record failed %s call: %s", operation, exc)
                raise error from None
            log.error("refused %s: its record could not be made durable (%s); nothing changed", operation, exc)
            unwritable = isinstance(exc, (RecordRejected, ValueError))  # the record itself, not the store
            raise (InternalFailure() if unwritable else store_error_to_aws(exc)) from None
        if error is not None:
            raise error
        _durable(added)
        try:
            with commit_errors():
                commit()
        except Exception as exc:
            answer = store_error_to_aws(exc)
            if isinstance(answer, InternalFailure):
                log.exception("%s was recorded but its change could not be written", operation)
            else:  # a full disk: one line, as the store logs it
                log.warning("%s was recorded but its change could not be written: %s", operation, answer.message)
            raise answer from None
    return _answer(response, error)


def _run(operation: str, call: Callable[[], dict[str, Any]]
         ) -> tuple[dict[str, Any] | None, AwsError | None, WithEvents | None]:
    try:
        answer: Any = call()
    except AwsError as exc:
        return None, exc, None
    except Exception:
        log.exception("unexpected error in %s", operation)
        return None, InternalFailure(), None
    if isinstance(answer, WithEvents):
        return answer.response, None, answer
    return answer, None, None


def _append_unrecorded(store: EventStore, added: WithEvents | None) -> None:
    """The events of a :class:`WithEvents` answer when the call itself is not recorded."""
    if added is not None and added.events:
        try:
            store.append(added.events, wait_visible=False)
        except Exception as exc:
            raise store_error_to_aws(exc) from None
    _durable(added)


def _durable(added: WithEvents | None) -> None:
    if added is not None and added.on_durable is not None:
        added.on_durable()


def _answer(response: dict[str, Any] | None, error: AwsError | None) -> dict[str, Any]:
    if error is not None:
        raise error
    assert response is not None
    return response


def _submit(store: EventStore, operation: str, make_record: RecordBuilder,
            response: dict[str, Any] | None, error: AwsError | None) -> None:
    try:
        store.submit([read_record(make_record(response, error))])
    except Exception as exc:
        log.error("could not record %s call: %s", operation, exc)
