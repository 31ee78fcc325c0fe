"""A client for ``POST /_opentrail/ingest``: SigV4-signed with botocore (service ``opentrail``),
sent with urllib3 (already a botocore dependency).

    client = IngestClient("http://127.0.0.1:4588", key_id, secret)
    client.send(records)   # -> {"accepted": 2, "duplicates": 0, "expired": 0, "rejected": []}
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

INGEST_PATH = "/_opentrail/ingest"
INGEST_SERVICE = "opentrail"


class IngestError(Exception):
    """The server answered with a non-200 status: ``status``, AWS error ``code`` (when the body had
    one) and ``message``."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(f"ingest failed with HTTP {status}" + (f" {code}" if code else "") + f": {message}")
        self.status = status
        self.code = code
        self.message = message


class IngestClient:
    """Posts record batches to an opentrail server's ingest endpoint with an admin-account key."""

    def __init__(
        self,
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        *,
        region: str = "us-east-1",
        timeout_s: float = 60.0,
    ) -> None:
        self._url = endpoint_url.rstrip("/") + INGEST_PATH
        self._credentials = Credentials(access_key_id, secret_access_key)
        self._region = region
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False)

    def send(
        self,
        records: list[dict[str, Any]],
        *,
        wait_visible: bool = True,
        default_account_id: str | None = None,
        default_region: str | None = None,
    ) -> dict[str, Any]:
        """Post ``{"Records": records}``; return the outcome JSON ``{"accepted", "duplicates",
        "expired", "rejected": [{"index", "code", "reason"}]}``. Raises :class:`IngestError` on a
        non-200 answer and urllib3 errors when the server cannot be reached."""
        query: dict[str, str] = {}
        if not wait_visible:
            query["visible"] = "false"
        if default_account_id:
            query["defaultAccountId"] = default_account_id
        if default_region:
            query["defaultRegion"] = default_region
        return self.send_body(orjson.dumps({"Records": records}), query)

    def send_body(self, body: bytes, query: dict[str, str] | None = None) -> dict[str, Any]:
        """Post an already encoded ``{"Records": [...]}`` body with the query parameters of
        :meth:`send` (``visible``, ``defaultAccountId``, ``defaultRegion``); same answer and errors."""
        url = self._url + ("?" + urlencode(sorted(query.items())) if query else "")
        request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(self._credentials, INGEST_SERVICE, self._region).add_auth(request)
        prepared = request.prepare()
        response = self._http.request("POST", prepared.url, body=body, headers=dict(prepared.headers))
        if response.status != 200:
            code, message = None, response.data.decode("utf-8", "replace")
            try:
                err = orjson.loads(response.data)
                code, message = err.get("__type"), err.get("message", message)
            except (orjson.JSONDecodeError, AttributeError):
                pass
            raise IngestError(response.status, code, message)
        out: dict[str, Any] = orjson.loads(response.data)
        return out

    def close(self) -> None:
        """Release pooled connections."""
        self._http.clear()
