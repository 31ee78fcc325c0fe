"""CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn on CreateTrail/UpdateTrail: the rules beyond
each member's form (:func:`.names.check_cloud_watch_logs_log_group_arn`,
:func:`.names.check_cloud_watch_logs_role_arn`).

- The two go together. CreateTrail documents the group as "Not required unless you specify
  CloudWatchLogsRoleArn"; a call that gives a log group without a role is
  InvalidCloudWatchLogsRoleArnException "You must specify a role ARN as well as a log group."
  (AWS's answer quoted in pulumi/docs#5117 and hashicorp/terraform-provider-aws#148, the latter
  an UpdateTrail that changed only the group of a trail that had a role), and a role without a log
  group InvalidCloudWatchLogsLogGroupArnException (opentrail's wording).
- UpdateTrail with CloudWatchLogsLogGroupArn "" turns the delivery off (both members cleared);
  CloudWatchLogsRoleArn "" alone on a trail that has a group would leave the group without a role:
  InvalidCloudWatchLogsRoleArnException.
- The group must be of the caller's account and partition and, when a :class:`LogGroupChecker` is
  given, exist (:func:`.names.check_log_group_usable`: "Check the log group ARN: CloudTrail can't
  validate it.").
- The role is checked for its form only: opentrail has no IAM, so neither its trust policy nor its
  permissions are evaluated.
"""

from __future__ import annotations

from typing import Protocol

from .errors import InvalidCloudWatchLogsLogGroupArnException, InvalidCloudWatchLogsRoleArnException
from .names import LogGroupArn, check_log_group_usable

#: InvalidCloudWatchLogsRoleArnException's message for a log group given without a role (AWS's).
ROLE_REQUIRED = "You must specify a role ARN as well as a log group."
#: InvalidCloudWatchLogsLogGroupArnException's message for a role given without a log group
#: (opentrail's wording; AWS's is not published).
LOG_GROUP_REQUIRED = "You must specify a log group as well as a role ARN."


class LogGroupChecker(Protocol):
    """Answers whether a CloudWatch Logs log group exists (``opentrail.monitoring.logs.LogsService``)."""

    def group_exists(self, account_id: str, region: str, group_name: str) -> bool:
        """True when ``account_id`` has the log group ``group_name`` in ``region``."""
        ...


def check_cloud_watch_logs(account_id: str, region: str, group: str | None, role: str | None,
                           current_group: str | None, checker: LogGroupChecker | None) -> None:
    """Check the CloudWatchLogsLogGroupArn ``group`` and CloudWatchLogsRoleArn ``role`` given by a
    caller of ``account_id`` in ``region`` (None: not given; their forms already checked) against
    the rules above; ``current_group`` is the trail's group before an UpdateTrail (None for
    CreateTrail). Raises InvalidCloudWatchLogsRoleArnException,
    InvalidCloudWatchLogsLogGroupArnException."""
    if group:
        if not role:
            raise InvalidCloudWatchLogsRoleArnException(ROLE_REQUIRED)

        def exists(arn: LogGroupArn) -> bool:
            assert checker is not None
            return checker.group_exists(arn.account_id, arn.region, arn.name)

        check_log_group_usable(group, account_id, region, exists if checker is not None else None)
    elif role:
        raise InvalidCloudWatchLogsLogGroupArnException(LOG_GROUP_REQUIRED)
    elif role == "" and group is None and current_group:
        raise InvalidCloudWatchLogsRoleArnException(ROLE_REQUIRED)
