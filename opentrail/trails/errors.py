"""Trail errors named after the wire: the class name is the AWS error code, the message is AWS's.

These are domain exceptions (no HTTP); :mod:`opentrail.api.trail_errors` turns them into API
errors. Sources of the wording (the rest is opentrail's own, listed in docs/trails.md):

- Trail name messages: moto ``moto/cloudtrail/exceptions.py`` (TrailNameTooShort, TrailNameTooLong,
  TrailNameNotStartingCorrectly, TrailNameNotEndingCorrectly, TrailNameInvalidChars).
- ``TrailAlreadyExistsException`` "Trail <name> already exists for customer: <account>"
  (terraform-aws-cloudtrail#238, trussworks/terraform-aws-logs#269, AWS answers quoted).
- ``TrailNotFoundException`` "Unknown trail: <arn> for the user: <account>" (aws-sdk-go-v2#1957,
  turbot/steampipe-plugin-aws#577; AWS puts the ARN -- built in the caller's Region when a name was
  given -- into the message).
- ``CloudTrailARNInvalidException`` "AccountID in ARN is wrong, you can only access resources with
  AccountID <account>." (steampipe-plugin-aws#577).
- ``MaximumNumberOfTrailsExceededException`` "User already has 5 trails in <region>" (CloudFormation
  failures quoted in public repositories).
- ``InvalidParameterCombinationException`` "Multi-Region trail must include global service events."
  (cloudconformity/auto-remediate#3; moto).
- ``InsightNotEnabledException`` "Trail <arn> does not have Insights enabled. Edit the trail settings
  to enable Insights, and then try the operation again." (AWS CLI user guide, get-insight-selectors).
- ``InsufficientSnsTopicPolicyException`` "SNS Topic does not exist or the topic policy is
  incorrect!" (moto ``moto/cloudtrail/models.py``; AWS's answer quoted in public Terraform code).
- ``InvalidEventSelectorsException`` "Value <v> for DataResources.Values is invalid."
  (aws-samples/aws-security-reference-architecture-examples#335).
"""

from __future__ import annotations

from ..domain_errors import DomainError


class TrailError(DomainError):
    """Base of every trail error; ``code`` is the class name, ``message`` AWS's text."""


class InvalidTrailNameException(TrailError):
    """A name that breaks the trail name rules (see :func:`opentrail.trails.names.check_trail_name`)."""


class TrailAlreadyExistsException(TrailError):
    """A trail of that name already exists in the Region (or as a multi-Region trail anywhere)."""

    @classmethod
    def for_name(cls, name: str, account_id: str) -> "TrailAlreadyExistsException":
        return cls(f"Trail {name} already exists for customer: {account_id}")


class TrailNotFoundException(TrailError):
    """No such trail visible to the caller."""

    @classmethod
    def for_arn(cls, arn: str, account_id: str) -> "TrailNotFoundException":
        return cls(f"Unknown trail: {arn} for the user: {account_id}")


class MaximumNumberOfTrailsExceededException(TrailError):
    """A sixth trail in a Region (shadow trails of multi-Region trails count in every Region)."""

    @classmethod
    def for_region(cls, region: str, limit: int) -> "MaximumNumberOfTrailsExceededException":
        return cls(f"User already has {limit} trails in {region}")


class S3BucketDoesNotExistException(TrailError):
    """The bucket named in S3BucketName does not exist in the destination storage."""

    @classmethod
    def for_bucket(cls, bucket: str) -> "S3BucketDoesNotExistException":
        return cls(f"S3 bucket {bucket} does not exist!")


class InvalidS3BucketNameException(TrailError):
    """An S3BucketName that breaks S3's bucket naming rules (see
    :func:`opentrail.trails.names.check_s3_bucket_name`)."""


class InvalidCloudWatchLogsLogGroupArnException(TrailError):
    """A CloudWatchLogsLogGroupArn that is not a log group ARN."""


class InvalidCloudWatchLogsRoleArnException(TrailError):
    """A CloudWatchLogsRoleArn that is not an IAM role ARN."""


class InvalidKmsKeyIdException(TrailError):
    """A KmsKeyId that is neither a KMS key id, key ARN, alias name nor alias ARN."""


class InvalidS3PrefixException(TrailError):
    """An S3KeyPrefix over 200 characters."""


class InvalidSnsTopicNameException(TrailError):
    """An SNS topic name that is neither a topic name nor a topic ARN."""


class InsufficientSnsTopicPolicyException(TrailError):
    """SnsTopicName names a topic that the SNS endpoint says does not exist (or may not be used)."""

    default_message = "SNS Topic does not exist or the topic policy is incorrect!"


class InvalidParameterCombinationException(TrailError):
    """Parameters that cannot be used together."""


class InvalidParameterException(TrailError):
    """A parameter value that is not valid."""


class InvalidHomeRegionException(TrailError):
    """A change requested outside the trail's home Region."""

    @classmethod
    def for_trail(cls, arn: str, home_region: str) -> "InvalidHomeRegionException":
        return cls(f"The trail {arn} can only be changed in its home Region, {home_region}.")


class CloudTrailARNInvalidException(TrailError):
    """A malformed trail ARN, or one of another account."""

    @classmethod
    def malformed(cls, arn: str) -> "CloudTrailARNInvalidException":
        return cls(f"Invalid CloudTrail ARN: {arn}")

    @classmethod
    def wrong_account(cls, account_id: str) -> "CloudTrailARNInvalidException":
        return cls(f"AccountID in ARN is wrong, you can only access resources with AccountID {account_id}.")


class InvalidEventSelectorsException(TrailError):
    """Event selectors or advanced event selectors that break AWS's rules or limits."""


class InvalidInsightSelectorsException(TrailError):
    """Insight selectors with an unknown InsightType/EventCategory or duplicates."""


class InsightNotEnabledException(TrailError):
    """GetInsightSelectors on a trail without Insights."""

    @classmethod
    def for_trail(cls, arn: str) -> "InsightNotEnabledException":
        return cls(f"Trail {arn} does not have Insights enabled. Edit the trail settings to enable Insights, and then try the operation again.")


class OrganizationsNotInUseException(TrailError):
    """IsOrganizationTrail / OrganizationEnabled (or a delegated administrator operation) from an
    account that is not in an organization."""

    default_message = "This account is not a member of an organization."


class NotOrganizationMasterAccountException(TrailError):
    """An organization trail or event data store created, changed or removed by an account that is
    neither the organization's management account nor a CloudTrail delegated administrator. The
    trail text is AWS's, quoted in aws/aws-cdk#21824 (CloudFormation's failure); the event data
    store text is assumed by analogy (no AWS answer found)."""

    default_message = ("You cannot configure or manage trails for an organization because this action requires "
                       "being signed in with the management account.")

    @classmethod
    def for_event_data_store(cls) -> "NotOrganizationMasterAccountException":
        return cls("You cannot configure or manage event data stores for an organization because this action "
                   "requires being signed in with the management account.")


class NotOrganizationManagementAccountException(TrailError):
    """Register/DeregisterOrganizationDelegatedAdmin from an account that is not the management
    account (text assumed from the model's documentation of the shape)."""

    default_message = "This operation can be performed only by the management account of the organization."


class OrganizationNotInAllFeaturesModeException(TrailError):
    """The organization has only consolidated billing features (text assumed from the model)."""

    default_message = ("All features must be enabled in Organizations to support creating an organization trail "
                       "or event data store.")


class CloudTrailAccessNotEnabledException(TrailError):
    """Trusted access for cloudtrail.amazonaws.com is not enabled (EnableAWSServiceAccess). AWS's
    text, quoted in hashicorp/terraform-provider-aws#31401 and nozaq/terraform-aws-secure-baseline#258
    (curly apostrophe included)."""

    default_message = ("The request could not be processed because your organization hasn\u2019t enabled CloudTrail "
                       "service access. Enable service access for CloudTrail, and then try again.")


class AccountRegisteredException(TrailError):
    """RegisterOrganizationDelegatedAdmin for an account already registered (text assumed from the model)."""

    default_message = "The account is already registered as the CloudTrail delegated administrator."


class AccountNotRegisteredException(TrailError):
    """DeregisterOrganizationDelegatedAdmin for an account that is not registered (text assumed)."""

    default_message = "The account is not registered as the CloudTrail delegated administrator."


class AccountNotFoundException(TrailError):
    """A delegated administrator account that is not in the organization (text assumed from the model)."""

    @classmethod
    def for_account(cls, account_id: str) -> "AccountNotFoundException":
        return cls(f"Account {account_id} is not found or not part of the organization.")


class DelegatedAdminAccountLimitExceededException(TrailError):
    """A fourth CloudTrail delegated administrator (AWS: at most 3; text assumed from the model)."""

    default_message = "The maximum number of CloudTrail delegated administrators is reached."


class CannotDelegateManagementAccountException(TrailError):
    """RegisterOrganizationDelegatedAdmin for the management account itself (text assumed)."""

    default_message = "You cannot register the management account of the organization as a delegated administrator."


class ResourceNotFoundException(TrailError):
    """A tag operation on a resource that does not exist."""

    @classmethod
    def for_arn(cls, arn: str) -> "ResourceNotFoundException":
        return cls(f"Resource {arn} does not exist.")


class ResourceTypeNotSupportedException(TrailError):
    """A tag operation on an ARN that is not a trail (event data stores and channels come later)."""

    @classmethod
    def for_arn(cls, arn: str) -> "ResourceTypeNotSupportedException":
        return cls(f"Resource type of {arn} is not supported.")


class TagsLimitExceededException(TrailError):
    """More than 50 tags on one resource."""

    @classmethod
    def for_limit(cls, limit: int) -> "TagsLimitExceededException":
        return cls(f"The number of tags on the resource exceeds the limit of {limit}.")


class InvalidTagParameterException(TrailError):
    """A tag key or value out of bounds, or a key given twice."""


class InvalidTokenException(TrailError):
    """A ListTags NextToken that opentrail did not issue."""

    default_message = "Invalid token."


#: Every trail error class, for the API layer's registration and the contract test.
TRAIL_ERRORS: tuple[type[TrailError], ...] = tuple(
    cls for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, TrailError) and cls is not TrailError
)
