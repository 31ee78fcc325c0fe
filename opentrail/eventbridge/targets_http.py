"""API destinations: the HTTP request EventBridge makes for a target (EventBridge User Guide, "API
destinations"; API Reference, "HttpParameters", "CreateConnection").

- URL: the destination's InvocationEndpoint, each ``*`` replaced by the next of the target's
  HttpParameters.PathParameterValues; query string: the target's QueryStringParameters, then the
  connection's InvocationHttpParameters.QueryStringParameters (the connection's win).
- Headers: ``Content-Type: application/json; charset=utf-8``, ``User-Agent:
  Amazon/EventBridge/ApiDestinations``, the target's HeaderParameters, the connection's
  HeaderParameters, then the authorization: BASIC -> ``Authorization: Basic``, API_KEY -> the key's
  header, OAUTH_CLIENT_CREDENTIALS -> ``Authorization: Bearer <token>``, the token fetched from the
  AuthorizationEndpoint with the client id and secret as Basic credentials plus the
  OAuthHttpParameters (body parameters form-encoded), kept until ``expires_in`` or a 401/407
  answer.
- Body: the target's input; the connection's BodyParameters are added to a JSON object body. No
  body for GET and HEAD.
- At most InvocationRateLimitPerSecond requests per second per destination (a token bucket;
  a request waits for its token).
- Only hosts ``--webhook-allow`` allows (:class:`opentrail.eventbridge.egress.EgressPolicy`); the
  request goes to the address the check resolved (Host header and TLS server name kept), so a
  second DNS answer cannot redirect it. A forbidden host is not invoked (``NO_PERMISSIONS``).
- Answers: 2xx delivered; 429 (``THROTTLING``) and 5xx (``ERROR_FROM_TARGET``) retried, no sooner
  than a ``Retry-After`` in seconds (a negative one stops the retries); timeouts (``TIMEOUT``) and
  connection failures (``CONNECTION_FAILURE``) retried; 1xx, 3xx and other 4xx not retried
  (``ERROR_FROM_TARGET``). Redirects are not followed.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from ..endpoints import EndpointTimeouts
from .bus_state import Delivery
from .egress import EgressPolicy, EndpointNotAllowed, Resolver
from .model import ApiDestinationConfig, ConnectionAuth, RuleCatalog
from .targets import DELIVERED, Outcome, failed

USER_AGENT = "Amazon/EventBridge/ApiDestinations"
CONTENT_TYPE = "application/json; charset=utf-8"
#: EventBridge gives an API destination at most 5 seconds to answer.
MAX_REQUEST_S = 5.0


class TokenBucket:
    """``rate`` tokens a second, at most ``rate`` saved (at least one). :meth:`take` waits (with
    ``sleep``) until a token is there; thread-safe (each caller reserves its token)."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.rate = max(float(rate), 0.001)
        self._capacity = max(self.rate, 1.0)
        self._tokens = self._capacity
        self._at = clock()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take a token; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


def _pairs(params: Mapping[str, Any] | None, key: str) -> list[tuple[str, str]]:
    """A connection's ``[{Key, Value}...]`` list, or a target's ``{name: value}`` map, as pairs."""
    if not params:
        return []
    value = params.get(key)
    if isinstance(value, Mapping):
        return [(str(k), str(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [(str(p.get("Key", "")), str(p.get("Value", ""))) for p in value if isinstance(p, Mapping)]
    return []


def invocation_url(endpoint: str, path_values: list[str]) -> str:
    """``endpoint`` with each ``*`` replaced by the next path parameter value."""
    parts = endpoint.split("*")
    out = [parts[0]]
    for i, rest in enumerate(parts[1:]):
        out.append(path_values[i] if i < len(path_values) else "*")
        out.append(rest)
    return "".join(out)


#: The most of an answer's body read (an OAuth token answer; a webhook's body is not used).
MAX_ANSWER_BYTES = 64 * 1024


class Answer:
    """What an endpoint answered: status, reason phrase, headers and at most
    :data:`MAX_ANSWER_BYTES` of the body."""

    __slots__ = ("status", "reason", "headers", "body")

    def __init__(self, status: int, reason: str, headers: httpx.Headers, body: bytes) -> None:
        self.status, self.reason, self.headers, self.body = status, reason, headers, body


class OAuthFailed(ValueError):
    """The authorization endpoint gave no token (retried: it may come back)."""


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


class ApiDestinations:
    """Calls API destinations (module docstring). ``resolver`` replaces DNS for tests;
    ``transport`` replaces httpx's (tests)."""

    def __init__(self, catalog: RuleCatalog, policy: EgressPolicy, timeouts: EndpointTimeouts = EndpointTimeouts(),
                 *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 resolver: Resolver | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self._catalog, self._policy, self._resolver = catalog, policy, resolver
        read_s = min(timeouts.read_s, MAX_REQUEST_S)
        self._http = httpx.Client(timeout=httpx.Timeout(read_s, connect=min(timeouts.connect_s, MAX_REQUEST_S)),
                                  follow_redirects=False, trust_env=False, transport=transport)
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _bucket(self, dest: ApiDestinationConfig) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(dest.arn)
            if bucket is None or bucket.rate != max(float(dest.rate_limit_per_s), 0.001):
                bucket = self._buckets[dest.arn] = TokenBucket(dest.rate_limit_per_s, self._clock, self._sleep)
            return bucket

    def _request(self, method: str, url: str, *, headers: list[tuple[str, str]], params: list[tuple[str, str]],
                 content: bytes | None) -> Answer:
        """Send to the address the egress policy allows (raises EndpointNotAllowed). The whole
        exchange takes at most :data:`MAX_REQUEST_S` plus one read timeout (an endpoint that drips its
        body byte by byte is cut off: httpx.ReadTimeout), and at most :data:`MAX_ANSWER_BYTES` of the
        body are read."""
        deadline = time.monotonic() + MAX_REQUEST_S
        address = self._policy.check_url(url, self._resolver)
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{address}]" if ":" in address else address
        if parts.port is not None:
            netloc += f":{parts.port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        sent = [(k, v) for k, v in headers if k.lower() != "host"]
        sent.append(("Host", parts.netloc.rsplit("@", 1)[-1]))
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        request = self._http.build_request(method, target, headers=sent, params=tuple(params) or None, content=content,
                                           extensions=extensions)
        response = self._http.send(request, stream=True)
        try:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= MAX_ANSWER_BYTES:
                    break
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the endpoint took longer than the request's deadline", request=request)
            return Answer(response.status_code, response.reason_phrase, response.headers, bytes(body[:MAX_ANSWER_BYTES]))
        finally:
            response.close()

    def _oauth_token(self, auth: ConnectionAuth, *, renew: bool = False) -> str:
        """A Bearer token for ``auth`` (cached until it expires; ``renew`` fetches a new one).
        Raises EndpointNotAllowed, httpx errors, or OAuthFailed when the answer holds no token."""
        now = self._clock()
        with self._lock:
            cached = self._tokens.get(auth.arn)
        if cached is not None and not renew and cached[1] > now:
            return cached[0]
        oauth = auth.oauth or {}
        client = oauth.get("ClientParameters") or {}
        params = oauth.get("OAuthHttpParameters") or {}
        secret = f"{client.get('ClientID', '')}:{client.get('ClientSecret', '')}".encode()
        headers = [("Authorization", "Basic " + base64.b64encode(secret).decode()),
                   ("User-Agent", USER_AGENT)] + _pairs(params, "HeaderParameters")
        body_pairs = _pairs(params, "BodyParameters")
        content = None
        if body_pairs:
            content = str(httpx.QueryParams(tuple(body_pairs))).encode()
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        method = str(oauth.get("HttpMethod", "POST")).upper()
        response = self._request(method, str(oauth.get("AuthorizationEndpoint", "")), headers=headers,
                                 params=_pairs(params, "QueryStringParameters"), content=content)
        if not 200 <= response.status < 300:
            raise OAuthFailed(f"the authorization endpoint answered {response.status}")
        try:
            answer = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            raise OAuthFailed("the authorization endpoint's answer is not JSON") from None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise OAuthFailed("the authorization endpoint's answer holds no access_token")
        expires = answer.get("expires_in")
        ttl = float(expires) if isinstance(expires, (int, float)) and expires > 0 else 3600.0
        with self._lock:
            self._tokens[auth.arn] = (token, now + max(ttl - 10.0, 1.0))
        return token

    def _auth_headers(self, auth: ConnectionAuth, renew: bool) -> list[tuple[str, str]]:
        kind = auth.authorization_type
        if kind == "BASIC" and auth.basic is not None:
            user, password = auth.basic
            return [("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())]
        if kind == "API_KEY" and auth.api_key is not None:
            return [auth.api_key]
        if kind == "OAUTH_CLIENT_CREDENTIALS":
            return [("Authorization", "Bearer " + self._oauth_token(auth, renew=renew))]
        return []

    def send(self, delivery: Delivery) -> Outcome:
        target = delivery.target
        dest = self._catalog.api_destination(target.arn)
        if dest is None:
            return failed("NO_RESOURCE", f"the API destination {target.arn} does not exist", invoked=False)
        auth = self._catalog.connection_auth(dest.connection_arn)
        if auth is None:
            return failed("NO_RESOURCE", f"the connection {dest.connection_arn} does not exist", invoked=False)
        target_params = target.http_parameters or {}
        conn_params = auth.http_parameters or {}
        path_values = [str(v) for v in (target_params.get("PathParameterValues") or [])]
        url = invocation_url(dest.invocation_endpoint, path_values)
        method = dest.http_method.upper()
        content: bytes | None = delivery.payload
        body_pairs = _pairs(conn_params, "BodyParameters")
        if body_pairs and content is not None:
            try:
                body = orjson.loads(content)
            except orjson.JSONDecodeError:
                body = None
            if isinstance(body, dict):
                body.update(body_pairs)
                content = orjson.dumps(body)
        if method in ("GET", "HEAD"):
            content = None
        query = dict(_pairs(target_params, "QueryStringParameters"))
        query.update(_pairs(conn_params, "QueryStringParameters"))
        self._bucket(dest).take()
        renew = False
        for _ in range(2):  # a second time only after an OAuth token was refused (401/407)
            try:
                headers = [("Content-Type", CONTENT_TYPE), ("User-Agent", USER_AGENT)]
                headers += _pairs(target_params, "HeaderParameters") + _pairs(conn_params, "HeaderParameters")
                headers += self._auth_headers(auth, renew)
                response = self._request(method, url, headers=headers, params=list(query.items()), content=content)
            except EndpointNotAllowed as exc:
                return failed("NO_PERMISSIONS", str(exc), invoked=False)
            except httpx.TimeoutException:
                return failed("TIMEOUT", f"{url} did not answer in time", retryable=True)
            except (httpx.HTTPError, OSError) as exc:
                return failed("CONNECTION_FAILURE", f"{url}: {exc or type(exc).__name__}", retryable=True)
            except OAuthFailed as exc:
                return failed("NO_PERMISSIONS", f"OAuth: {exc}", retryable=True)
            except ValueError as exc:  # the request cannot be made (a port out of range, a header httpx refuses)
                return failed("INVALID_PARAMETER", f"{url}: {exc}", invoked=False)
            status = response.status
            if status in (401, 407) and auth.authorization_type == "OAUTH_CLIENT_CREDENTIALS" and not renew:
                renew = True
                continue
            break
        if 200 <= status < 300:
            return DELIVERED
        reason = f"{url} answered {status} {response.reason}".rstrip()
        if status == 429 or status >= 500:
            after = _retry_after(response)
            return failed("THROTTLING" if status == 429 else "ERROR_FROM_TARGET", reason, retryable=True,
                          retry_after_s=after if after is not None and after >= 0 else None,
                          stop_retrying=after is not None and after < 0)
        return failed("ERROR_FROM_TARGET", reason)
