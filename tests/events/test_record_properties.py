"""Property tests: the reader never raises anything but RecordRejected, and keeps the record."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.events.record import RecordRejected, read_record

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(), c, max_size=4), max_leaves=20)
times = st.sampled_from(["2020-01-01T00:00:00Z", "2020-01-01 00:00:00.000", "bad", "2020-01-01T00:00:00+11:00"]) | st.text()
record_like = st.fixed_dictionaries(
    {},
    optional={
        "eventTime": times | json_values,
        "@timestamp": times,
        "recipientAccountId": st.text() | json_values,
        "userIdentity": st.fixed_dictionaries({}, optional={"accountId": st.text(), "type": st.text(), "arn": st.text(),
                                                             "userName": json_values}) | json_values,
        "eventID": st.text() | json_values,
        "awsRegion": st.text() | json_values,
        "eventCategory": st.text() | json_values,
        "managementEvent": json_values,
        "readOnly": json_values,
        "resources": st.lists(st.dictionaries(st.sampled_from(["type", "ARN"]), json_values)) | json_values,
        "insightDetails": json_values,
        "eventSource": st.text(), "eventName": st.text(),
    },
)


@settings(max_examples=300, deadline=None)
@given(obj=json_values | record_like, account=st.none() | st.text(max_size=3))
def test_reader_only_raises_record_rejected_and_keeps_the_record(obj: Any, account: str | None) -> None:
    try:
        event = read_record(obj, default_account_id=account)
    except RecordRejected as exc:
        assert exc.code in {"NotAnObject", "NotJson", "TooLarge", "MissingEventTime", "InvalidEventTime", "MissingAccount",
                            "InvalidRegion"}
        return
    assert json.loads(event.record) == obj
    assert list(json.loads(event.record)) == list(obj)
    assert isinstance(event.event_time, int)
    assert event.account_id and event.region and event.event_id
    assert event.category in {"Management", "Data", "Insight", "NetworkActivity"}
