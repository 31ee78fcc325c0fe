"""Every top-level member of every implemented IAM operation given odd values (empty, huge, not a
number, a control character, broken JSON), against a real server with raw SigV4-signed Query
requests: every answer is below 500 and an XML document of the IAM namespace."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from opentrail.api.iam_operations import IAM
from opentrail.api.model import service_model
from opentrail.api.services import is_implemented

from .conftest import IamServer

VALUES = ("", "a" * 3000, "-1", "\u0001", "{", "arn:aws:iam::aws:policy/../x")
NAMESPACE = 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"'


def _post(srv: IamServer, http: httpx.Client, form: dict[str, str]) -> httpx.Response:
    body = urlencode(form)
    request = AWSRequest(method="POST", url=srv.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(srv.key.access_key_id, srv.key.secret_access_key), "iam", "us-east-1").add_auth(request)
    return http.post(srv.url + "/", content=body, headers=dict(request.headers.items()))


def test_odd_values_never_answer_5xx(srv: IamServer) -> None:
    model = service_model("iam")
    srv.client().create_user(UserName="x")
    seen = 0
    with httpx.Client(timeout=30) as http:
        for operation, handler in sorted(IAM.operations.items()):
            if not is_implemented(handler):
                continue
            shape = model.operation_model(operation).input_shape
            members: dict[str, Any] = dict(shape.members) if shape is not None else {}
            base = {"Action": operation, "Version": "2010-05-08"}
            base.update({m: "x" for m in (shape.required_members if shape is not None else [])})
            for member, member_shape in members.items():
                if member_shape.type_name in ("list", "structure", "map"):
                    continue
                for value in VALUES:
                    answer = _post(srv, http, {**base, member: value})
                    seen += 1
                    assert answer.status_code < 500, (operation, member, value, answer.text)
                    assert NAMESPACE in answer.text, (operation, member, value, answer.text)
    assert seen > 300
