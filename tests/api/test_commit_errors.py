"""A staged write refused when it commits (a limit or name checked again in its write transaction,
another node having won the race since the handler's check) is answered with the service's AWS
error, not InternalFailure (:mod:`opentrail.api.commit_errors`, :func:`opentrail.api.calls.run_recorded`)."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import pytest

from opentrail.api.calls import run_recorded
from opentrail.api.commit_errors import commit_errors
from opentrail.api.errors import AwsError, InternalFailure
from opentrail.eventbridge.errors import LimitExceeded as EventsLimitExceeded
from opentrail.lake import errors as lake
from opentrail.lake.dashboard_errors import ServiceQuotaExceededException
from opentrail.monitoring.errors import LimitExceeded
from opentrail.monitoring.logs_errors import LogGroupExists
from opentrail.organizations.errors import ConcurrentModificationException
from opentrail.store.memory import MemoryEventStore

RECORD = {"eventVersion": "1.11", "eventTime": "2026-12-02T10:00:00Z", "eventSource": "cloudtrail.amazonaws.com",
          "eventName": "CreateEventDataStore", "awsRegion": "us-east-1",
          "eventID": "5b1b7c40-0000-4000-8000-000000000001", "recipientAccountId": "111122223333"}


def _refused_at_commit(error: Exception) -> Callable[[], Any]:
    @contextlib.contextmanager
    def staging() -> Iterator[Callable[[], None]]:
        def commit() -> None:
            raise error

        yield commit

    return staging


@pytest.mark.parametrize("service,error,code,message", [
    ("cloudtrail", lake.EventDataStoreMaxLimitExceededException(), "EventDataStoreMaxLimitExceededException",
     "Your account has used the maximum number of event data stores."),
    ("cloudtrail", lake.ConflictException("changed"), "ConflictException", "changed"),
    ("cloudtrail", ServiceQuotaExceededException("too many"), "ServiceQuotaExceededException", "too many"),
    ("monitoring", LimitExceeded("The maximum number of alarms (5000) for this account and Region has been reached."),
     "LimitExceededFault", "The maximum number of alarms (5000) for this account and Region has been reached."),
    ("logs", LogGroupExists(), "ResourceAlreadyExistsException", "The specified log group already exists"),
    ("events", EventsLimitExceeded(), "LimitExceededException",
     "The requested resource exceeds the maximum number allowed."),
    ("organizations", ConcurrentModificationException(), "ConcurrentModificationException",
     "The target of the operation is currently being modified by a different request. Try again later."),
])
def test_a_domain_error_of_the_staged_commit_is_the_services_aws_error(service: str, error: Exception, code: str,
                                                                       message: str) -> None:
    with pytest.raises(AwsError) as raised:
        run_recorded(operation="CreateEventDataStore", call=lambda: {}, make_record=lambda r, e: RECORD,
                     store=MemoryEventStore(), staging=_refused_at_commit(error), read_only=False,
                     commit_errors=lambda: commit_errors(service))
    assert (raised.value.code, raised.value.message) == (code, message)


def test_without_the_translation_it_is_internal_failure() -> None:
    with pytest.raises(InternalFailure):
        run_recorded(operation="CreateEventDataStore", call=lambda: {}, make_record=lambda r, e: RECORD,
                     store=MemoryEventStore(), staging=_refused_at_commit(LogGroupExists()), read_only=False)
