"""Selector matching: unit cases for each rule and hypothesis properties over real CloudTrail
records from /work/shared/datasets/cloudtrail."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.events.classify import event_category
from opentrail.events.files import iter_file_records
from opentrail.trails import (
    AdvancedEventSelector,
    AdvancedFieldSelector,
    DataResource,
    EventSelector,
    TrailSelectors,
    matches,
)
from opentrail.trails.matching import field_value
from tests.paths import DATASETS



def _load() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for folder in sorted(DATASETS.iterdir()):
        for path in sorted(folder.rglob("*.json*")):
            for item in iter_file_records(path):
                if not item.rejected and isinstance(item.record, dict):
                    records.append(item.record)
    return records


RECORDS = _load()


def rec(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"eventVersion": "1.09", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
                            "eventType": "AwsApiCall", "readOnly": False, "managementEvent": True,
                            "eventCategory": "Management",
                            "userIdentity": {"arn": "arn:aws:iam::111122223333:user/alice"}}
    base.update(fields)
    return base


S3_PUT = rec(eventSource="s3.amazonaws.com", eventName="PutObject", managementEvent=False, eventCategory="Data",
             resources=[{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::my-bucket"},
                        {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::my-bucket/logs/a.txt"}])
INSIGHT = {"eventVersion": "1.08", "eventType": "AwsCloudTrailInsight", "eventCategory": "Insight"}


def basic(*selectors: EventSelector) -> TrailSelectors:
    return TrailSelectors(event_selectors=selectors)


def adv(*field_selectors: AdvancedFieldSelector) -> TrailSelectors:
    return TrailSelectors(advanced_event_selectors=(AdvancedEventSelector(field_selectors),))


F = AdvancedFieldSelector


def test_dataset_loaded() -> None:
    assert len(RECORDS) > 3000


def test_no_selectors_take_every_management_event_only() -> None:
    assert matches(TrailSelectors(), rec()) is True
    assert matches(TrailSelectors(), rec(readOnly=True)) is True
    assert matches(TrailSelectors(), S3_PUT) is False
    assert matches(TrailSelectors(), INSIGHT) is False


def test_basic_read_write_type() -> None:
    assert matches(basic(EventSelector("ReadOnly")), rec(readOnly=True)) is True
    assert matches(basic(EventSelector("ReadOnly")), rec(readOnly=False)) is False
    assert matches(basic(EventSelector("WriteOnly")), rec(readOnly=False)) is True
    assert matches(basic(EventSelector("WriteOnly")), rec(readOnly="true")) is False
    assert matches(basic(EventSelector("WriteOnly")), rec(readOnly=None)) is False
    assert matches(basic(EventSelector("All")), rec(readOnly=None)) is True


def test_basic_management_switch_and_excluded_sources() -> None:
    assert matches(basic(EventSelector(include_management_events=False)), rec()) is False
    kms = rec(eventSource="kms.amazonaws.com", eventName="Decrypt", readOnly=True)
    selector = EventSelector(exclude_management_event_sources=("kms.amazonaws.com",))
    assert matches(basic(selector), kms) is False
    assert matches(basic(selector), rec()) is True


def test_basic_data_resources_are_arn_prefixes() -> None:
    def sel(*values: str, rtype: str = "AWS::S3::Object", rw: str = "All") -> TrailSelectors:
        return basic(EventSelector(rw, include_management_events=False, data_resources=(DataResource(rtype, values),)))

    assert matches(sel("arn:aws:s3"), S3_PUT) is True
    assert matches(sel("arn:aws:s3:::my-bucket/"), S3_PUT) is True
    assert matches(sel("arn:aws:s3:::my-bucket/logs/"), S3_PUT) is True
    assert matches(sel("arn:aws:s3:::my-bucket/other/"), S3_PUT) is False
    assert matches(sel("arn:aws:s3:::my-bucket", rtype="AWS::Lambda::Function"), S3_PUT) is False
    assert matches(sel("arn:aws:s3", rw="ReadOnly"), S3_PUT) is False
    assert matches(sel("arn:aws:s3"), rec()) is False  # management events need IncludeManagementEvents
    # Any selector taking the event is enough.
    both = basic(EventSelector(include_management_events=False), EventSelector(data_resources=(DataResource("AWS::S3::Object", ("arn:aws:s3",)),)))
    assert matches(both, S3_PUT) is True


def test_advanced_operators() -> None:
    cat = F("eventCategory", equals=("Management",))
    assert matches(adv(cat), rec()) is True
    assert matches(adv(cat), S3_PUT) is False
    assert matches(adv(cat, F("eventName", equals=("RunInstances", "X"))), rec()) is True
    assert matches(adv(cat, F("eventName", starts_with=("Run",))), rec()) is True
    assert matches(adv(cat, F("eventName", ends_with=("Instances",))), rec()) is True
    assert matches(adv(cat, F("eventName", not_equals=("RunInstances",))), rec()) is False
    assert matches(adv(cat, F("eventName", not_starts_with=("Describe", "Run"))), rec()) is False
    assert matches(adv(cat, F("eventName", not_ends_with=("Foo",))), rec()) is True
    # Operators in one field selector must all hold.
    assert matches(adv(cat, F("eventName", starts_with=("Run",), not_ends_with=("Instances",))), rec()) is False
    assert matches(adv(cat, F("readOnly", equals=("false",))), rec()) is True
    assert matches(adv(cat, F("readOnly", equals=("true",))), rec()) is False
    assert matches(adv(cat, F("userIdentity.arn", ends_with=(":user/alice",))), rec()) is True
    assert matches(adv(cat, F("eventType", equals=("AwsApiCall",))), rec()) is True
    assert matches(adv(cat, F("sessionCredentialFromConsole", equals=("true",))), rec(sessionCredentialFromConsole="true")) is True


def test_advanced_missing_field_fails_positive_and_satisfies_negative() -> None:
    cat = F("eventCategory", equals=("Management",))
    assert matches(adv(cat, F("errorCode", equals=("AccessDenied",))), rec()) is False
    assert matches(adv(cat, F("errorCode", not_equals=("AccessDenied",))), rec()) is True
    assert matches(adv(cat, F("errorCode", not_equals=("AccessDenied",))), rec(errorCode="AccessDenied")) is False
    assert matches(adv(cat, F("vpcEndpointId", starts_with=("vpce-",))), rec(vpcEndpointId="vpce-1")) is True


def test_advanced_resource_fields_hold_for_one_resource() -> None:
    cat = F("eventCategory", equals=("Data",))
    obj = F("resources.type", equals=("AWS::S3::Object",))
    assert matches(adv(cat, obj, F("resources.ARN", starts_with=("arn:aws:s3:::my-bucket/logs/",))), S3_PUT) is True
    # The bucket resource has the ARN arn:aws:s3:::my-bucket but is not an object: no match.
    assert matches(adv(cat, obj, F("resources.ARN", equals=("arn:aws:s3:::my-bucket",))), S3_PUT) is False
    assert matches(adv(cat, obj, F("resources.ARN", not_ends_with=(".txt",))), S3_PUT) is False


def test_insights_events_are_never_taken_by_event_selectors() -> None:
    assert matches(adv(F("eventCategory", equals=("Insight",))), INSIGHT) is False


# --- properties over real records ------------------------------------------------------------

records = st.sampled_from(RECORDS)
FIELDS = ("eventSource", "eventName", "eventType", "errorCode", "userIdentity.arn", "readOnly", "eventCategory")
PAIRS = (("equals", "not_equals"), ("starts_with", "not_starts_with"), ("ends_with", "not_ends_with"))
fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(records)
def test_default_equals_default_basic_equals_management_advanced(record: dict[str, Any]) -> None:
    expected = event_category(record) == "Management"
    assert matches(TrailSelectors(), record) is expected
    assert matches(basic(EventSelector()), record) is expected
    assert matches(adv(F("eventCategory", equals=("Management",))), record) is expected


@fast
@given(records)
def test_read_only_plus_write_only_is_all_when_read_only_is_known(record: dict[str, Any]) -> None:
    split = basic(EventSelector("ReadOnly"), EventSelector("WriteOnly"))
    if field_value(record, "readOnly", "") is not None:
        assert matches(split, record) is matches(basic(EventSelector("All")), record)
    else:
        assert matches(split, record) is False


@fast
@given(records, st.sampled_from(FIELDS), st.sampled_from(PAIRS), st.data())
def test_positive_and_negative_operators_are_complements(record: dict[str, Any], field: str,
                                                         pair: tuple[str, str], data: st.DataObject) -> None:
    category = event_category(record)
    value = field_value(record, field, category)
    base = F("eventCategory", equals=(category,))
    assert matches(adv(base), record) is (category != "Insight")
    if category == "Insight":
        return
    candidates = [value[:3], value[-3:], value, "zz-no-such"] if value else ["zz-no-such"]
    values = tuple(v for v in data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3)) if v)
    if not values:
        return
    positive, negative = pair
    pos = matches(adv(base, F(field, **{positive: values})), record)
    neg = matches(adv(base, F(field, **{negative: values})), record)
    if value is None:
        assert (pos, neg) == (False, True)
    else:
        assert pos is not neg


@fast
@given(st.lists(st.sampled_from([
    AdvancedEventSelector((F("eventCategory", equals=("Management",)), F("readOnly", equals=("true",)))),
    AdvancedEventSelector((F("eventCategory", equals=("Management",)), F("eventSource", not_equals=("kms.amazonaws.com",)))),
    AdvancedEventSelector((F("eventCategory", equals=("Data",)), F("resources.type", equals=("AWS::S3::Object",)))),
    AdvancedEventSelector((F("eventCategory", equals=("Management",)), F("errorCode", starts_with=("Access",)))),
]), min_size=1, max_size=4), records)
def test_any_selector_suffices_and_order_does_not_matter(selectors: list[AdvancedEventSelector], record: dict[str, Any]) -> None:
    combined = matches(TrailSelectors(advanced_event_selectors=tuple(selectors)), record)
    assert combined is any(matches(TrailSelectors(advanced_event_selectors=(s,)), record) for s in selectors)
    assert combined is matches(TrailSelectors(advanced_event_selectors=tuple(reversed(selectors))), record)


@pytest.mark.parametrize("name, expected", [("Management", 3000), ("Data", 20), ("Insight", 5), ("NetworkActivity", 5)])
def test_dataset_has_every_category(name: str, expected: int) -> None:
    assert sum(event_category(r) == name for r in RECORDS) >= expected
