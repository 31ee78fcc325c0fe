"""Whether an SNS topic exists, asked of the SNS endpoint delivery notifies (CreateTrail/UpdateTrail).

:class:`SnsTopics` implements :class:`opentrail.trails.service.SnsTopicChecker` with SNS
``GetTopicAttributes`` on the topic ARN, at ``--sns-endpoint-url`` with the AWS credential chain
and the timeouts of :mod:`opentrail.endpoints` -- the same endpoint, credentials and timeouts as
the notifications of :mod:`.notify`. Answers:

- the call succeeds -> True;
- SNS answers ``NotFound`` or ``AuthorizationError`` (AWS's "SNS Topic does not exist or the topic
  policy is incorrect!" covers both), or ``InvalidParameter`` (an ARN SNS does not accept) -> False;
- anything else (endpoint unreachable or timing out, no credentials, throttling, 5xx, a rejected
  signature) -> None: the check cannot be made now, so the trail is accepted and a warning logged;
  a notification to a missing topic later shows as LatestNotificationError ``NotFound``.
"""

from __future__ import annotations

import logging

import botocore.exceptions

from ..endpoints import EndpointTimeouts, RegionalClients

log = logging.getLogger(__name__)

#: SNS error codes that mean "no such topic for you".
MISSING_CODES = frozenset({"NotFound", "AuthorizationError", "InvalidParameter"})


class SnsTopics:
    """Topic existence at ``endpoint_url`` ("" = AWS SNS), waiting at most ``timeouts``."""

    def __init__(self, endpoint_url: str, timeouts: EndpointTimeouts = EndpointTimeouts()) -> None:
        self._endpoint_url = endpoint_url or None
        self._clients = RegionalClients("sns", endpoint_url, timeouts)

    def topic_exists(self, topic_arn: str) -> bool | None:
        """True / False / None as the module docstring says."""
        parts = topic_arn.split(":")
        if len(parts) != 6 or not parts[3]:
            return False
        try:
            self._clients.get(parts[3]).get_topic_attributes(TopicArn=topic_arn)
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in MISSING_CODES:
                return False
            log.warning("SNS topic %s not checked (%s): accepted", topic_arn, code or exc)
            return None
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:
            log.warning("SNS topic %s not checked (endpoint %s: %s): accepted", topic_arn,
                        self._endpoint_url or "AWS", exc)
            return None
        return True

    def close(self) -> None:
        self._clients.close()
