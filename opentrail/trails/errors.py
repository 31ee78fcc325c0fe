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
    """IsOrganizationTrail on an account that is not in an organization (opentrail has none yet)."""

    default_message = "This account is not a member of an organization."


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
