"""Connections and API destinations of :class:`~opentrail.eventbridge.rules_service.RulesService`
(a mixin: it shares the service's store, staging, clock, secret box and egress policy).

A connection's secrets are sealed (:mod:`.secrets`) and never returned: DescribeConnection shows
its public parameters (:func:`.connections.public_parameters`); only :meth:`connection_auth` (the
data plane's) opens them. API_KEY and BASIC connections are AUTHORIZED at once; an
OAUTH_CLIENT_CREDENTIALS connection is answered AUTHORIZING by CreateConnection/UpdateConnection
(as AWS does while it fetches a token) and kept AUTHORIZED: the dispatcher fetches its token when it
first calls. An API destination is ACTIVE (its connection is always authorized).

Endpoints (InvocationEndpoint, the OAuth AuthorizationEndpoint) must be http(s) URLs whose host
``--webhook-allow`` does not plainly forbid (:meth:`EgressPolicy.host_allowed_statically`; a host
name is checked again when the dispatcher resolves it). Refusals are ValidationException with
opentrail's text (AWS calls any public HTTPS endpoint).
"""

from __future__ import annotations

import logging
import secrets as random
import string
import uuid
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import orjson

from .catalog import AUTHORIZED, DEFAULT_RATE_LIMIT_PER_S, ApiDestination, Connection
from .connections import connection_auth, endpoints, new_parameters, public_parameters, updated_parameters
from .egress import EgressPolicy
from .errors import AlreadyExists, NotFound, ValidationError
from .model import ApiDestinationConfig, ConnectionAuth
from .rules_store import SqliteRulesStore
from .secrets import SecretBox, SecretUnreadable

log = logging.getLogger("opentrail.eventbridge")

_SUFFIX_ALPHABET = string.ascii_letters + string.digits
#: The largest InvocationRateLimitPerSecond (a Java int).
MAX_RATE_LIMIT_PER_S = 2**31 - 1


def _name_of_arn(arn: str) -> str:
    """The name part of ``...:connection/<name>/<uuid>`` (the whole ARN when it has none)."""
    parts = arn.split(":", 5)[-1].split("/")
    return parts[1] if len(parts) == 3 else arn


class DestinationsMixin:
    """Connections and API destinations (see the module docstring)."""

    _store: SqliteRulesStore
    _box: SecretBox
    _egress: EgressPolicy

    def _apply(self, change: Callable[[], None]) -> None:  # provided by RulesService
        raise NotImplementedError

    def _now(self) -> float:  # provided by RulesService
        raise NotImplementedError

    def _check_endpoint(self, url: str, member: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            host, parts = None, None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise ValidationError(f"Parameter {member} is not valid. Reason: {url} is not an http:// or https:// URL.")
        if not self._egress.host_allowed_statically(url):
            raise ValidationError(f"Parameter {member} is not valid. Reason: the host {host} is not allowed by "
                                  "--webhook-allow (OPENTRAIL_WEBHOOK_ALLOW).")

    @staticmethod
    def _check_rate(rate_limit_per_s: int | None) -> None:
        """InvocationRateLimitPerSecond is a Java int on AWS (the text is opentrail's)."""
        if rate_limit_per_s is not None and rate_limit_per_s > MAX_RATE_LIMIT_PER_S:
            raise ValidationError(f"Parameter InvocationRateLimitPerSecond is not valid. Reason: it must be at most "
                                  f"{MAX_RATE_LIMIT_PER_S}.")

    # --- connections -------------------------------------------------------------------------

    def connection(self, account_id: str, region: str, name: str) -> Connection:
        """The connection, or NotFound."""
        found = self._store.connection(account_id, region, name)
        if found is None:
            raise NotFound.connection(name)
        return found

    def list_connections(self, account_id: str, region: str, *, prefix: str | None = None, state: str | None = None,
                         after: str = "", limit: int = 100) -> list[Connection]:
        return self._store.connections(account_id, region, prefix=prefix, state=state, after=after, limit=limit)

    def _seal(self, arn: str, full: Mapping[str, Any]) -> bytes:
        return self._box.seal(orjson.dumps(dict(full)), arn)

    def create_connection(self, account_id: str, region: str, name: str, authorization_type: str,
                          auth_parameters: Mapping[str, Any], *, description: str | None = None) -> Connection:
        """CreateConnection. Raises AlreadyExists, ValidationError (parameters that do not fit the
        authorization type, a forbidden OAuth endpoint, private connectivity)."""
        if self._store.connection(account_id, region, name) is not None:
            raise AlreadyExists.connection(name)
        full = new_parameters(authorization_type, auth_parameters)
        for url in endpoints(full):
            self._check_endpoint(url, "AuthParameters.OAuthParameters.AuthorizationEndpoint")
        now = self._now()
        secret_id = f"{uuid.uuid4()}-{''.join(random.choice(_SUFFIX_ALPHABET) for _ in range(6))}"
        connection = Connection(account_id=account_id, region=region, name=name, uuid=str(uuid.uuid4()),
                                authorization_type=authorization_type, state=AUTHORIZED, description=description,
                                auth_parameters=public_parameters(full), secret_id=secret_id, creation_s=now,
                                modified_s=now, authorized_s=now)
        sealed = self._seal(connection.arn, full)
        self._apply(lambda: self._store.insert_connection(connection, sealed,
                                                          taken=lambda: AlreadyExists.connection(name)))
        return connection

    def _full_parameters(self, connection: Connection) -> dict[str, Any]:
        sealed = self._store.sealed_secrets(connection.arn)
        if sealed is None:
            raise NotFound.connection(connection.name)
        return dict(orjson.loads(self._box.open(sealed, connection.arn)))

    def update_connection(self, account_id: str, region: str, name: str, *, authorization_type: str | None = None,
                          auth_parameters: Mapping[str, Any] | None = None,
                          description: str | None = None) -> Connection:
        """UpdateConnection: the given fields replace the kept ones (:func:`.connections.updated_parameters`).
        A connection whose secrets no longer open (the key file was replaced) must be given its whole
        parameters again."""
        current = self.connection(account_id, region, name)
        try:
            kept = self._full_parameters(current)
        except SecretUnreadable:
            kept = {}
        kind, full = updated_parameters(current.authorization_type, kept, authorization_type, auth_parameters)
        return self._store_update(current, kind, full, description)

    def _store_update(self, current: Connection, kind: str, full: Mapping[str, Any],
                      description: str | None) -> Connection:
        for url in endpoints(full):
            self._check_endpoint(url, "AuthParameters.OAuthParameters.AuthorizationEndpoint")
        now = self._now()
        updated = Connection(account_id=current.account_id, region=current.region, name=current.name,
                             uuid=current.uuid, authorization_type=kind, state=AUTHORIZED,
                             description=description if description is not None else current.description,
                             auth_parameters=public_parameters(full), secret_id=current.secret_id,
                             creation_s=current.creation_s, modified_s=now, authorized_s=now)
        sealed = self._seal(updated.arn, full)
        self._apply(lambda: self._store.update_connection(updated, sealed))
        return updated

    def delete_connection(self, account_id: str, region: str, name: str) -> Connection:
        """DeleteConnection (its API destinations stay; they cannot be delivered to until it is made
        again). Returns the connection as it was."""
        connection = self.connection(account_id, region, name)
        self._apply(lambda: self._store.delete_connection(connection.arn))
        return connection

    # --- API destinations --------------------------------------------------------------------

    def api_destination_named(self, account_id: str, region: str, name: str) -> ApiDestination:
        found = self._store.api_destination(account_id, region, name)
        if found is None:
            raise NotFound.api_destination(name)
        return found

    def list_api_destinations(self, account_id: str, region: str, *, prefix: str | None = None,
                              connection_arn: str | None = None, after: str = "",
                              limit: int = 100) -> list[ApiDestination]:
        return self._store.api_destinations(account_id, region, prefix=prefix, connection_arn=connection_arn,
                                            after=after, limit=limit)

    def _connection_of(self, account_id: str, region: str, arn: str) -> Connection:
        found = self._store.connection_by_arn(arn)
        if found is None or (found.account_id, found.region) != (account_id, region):
            raise NotFound.connection(_name_of_arn(arn))
        return found

    def create_api_destination(self, account_id: str, region: str, name: str, *, connection_arn: str,
                               invocation_endpoint: str, http_method: str, rate_limit_per_s: int | None = None,
                               description: str | None = None) -> ApiDestination:
        """CreateApiDestination. Raises AlreadyExists, NotFound (the connection), ValidationError (the
        endpoint)."""
        if self._store.api_destination(account_id, region, name) is not None:
            raise AlreadyExists.api_destination(name)
        self._connection_of(account_id, region, connection_arn)
        self._check_endpoint(invocation_endpoint, "InvocationEndpoint")
        self._check_rate(rate_limit_per_s)
        now = self._now()
        destination = ApiDestination(account_id=account_id, region=region, name=name, uuid=str(uuid.uuid4()),
                                     connection_arn=connection_arn, invocation_endpoint=invocation_endpoint,
                                     http_method=http_method,
                                     rate_limit_per_s=rate_limit_per_s or DEFAULT_RATE_LIMIT_PER_S,
                                     description=description, creation_s=now, modified_s=now)
        self._apply(lambda: self._store.put_api_destination(
            destination, taken=lambda: AlreadyExists.api_destination(name)))
        return destination

    def update_api_destination(self, account_id: str, region: str, name: str, *, connection_arn: str | None = None,
                               invocation_endpoint: str | None = None, http_method: str | None = None,
                               rate_limit_per_s: int | None = None, description: str | None = None) -> ApiDestination:
        """UpdateApiDestination: the given fields replace the kept ones."""
        current = self.api_destination_named(account_id, region, name)
        if connection_arn is not None:
            self._connection_of(account_id, region, connection_arn)
        if invocation_endpoint is not None:
            self._check_endpoint(invocation_endpoint, "InvocationEndpoint")
        self._check_rate(rate_limit_per_s)
        updated = ApiDestination(
            account_id=account_id, region=region, name=name, uuid=current.uuid,
            connection_arn=connection_arn or current.connection_arn,
            invocation_endpoint=invocation_endpoint or current.invocation_endpoint,
            http_method=http_method or current.http_method,
            rate_limit_per_s=rate_limit_per_s or current.rate_limit_per_s,
            description=description if description is not None else current.description,
            creation_s=current.creation_s, modified_s=self._now())
        self._apply(lambda: self._store.put_api_destination(updated))
        return updated

    def delete_api_destination(self, account_id: str, region: str, name: str) -> None:
        destination = self.api_destination_named(account_id, region, name)
        self._apply(lambda: self._store.delete_api_destination(destination.arn))

    # --- RuleCatalog -------------------------------------------------------------------------

    def api_destination(self, arn: str) -> ApiDestinationConfig | None:
        """The API destination with this ARN, for the dispatcher; None when there is none."""
        found = self._store.api_destination_by_arn(arn)
        if found is None:
            return None
        return ApiDestinationConfig(arn=found.arn, name=found.name, connection_arn=found.connection_arn,
                                    invocation_endpoint=found.invocation_endpoint, http_method=found.http_method,
                                    rate_limit_per_s=found.rate_limit_per_s)

    def connection_auth(self, arn: str) -> ConnectionAuth | None:
        """The decrypted authorization of the connection with this ARN; None when there is none or its
        secrets do not open (logged, without them)."""
        found = self._store.connection_by_arn(arn)
        if found is None:
            return None
        try:
            full = self._full_parameters(found)
        except (SecretUnreadable, NotFound) as exc:
            log.warning("connection %s: its secrets cannot be read (%s); update it with its credentials",
                        arn, type(exc).__name__)
            return None
        return connection_auth(found.arn, found.authorization_type, full)
