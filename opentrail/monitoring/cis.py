"""The CIS AWS Foundations Benchmark CloudTrail monitoring controls as metric filters and alarms,
and ``opentrail monitoring cis-setup``, which creates them through the CloudWatch Logs and CloudWatch
APIs (any endpoint: opentrail's or AWS's).

Patterns: CIS v3.0 section 4 / v6.0 section 5 as published by Security Hub (controls CloudWatch.1-14,
"Additional fields or terms cannot be added") and the CIS documents (4.15/5.15, not a Security Hub
control); ../shared/reference/monitoring.md section B3 lists them with their sources. The alarm recipe
is the benchmark's: metric value 1, statistic Sum, period 300 s, 1 evaluation period, threshold 1,
GreaterThanOrEqualToThreshold, TreatMissingData notBreaching, the SNS topic as the alarm action.
docs/monitoring.md explains each control.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class CisControl:
    """One control: its CIS numbers (v3.0 / v6.0), Security Hub id (or None), title, the metric filter
    pattern and the metric (and alarm) name."""

    cis: str
    security_hub: str | None
    title: str
    metric_name: str
    pattern: str


def _any_event(*names: str) -> str:
    return " || ".join(f"($.eventName = {n})" for n in names)


CIS_CONTROLS: tuple[CisControl, ...] = (
    CisControl("4.1 / 5.1", "CloudWatch.2", "Unauthorized API calls", "UnauthorizedAPICalls",
               '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
               '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }'),
    CisControl("4.2 / 5.2", "CloudWatch.3", "Management console sign-in without MFA", "ConsoleSignInWithoutMFA",
               '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'),
    CisControl("4.3 / 5.3", "CloudWatch.1", "Usage of the root user", "RootAccountUsage",
               '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
               '$.eventType != "AwsServiceEvent" }'),
    CisControl("4.4 / 5.4", "CloudWatch.4", "IAM policy changes", "IAMPolicyChanges",
               "{" + _any_event("DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy",
                                "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy",
                                "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy",
                                "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy",
                                "DetachGroupPolicy") + "}"),
    CisControl("4.5 / 5.5", "CloudWatch.5", "CloudTrail configuration changes", "CloudTrailConfigChanges",
               "{ " + _any_event("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging") + " }"),
    CisControl("4.6 / 5.6", "CloudWatch.6", "Management console authentication failures",
               "ConsoleAuthenticationFailures",
               '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'),
    CisControl("4.7 / 5.7", "CloudWatch.7", "Disabling or scheduled deletion of customer managed keys",
               "DisableOrDeleteCMK",
               "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || "
               "($.eventName = ScheduleKeyDeletion)) }"),
    CisControl("4.8 / 5.8", "CloudWatch.8", "S3 bucket policy changes", "S3BucketPolicyChanges",
               "{ ($.eventSource = s3.amazonaws.com) && (" + _any_event(
                   "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
                   "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle",
                   "DeleteBucketReplication") + ") }"),
    CisControl("4.9 / 5.9", "CloudWatch.9", "AWS Config configuration changes", "AWSConfigChanges",
               "{ ($.eventSource = config.amazonaws.com) && (" + _any_event(
                   "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel",
                   "PutConfigurationRecorder") + ") }"),
    CisControl("4.10 / 5.10", "CloudWatch.10", "Security group changes", "SecurityGroupChanges",
               "{ " + _any_event("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
                                 "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "CreateSecurityGroup",
                                 "DeleteSecurityGroup", "ModifySecurityGroupRules") + " }"),
    CisControl("4.11 / 5.11", "CloudWatch.11", "Network access control list (NACL) changes", "NACLChanges",
               "{ " + _any_event("CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl",
                                 "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry",
                                 "ReplaceNetworkAclAssociation") + " }"),
    CisControl("4.12 / 5.12", "CloudWatch.12", "Network gateway changes", "NetworkGatewayChanges",
               "{ " + _any_event("CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway",
                                 "CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway") + " }"),
    CisControl("4.13 / 5.13", "CloudWatch.13", "Route table changes", "RouteTableChanges",
               "{ " + _any_event("CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation",
                                 "DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable") + " }"),
    CisControl("4.14 / 5.14", "CloudWatch.14", "VPC changes", "VPCChanges",
               "{ " + _any_event("CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection",
                                 "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection",
                                 "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc",
                                 "DisableVpcClassicLink", "EnableVpcClassicLink") + " }"),
    CisControl("4.15 / 5.15", None, "AWS Organizations changes", "OrganizationsChanges",
               "{ ($.eventSource = organizations.amazonaws.com) && (" + " || ".join(
                   f'($.eventName = "{n}")' for n in (
                       "AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy",
                       "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy",
                       "DetachPolicy", "DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization",
                       "LeaveOrganization", "MoveAccount", "RemoveAccountFromOrganization", "UpdatePolicy",
                       "UpdateOrganizationalUnit")) + ") }"),
)

#: The alarm recipe of the benchmark.
ALARM_PERIOD_S = 300


def cis_setup(logs: Any, cloudwatch: Any, *, log_group: str, sns_topic_arn: str, namespace: str = "CISBenchmark",
              period_s: int = ALARM_PERIOD_S, echo: Callable[[str], None] = lambda line: None) -> list[str]:
    """Create (or update: Put* calls are idempotent) one metric filter on ``log_group`` and one alarm
    per :data:`CIS_CONTROLS`, through boto3 ``logs`` and ``cloudwatch`` clients. Returns the alarm
    names (``CIS-<metric name>``). Raises the clients' ``ClientError`` (e.g. ResourceNotFoundException
    when the log group does not exist)."""
    names: list[str] = []
    for control in CIS_CONTROLS:
        logs.put_metric_filter(
            logGroupName=log_group, filterName=f"CIS-{control.metric_name}", filterPattern=control.pattern,
            metricTransformations=[{"metricName": control.metric_name, "metricNamespace": namespace,
                                    "metricValue": "1"}])
        alarm = f"CIS-{control.metric_name}"
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            AlarmDescription=f"CIS {control.cis}"
                             + (f" (Security Hub {control.security_hub})" if control.security_hub else "")
                             + f": {control.title}",
            Namespace=namespace, MetricName=control.metric_name, Statistic="Sum", Period=period_s,
            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching", AlarmActions=[sns_topic_arn])
        names.append(alarm)
        echo(f"{alarm}: metric filter and alarm on {log_group} ({control.title})")
    return names
