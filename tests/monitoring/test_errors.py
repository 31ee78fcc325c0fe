"""Every CloudWatch error class matches the botocore model: code, shape and HTTP status."""

from __future__ import annotations

import botocore.session
import pytest

from opentrail.monitoring.errors import MONITORING_ERRORS

MODEL = botocore.session.get_session().get_service_model("cloudwatch")


@pytest.mark.parametrize("code", sorted(MONITORING_ERRORS))
def test_error_matches_model(code: str) -> None:
    cls = MONITORING_ERRORS[code]
    shape = MODEL.shape_for(cls.shape)
    error = shape.metadata["error"]
    assert (error["code"], error["httpStatusCode"], error.get("senderFault", False)) == (
        code, cls.http_status, cls.sender_fault
    )
    instance = cls("a message")
    assert (instance.code, instance.message) == (code, "a message")
