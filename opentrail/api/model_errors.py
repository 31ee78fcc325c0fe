"""Wire errors made from a botocore model's error shapes: one :class:`AwsError` subclass per shape,
named after it (the ``__type`` of AWS JSON answers), with the model's HTTP status, its Query-protocol
code (``error.code``, used by ``awsQueryCompatible`` services and their Query protocol) and whether
the sender is at fault. Used for the services whose errors carry no opentrail-specific wording
(CloudWatch Logs, CloudWatch); messages are given where the error is raised.
"""

from __future__ import annotations

from typing import Any

from .errors import AwsError
from .model import service_description


def model_errors(service: str, module: str) -> dict[str, type[AwsError]]:
    """Shape name -> AwsError subclass for every exception shape of botocore model ``service``;
    ``module`` is the ``__module__`` the classes get (the module that exports them)."""
    shapes: dict[str, Any] = service_description(service)["shapes"]
    out: dict[str, type[AwsError]] = {}
    for name, shape in shapes.items():
        if not shape.get("exception"):
            continue
        error = shape.get("error") or {}
        attrs = {
            "__doc__": (shape.get("documentation") or name).replace("<p>", "").replace("</p>", " ").strip(),
            "__module__": module,
            "status": int(error.get("httpStatusCode", 500 if shape.get("fault") else 400)),
            "query_code": error.get("code"),
            "sender_fault": bool(error.get("senderFault", not shape.get("fault"))),
        }
        out[name] = type(name, (AwsError,), attrs)
    return out
