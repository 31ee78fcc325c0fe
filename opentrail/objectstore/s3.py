"""Buckets in an S3-compatible service (AWS S3, MinIO, Ceph RGW, moto's server) through boto3.

Credentials and Region come from the standard AWS chain (environment, shared files, instance
roles); a missing Region defaults to us-east-1. With an endpoint URL, path-style addressing is used
(``http://host:port/<bucket>/<key>``), which every S3-compatible service accepts. botocore errors are
mapped to :mod:`opentrail.objectstore.base` errors at this one edge: ``NoSuchBucket``/404 ->
:class:`NoSuchBucket`, ``NoSuchKey`` -> :class:`NoSuchKey`, connection failures, timeouts,
throttling and 5xx -> :class:`StorageUnavailable` (``code``: the S3 error code it answered, or
:func:`opentrail.endpoints.unreachable_code` -- ``RequestTimeout`` / ``ServiceUnavailable``),
everything else -> :class:`StorageError`. Timeouts and retries: :mod:`opentrail.endpoints`.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import boto3
import boto3.exceptions
import botocore.auth
import botocore.awsrequest
import botocore.exceptions
from botocore.utils import percent_encode
from boto3.s3.transfer import TransferConfig
from ..endpoints import EndpointTimeouts, client_config, unreachable_code
from .base import NoSuchBucket, NoSuchKey, ObjectStorage, StorageError, StorageUnavailable, StoredObject

_TRANSIENT_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"})
#: Files from this size on are uploaded in parts (boto3's managed transfer); smaller ones in one PUT.
MULTIPART_THRESHOLD = 64 * 1024 * 1024
#: Objects deleted per DeleteObjects request (S3's limit).
DELETE_BATCH = 1000


class S3Storage(ObjectStorage):
    """An S3-compatible service at ``endpoint_url`` (None or "" = AWS S3 itself), reached with
    ``timeouts`` (seconds; default 5 s to connect, 30 s for an answer). ``client`` may be passed
    instead (tests)."""

    def __init__(self, endpoint_url: str | None = None, *, client: Any = None,
                 timeouts: EndpointTimeouts = EndpointTimeouts()) -> None:
        self.endpoint_url = endpoint_url or None
        if client is None:
            session = boto3.session.Session()
            config = client_config(timeouts, s3_path_style=bool(self.endpoint_url))
            client = session.client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=session.region_name or "us-east-1",
                config=config,
            )
        self._client = client

    def _error(self, exc: Exception, bucket: str, key: str | None = None) -> StorageError:
        if isinstance(exc, botocore.exceptions.ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code == "NoSuchBucket":
                return NoSuchBucket(bucket)
            if code in ("NoSuchKey", "404") and key is not None:
                return NoSuchKey(bucket, key)
            if code in _TRANSIENT_CODES or status >= 500:
                return StorageUnavailable(f"{code}: {exc}", code if code.isalnum() else "ServiceUnavailable")
            return StorageError(f"{code}: {exc}")
        if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionError,
                            botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError)):
            return StorageUnavailable(str(exc), unreachable_code(exc))
        return StorageError(str(exc))

    def bucket_exists(self, bucket: str) -> bool:
        if not bucket:
            return False
        try:
            self._client.head_bucket(Bucket=bucket)
            return True
        except botocore.exceptions.ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if status == 404 or code in ("404", "NoSuchBucket"):
                return False
            raise self._error(exc, bucket) from exc
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:
            raise self._error(exc, bucket) from exc

    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=bytes(body), Metadata=dict(metadata))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error(exc, bucket, key) from exc

    def get_object(self, bucket: str, key: str) -> StoredObject:
        try:
            answer = self._client.get_object(Bucket=bucket, Key=key)
            body = answer["Body"].read()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error(exc, bucket, key) from exc
        return StoredObject(body, {k.lower(): v for k, v in answer.get("Metadata", {}).items()})

    def read_object(self, bucket: str, key: str) -> bytes:
        """The object's body. At an S3-compatible endpoint (path-style URLs) one GET signed by
        botocore's S3 SigV4 signer (``S3SigV4Auth``) with the client's credentials and Region and
        sent on the client's own connection pool (timeouts, proxies, TLS settings), without the
        rest of botocore's request and response handling (parameter validation, endpoint rules,
        event hooks, header parsing): about half the client CPU per object. Anything but a whole
        200 answer (an error status, a short body, a connection error) is asked again through
        :meth:`get_object`, whose retries and error mapping answer it. Without an endpoint URL
        (AWS S3 itself), or for a client that signs nothing: :meth:`get_object`. Raises what
        :meth:`get_object` raises."""
        if self.endpoint_url is None or not bucket or type(self).get_object is not S3Storage.get_object:
            return self.get_object(bucket, key).body
        credentials = getattr(self._client._request_signer, "_credentials", None)
        if credentials is None:
            return self.get_object(bucket, key).body
        try:
            frozen = credentials.get_frozen_credentials()
            if not frozen.access_key or not frozen.secret_key:
                return self.get_object(bucket, key).body
            url = f"{self.endpoint_url.rstrip('/')}/{percent_encode(bucket)}/{percent_encode(key, safe='/~')}"
            request = botocore.awsrequest.AWSRequest("GET", url)
            botocore.auth.S3SigV4Auth(frozen, "s3", self._client.meta.region_name).add_auth(request)
            answer = self._client._endpoint.http_session.send(request.prepare())
            body = answer.content
            length = answer.headers.get("content-length")
            if answer.status_code == 200 and length is not None and int(length) == len(body):
                return body
        except (botocore.exceptions.BotoCoreError, ValueError):
            pass
        return self.get_object(bucket, key).body

    def head_object(self, bucket: str, key: str) -> dict[str, str]:
        try:
            answer = self._client.head_object(Bucket=bucket, Key=key)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            if isinstance(exc, botocore.exceptions.ClientError) and exc.response.get("Error", {}).get("Code") == "404":
                if not self.bucket_exists(bucket):  # HEAD answers a bare 404 for both
                    raise NoSuchBucket(bucket) from exc
                raise NoSuchKey(bucket, key) from exc
            raise self._error(exc, bucket, key) from exc
        return {k.lower(): v for k, v in answer.get("Metadata", {}).items()}

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        keys: list[str] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error(exc, bucket) from exc
        return sorted(keys, key=lambda k: k.encode("utf-8"))

    def list_object_sizes(self, bucket: str, prefix: str = "") -> dict[str, int]:
        sizes: dict[str, int] = {}
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                sizes.update((obj["Key"], int(obj["Size"])) for obj in page.get("Contents", []))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error(exc, bucket) from exc
        return sizes

    def object_size(self, bucket: str, key: str) -> int:
        try:
            return int(self._client.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            if isinstance(exc, botocore.exceptions.ClientError) and exc.response.get("Error", {}).get("Code") == "404":
                if not self.bucket_exists(bucket):
                    raise NoSuchBucket(bucket) from exc
                raise NoSuchKey(bucket, key) from exc
            raise self._error(exc, bucket, key) from exc

    def put_file(self, bucket: str, key: str, path: Path, metadata: dict[str, str]) -> None:
        """One PUT with ``Content-MD5`` (the service refuses a body that arrived damaged) below
        :data:`MULTIPART_THRESHOLD`; a multipart upload (boto3's managed transfer) from there on."""
        path = Path(path)
        try:
            if path.stat().st_size < MULTIPART_THRESHOLD:
                md5 = hashlib.md5()
                with path.open("rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        md5.update(chunk)
                    f.seek(0)
                    self._client.put_object(Bucket=bucket, Key=key, Body=f, Metadata=dict(metadata),
                                            ContentMD5=base64.b64encode(md5.digest()).decode())
            else:
                self._client.upload_file(str(path), bucket, key, ExtraArgs={"Metadata": dict(metadata)},
                                         Config=TransferConfig(multipart_threshold=MULTIPART_THRESHOLD,
                                                               multipart_chunksize=MULTIPART_THRESHOLD))
        except boto3.exceptions.S3UploadFailedError as exc:  # the managed transfer wraps the ClientError
            cause = exc.__context__
            if isinstance(cause, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
                raise self._error(cause, bucket, key) from exc
            raise StorageUnavailable(str(exc)) from exc
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error(exc, bucket, key) from exc

    def get_file(self, bucket: str, key: str, dest: Path) -> None:
        try:
            answer = self._client.get_object(Bucket=bucket, Key=key)
            with open(dest, "wb") as out:
                for chunk in answer["Body"].iter_chunks(1 << 20):
                    out.write(chunk)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error(exc, bucket, key) from exc

    def delete_objects(self, bucket: str, keys: list[str]) -> None:
        for i in range(0, len(keys), DELETE_BATCH):
            batch = keys[i:i + DELETE_BATCH]
            try:
                answer = self._client.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise self._error(exc, bucket) from exc
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                code = str(first.get("Code", ""))
                message = f"{code}: {first.get('Key')}: {first.get('Message', '')} ({len(errors)} objects not deleted)"
                if code in _TRANSIENT_CODES:
                    raise StorageUnavailable(message, code)
                raise StorageError(message)

    def close(self) -> None:
        self._client.close()
