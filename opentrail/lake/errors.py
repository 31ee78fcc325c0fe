"""Event data store errors named after the wire: the class name is the AWS error code.

Domain exceptions (no HTTP); :mod:`opentrail.api.lake_errors` turns them into API errors. Errors
that trails answer too (InvalidParameterException, InvalidEventSelectorsException,
InvalidKmsKeyIdException, OrganizationsNotInUseException, the tag errors) are raised as the
classes of :mod:`opentrail.trails.errors`, so one validator serves both.

Messages: AWS publishes almost none of them. ``EventDataStoreNotFoundException`` "The event data
store was not found." is AWS's answer quoted in aws-samples/iam-identity-center-team#202; the
others are the botocore model's documentation of the shape (``cloudtrail/2013-11-01``), the best
available text, as listed in docs/lake.md.
"""

from __future__ import annotations

from ..domain_errors import DomainError


class LakeError(DomainError):
    """Base of every event data store error; ``code`` is the class name, ``message`` AWS's text."""


class EventDataStoreAlreadyExistsException(LakeError):
    """Another event data store of the account and Region has that name (any status)."""

    default_message = "An event data store with that name already exists."


class EventDataStoreMaxLimitExceededException(LakeError):
    """An eleventh event data store in one account and Region (every lifecycle stage counts)."""

    default_message = "Your account has used the maximum number of event data stores."


class ConflictException(LakeError):
    """The event data store was changed by another operation (on another node) between this
    operation's checks and its write; retrying sees the change."""

    default_message = ("This exception is thrown when the specified resource is not ready for an operation. This can "
                       "occur when you try to run an operation on a resource before CloudTrail has time to fully load "
                       "the resource, or because another operation is modifying the resource. If this exception "
                       "occurs, wait a few minutes, and then try the operation again.")


class EventDataStoreARNInvalidException(LakeError):
    """An EventDataStore value that is neither an event data store ID nor an event data store ARN of
    the caller's account."""

    default_message = ("The specified event data store ARN is not valid or does not map to an event data "
                       "store in your account.")


class EventDataStoreNotFoundException(LakeError):
    """No event data store with that ID in the caller's account and Region."""

    default_message = "The event data store was not found."


class EventDataStoreTerminationProtectedException(LakeError):
    """DeleteEventDataStore while termination protection is on."""

    default_message = "The event data store cannot be deleted because termination protection is enabled for it."


class InvalidEventDataStoreStatusException(LakeError):
    """Start/StopEventDataStoreIngestion or RestoreEventDataStore in a status that does not allow it."""

    default_message = "The event data store is not in a status that supports the operation."


class InactiveEventDataStoreException(LakeError):
    """A change (update, delete, tags) to an event data store that is PENDING_DELETION."""

    default_message = "The event data store is inactive."


class InvalidEventDataStoreCategoryException(LakeError):
    """Start/StopEventDataStoreIngestion on a store whose category is not Management, Data,
    NetworkActivity or ConfigurationItem."""

    default_message = ("Ingestion can be started or stopped only on event data stores of the Management, Data, "
                       "NetworkActivity or ConfigurationItem event category.")


class EventDataStoreFederationEnabledException(LakeError):
    """Federation is already enabled on the store (EnableFederation), or it blocks DeleteEventDataStore."""

    default_message = ("Federation is enabled for the event data store. Disable federation before you delete the event "
                       "data store or enable federation again.")


# --- channels and resource policies (CloudTrail Lake integrations) ----------------------------------

class ChannelNotFoundException(LakeError):
    """No channel with that ARN or ID in the caller's account and Region."""

    default_message = "The channel was not found."


class ChannelARNInvalidException(LakeError):
    """A Channel value that is neither a channel ID nor a channel ARN of the caller's account."""

    default_message = "The specified value of ChannelARN is not valid."


class ChannelAlreadyExistsException(LakeError):
    """A channel of that name, or for that source, exists in the account and Region."""

    default_message = "The channel already exists."


class ChannelMaxLimitExceededException(LakeError):
    """A 26th channel in one account and Region (AWS quota: 25 channels)."""

    default_message = "The maximum number of channels limit is exceeded."


class InvalidSourceException(LakeError):
    """A Source that is neither ``Custom`` nor a partner source name."""

    default_message = "The specified value of Source is not valid."


class ChannelExistsForEDSException(LakeError):
    """DeleteEventDataStore on a store that a channel has as a destination."""

    default_message = "The event data store cannot yet be deleted because it is in use by a channel."


class ResourcePolicyNotValidException(LakeError):
    """A resource-based policy with syntax errors, a principal that is not valid, or an action the
    resource type does not allow."""

    default_message = "The resource-based policy has syntax errors, or contains a principal that is not valid."


class ResourcePolicyNotFoundException(LakeError):
    """Get/DeleteResourcePolicy on a resource without a policy."""

    default_message = "The resource-based policy was not found."


class ResourceARNNotValidException(LakeError):
    """A ResourceArn that is not a channel, event data store or dashboard ARN, or names a resource
    that does not exist."""

    default_message = ("The provided resource does not exist, or the ARN format of the resource is not valid.")


#: Every event data store error class, for the API layer's registration.
LAKE_ERRORS: tuple[type[LakeError], ...] = tuple(
    cls for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, LakeError) and cls is not LakeError
)
