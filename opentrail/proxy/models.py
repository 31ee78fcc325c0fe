"""The botocore service models, indexed the way a captured request names its service.

A SigV4 credential scope names a *signing name* (``s3``, ``iam``, ``dynamodb``); a JSON-protocol
request names a *target prefix* in ``X-Amz-Target`` (``DynamoDB_20120810``, ``AmazonSQS``). Most
services are found by loading the model whose name equals the signing name; the rest by one scan
over every model's metadata (``signingName``/``endpointPrefix``/``targetPrefix``), done once, on
the first request that needs it, in the proxy's record-building thread.

REST operations are matched by :class:`RestRoutes`: method, the ``requestUri`` template
(``/{Bucket}/{Key+}?uploads``) and the input members the model marks *required* in the query
string or headers (``UploadPart`` needs ``partNumber`` and ``uploadId``; ``CopyObject`` needs
``x-amz-copy-source``); the candidate with the most such constraints satisfied wins.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel

from ..api.targets import accepted_target_prefixes

_LABEL_RE = re.compile(r"\{([^}]+)\}")
#: Signing names whose botocore model has another name (spares the scan over every model).
_SIGNING_ALIASES = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions", "es": "opensearch",
                    "execute-api": "apigateway", "elasticmapreduce": "emr", "elasticfilesystem": "efs"}
#: Literal query keys in request URIs that SDKs do not always send (botocore adds ``x-id``).
_OPTIONAL_QUERY_KEYS = frozenset({"x-id"})


@dataclass(frozen=True, slots=True)
class Route:
    """One REST operation: ``method``, the compiled path ``pattern`` (named groups = URI labels,
    keyed by the regex-safe group names in ``labels``), literal query keys/values ``query`` and
    required query/header members ``required_query``/``required_headers`` (lower-case)."""

    operation: str
    method: str
    pattern: re.Pattern[str]
    labels: Mapping[str, str]
    query: Mapping[str, str | None]
    required_query: frozenset[str]
    required_headers: frozenset[str]
    literal_chars: int


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A matched REST operation and its URI labels (percent-decoded), by label name."""

    operation: str
    labels: dict[str, str]


def _compile(op: OperationModel) -> Route:
    uri = op.http.get("requestUri", "/")
    path, _, query_text = uri.partition("?")
    query: dict[str, str | None] = {}
    for part in filter(None, query_text.split("&")):
        k, sep, v = part.partition("=")
        if k not in _OPTIONAL_QUERY_KEYS:
            query[k] = v if sep else None
    labels: dict[str, str] = {}
    regex = ""
    pos = 0
    for n, m in enumerate(_LABEL_RE.finditer(path)):
        regex += re.escape(path[pos : m.start()])
        name = m.group(1)
        greedy = name.endswith("+")
        name = name.rstrip("+")
        group = f"g{n}"
        labels[group] = name
        regex += f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)"
        pos = m.end()
    regex += re.escape(path[pos:])
    literal = len(_LABEL_RE.sub("", path))
    if path.endswith("/") and len(path) > 1:
        regex = regex[: -1] + "/?"
    req_q: set[str] = set()
    req_h: set[str] = set()
    shape = op.input_shape
    if shape is not None:
        required = set(shape.required_members)
        for name, member in shape.members.items():
            if name not in required:
                continue
            loc = member.serialization.get("location")
            where = member.serialization.get("name", name)
            if loc == "querystring":
                req_q.add(where)
            elif loc == "header":
                req_h.add(where.lower())
    return Route(op.name, op.http.get("method", "POST"), re.compile(regex + r"\Z"), labels, query,
                 frozenset(req_q), frozenset(req_h), literal)


class RestRoutes:
    """All REST routes of one service model."""

    def __init__(self, model: ServiceModel) -> None:
        self._routes = [_compile(model.operation_model(name)) for name in model.operation_names]

    def match(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> RouteMatch | None:
        """The best route for a request: ``path`` still percent-encoded, ``query`` decoded keys,
        ``headers`` with lower-case names. None when no operation fits."""
        best: tuple[tuple[int, int, int], Route, re.Match[str]] | None = None
        for route in self._routes:
            if route.method != method:
                continue
            m = route.pattern.match(path)
            if m is None:
                continue
            ok = True
            for k, v in route.query.items():
                if k not in query or (v is not None and query[k] != v):
                    ok = False
                    break
            if not ok or not route.required_query.issubset(query) or not route.required_headers.issubset(headers):
                continue
            score = (len(route.query) + len(route.required_query) + len(route.required_headers),
                     route.literal_chars, -len(route.labels))
            if best is None or score > best[0]:
                best = (score, route, m)
        if best is None:
            return None
        _, route, m = best
        return RouteMatch(route.operation, {route.labels[g]: unquote(v) for g, v in m.groupdict().items()})


class ModelIndex:
    """Service models by signing name and target prefix, REST routes per service. Thread-safe."""

    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        self._lock = threading.Lock()
        self._models: dict[str, ServiceModel] = {}
        self._routes: dict[str, RestRoutes] = {}
        self._by_signing: dict[str, list[str]] | None = None
        self._by_target: dict[str, str] | None = None

    def model(self, name: str) -> ServiceModel | None:
        """The model of service ``name`` (botocore's name: ``s3``, ``dynamodb``), or None."""
        with self._lock:
            hit = self._models.get(name)
            if hit is not None:
                return hit
        try:
            model = self._session.get_service_model(name)
        except Exception:
            return None
        with self._lock:
            self._models[name] = model
        return model

    def _scan(self) -> None:
        with self._lock:
            if self._by_signing is not None:
                return
        loader = self._session.get_component("data_loader")
        by_signing: dict[str, list[str]] = {}
        by_target: dict[str, str] = {}
        for name in loader.list_available_services("service-2"):
            try:
                meta = loader.load_service_model(name, "service-2").get("metadata", {})
            except Exception:
                continue
            for key in {meta.get("signingName"), meta.get("endpointPrefix")} - {None}:
                by_signing.setdefault(key, []).append(name)
            if meta.get("targetPrefix"):
                for prefix in accepted_target_prefixes(meta["targetPrefix"]):
                    by_target.setdefault(prefix, name)
        with self._lock:
            self._by_signing, self._by_target = by_signing, by_target

    def for_target(self, target_prefix: str, signing_name: str | None) -> ServiceModel | None:
        """The JSON-protocol service that answers ``target_prefix``: its model's ``targetPrefix``, or
        the Smithy service shape name Smithy-generated SDKs send instead (``CloudTrail_20131101``
        for ``com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101``; see
        :mod:`opentrail.api.targets`)."""
        guess = target_prefix.rsplit("_", 1)[0].lower() if "_" in target_prefix else None
        for name in (signing_name, guess):
            if name:
                model = self.model(name)
                declared = model.metadata.get("targetPrefix") if model is not None else None
                if declared and target_prefix in accepted_target_prefixes(declared):
                    return model
        self._scan()
        assert self._by_target is not None
        name = self._by_target.get(target_prefix)
        return self.model(name) if name else None

    def for_signing_name(self, signing_name: str) -> ServiceModel | None:
        """The service signed as ``signing_name``: the model of that name, else the first model
        whose signingName/endpointPrefix it is."""
        model = self.model(_SIGNING_ALIASES.get(signing_name, signing_name))
        if model is not None:
            return model
        self._scan()
        assert self._by_signing is not None
        names = self._by_signing.get(signing_name)
        return self.model(names[0]) if names else None

    def routes(self, model: ServiceModel) -> RestRoutes:
        """The REST routes of ``model`` (compiled once)."""
        name = model.service_name
        with self._lock:
            hit = self._routes.get(name)
        if hit is None:
            hit = RestRoutes(model)
            with self._lock:
                self._routes[name] = hit
        return hit
