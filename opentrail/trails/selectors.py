"""AWS's rules and limits for event selectors, advanced event selectors and Insights selectors.

Limits (botocore model, ``InvalidEventSelectorsException``/``PutEventSelectors``; REFERENCE.md):
at most 5 basic selectors; at most 250 data resource values over all basic selectors; resource
types ``AWS::S3::Object``, ``AWS::Lambda::Function``, ``AWS::DynamoDB::Table``;
``ExcludeManagementEventSources`` only ``kms.amazonaws.com`` / ``rdsdata.amazonaws.com`` (User
Guide, "Logging management events"); advanced selectors: at most 500 values over all conditions,
fields from :data:`ADVANCED_FIELDS`, ``eventCategory`` required with ``Equals`` only, ``readOnly``
``Equals`` "true"/"false" only, every field selector with at least one operator, values 1-2048
characters, names at most 1000 characters; data-event selectors name ``resources.type``.

Messages follow the one AWS message seen in the wild, "Value <v> for DataResources.Values is
invalid." (aws-security-reference-architecture-examples#335); the others are opentrail's wording in
the same form (see docs/trails.md).
"""

from __future__ import annotations

import re

from .errors import InvalidEventSelectorsException, InvalidInsightSelectorsException
from .model import (
    INSIGHT_EVENT_CATEGORIES,
    INSIGHT_TYPES,
    READ_WRITE_TYPES,
    AdvancedEventSelector,
    EventSelector,
    InsightSelector,
)

MAX_EVENT_SELECTORS = 5
MAX_DATA_RESOURCE_VALUES = 250
MAX_ADVANCED_VALUES = 500
MAX_SELECTOR_NAME = 1000
MAX_OPERATOR_VALUE = 2048

#: Management event sources a basic selector may exclude.
EXCLUDABLE_EVENT_SOURCES: tuple[str, ...] = ("kms.amazonaws.com", "rdsdata.amazonaws.com")
#: Fields of advanced field selectors (REFERENCE.md, AdvancedFieldSelector in the API Reference).
ADVANCED_FIELDS: tuple[str, ...] = (
    "eventCategory",
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "resources.type",
    "resources.ARN",
    "userIdentity.arn",
    "sessionCredentialFromConsole",
    "errorCode",
    "vpcEndpointId",
)
#: eventCategory values a trail's advanced selector may select.
TRAIL_EVENT_CATEGORIES: tuple[str, ...] = ("Management", "Data", "NetworkActivity")
#: Fields a Management selector may use besides eventCategory.
MANAGEMENT_FIELDS: tuple[str, ...] = ("eventCategory", "readOnly", "eventSource")

_DATA_RESOURCE_PATTERNS: dict[str, re.Pattern[str]] = {
    "AWS::S3::Object": re.compile(r"arn:aws:s3(:::)?|arn:aws:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.*"),
    "AWS::Lambda::Function": re.compile(
        r"arn:aws:lambda(:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?)?"
    ),
    "AWS::DynamoDB::Table": re.compile(r"arn:aws:dynamodb(:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255})?"),
}
#: Basic data resource types.
DATA_RESOURCE_TYPES: tuple[str, ...] = tuple(_DATA_RESOURCE_PATTERNS)


def _invalid(value: object, member: str) -> InvalidEventSelectorsException:
    return InvalidEventSelectorsException(f"Value {value} for {member} is invalid.")


def validate_event_selectors(selectors: tuple[EventSelector, ...]) -> None:
    """Raise :class:`InvalidEventSelectorsException` when ``selectors`` break a rule."""
    if len(selectors) > MAX_EVENT_SELECTORS:
        raise InvalidEventSelectorsException(
            f"Too many event selectors. A trail can have up to {MAX_EVENT_SELECTORS} event selectors."
        )
    total = 0
    for selector in selectors:
        if selector.read_write_type not in READ_WRITE_TYPES:
            raise _invalid(selector.read_write_type, "ReadWriteType")
        for source in selector.exclude_management_event_sources:
            if source not in EXCLUDABLE_EVENT_SOURCES:
                raise _invalid(source, "ExcludeManagementEventSources")
        for resource in selector.data_resources:
            pattern = _DATA_RESOURCE_PATTERNS.get(resource.type)
            if pattern is None:
                raise _invalid(resource.type, "DataResources.Type")
            for value in resource.values:
                if not pattern.fullmatch(value):
                    raise _invalid(value, "DataResources.Values")
            total += len(resource.values)
    if total > MAX_DATA_RESOURCE_VALUES:
        raise InvalidEventSelectorsException(
            f"Too many data resources. A trail can have up to {MAX_DATA_RESOURCE_VALUES} data resources."
        )


def validate_advanced_event_selectors(selectors: tuple[AdvancedEventSelector, ...]) -> None:
    """Raise :class:`InvalidEventSelectorsException` when ``selectors`` break a rule."""
    total = 0
    for selector in selectors:
        if selector.name is not None and len(selector.name) > MAX_SELECTOR_NAME:
            raise _invalid(selector.name, "AdvancedEventSelectors.Name")
        if not selector.field_selectors:
            raise InvalidEventSelectorsException("An advanced event selector must have at least one field selector.")
        fields: dict[str, int] = {}
        for fs in selector.field_selectors:
            if fs.field not in ADVANCED_FIELDS:
                raise _invalid(fs.field, "FieldSelectors.Field")
            if fs.field in fields:
                raise InvalidEventSelectorsException(
                    f"Field {fs.field} is used more than once in an advanced event selector."
                )
            fields[fs.field] = 1
            count = fs.value_count()
            if count == 0:
                raise InvalidEventSelectorsException(
                    f"Field selector for {fs.field} must use at least one operator."
                )
            for ops in (fs.equals, fs.starts_with, fs.ends_with, fs.not_equals, fs.not_starts_with, fs.not_ends_with):
                for value in ops:
                    if not 1 <= len(value) <= MAX_OPERATOR_VALUE:
                        raise _invalid(value, f"FieldSelectors.{fs.field}")
            total += count
        category = next((fs for fs in selector.field_selectors if fs.field == "eventCategory"), None)
        if category is None:
            raise InvalidEventSelectorsException("Every advanced event selector must have an eventCategory field.")
        if category.value_count() != len(category.equals) or len(category.equals) != 1:
            raise InvalidEventSelectorsException("The eventCategory field supports only the Equals operator with one value.")
        if category.equals[0] not in TRAIL_EVENT_CATEGORIES:
            raise _invalid(category.equals[0], "FieldSelectors.eventCategory")
        read_only = next((fs for fs in selector.field_selectors if fs.field == "readOnly"), None)
        if read_only is not None and (
            read_only.value_count() != len(read_only.equals)
            or len(read_only.equals) != 1
            or read_only.equals[0] not in ("true", "false")
        ):
            raise InvalidEventSelectorsException("The readOnly field supports only the Equals operator with true or false.")
        if category.equals[0] == "Management":
            for name in fields:
                if name not in MANAGEMENT_FIELDS:
                    raise InvalidEventSelectorsException(
                        f"Field {name} is not supported for Management events. "
                        f"Supported fields: {', '.join(MANAGEMENT_FIELDS)}."
                    )
        elif "resources.type" not in fields:
            raise InvalidEventSelectorsException(
                f"Advanced event selectors for {category.equals[0]} events must include the resources.type field."
            )
    if total > MAX_ADVANCED_VALUES:
        raise InvalidEventSelectorsException(
            f"Too many values. Advanced event selectors can have up to {MAX_ADVANCED_VALUES} values "
            f"for all conditions; {total} were specified."
        )


def validate_insight_selectors(selectors: tuple[InsightSelector, ...]) -> None:
    """Raise :class:`InvalidInsightSelectorsException` for an unknown InsightType/EventCategory or a
    repeated InsightType."""
    seen: set[str] = set()
    for selector in selectors:
        if selector.insight_type not in INSIGHT_TYPES:
            raise InvalidInsightSelectorsException(
                f"Value {selector.insight_type} for InsightType is invalid. "
                f"Valid values: {', '.join(INSIGHT_TYPES)}."
            )
        if selector.insight_type in seen:
            raise InvalidInsightSelectorsException(f"InsightType {selector.insight_type} is specified more than once.")
        seen.add(selector.insight_type)
        for category in selector.event_categories or ():
            if category not in INSIGHT_EVENT_CATEGORIES:
                raise InvalidInsightSelectorsException(
                    f"Value {category} for EventCategories is invalid. "
                    f"Valid values: {', '.join(INSIGHT_EVENT_CATEGORIES)}."
                )
