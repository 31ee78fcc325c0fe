"""Durable storage of the EventBridge control plane: ``<data-dir>/eventbridge.db`` (SQLite, WAL,
``synchronous=FULL``).

Tables: ``rules`` (one row per rule of an account's default event bus in a Region, its tags as a
JSON object), ``targets`` (each Target object as PutTargets gave it, JSON, with its place in the
rule), ``connections`` (the public auth parameters as JSON and the sealed secrets as a blob,
:mod:`.secrets`), ``api_destinations`` and ``resource_tags`` (the default event bus's tags, by ARN).

Writes go through one connection under one lock, one transaction each; reads use a connection per
thread (WAL readers see the last commit).

The file may be a schema of the shared PostgreSQL database (:mod:`opentrail.state_db`), written by
several nodes: :meth:`SqliteRulesStore.changes` moves when another connection (node) committed, so
the rules compiled for the event bus follow.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import orjson

from ..state_db import Guard, ThreadReaders, open_state_db, write_statements
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from .catalog import ApiDestination, Connection, Rule

#: The database file in the data directory.
EVENTBRIDGE_DB = "eventbridge.db"


_RULE_COLUMNS = ("account_id, region, name, state, event_pattern, schedule_expression, description, role_arn, "
                 "created_by, since_seq, tags")
SELECT_RULE = f"SELECT {_RULE_COLUMNS} FROM rules WHERE account_id = ? AND region = ? AND name = ?"
#: (An optional parameter is tested as ``CAST(:p AS TEXT) IS NULL``: PostgreSQL must know its type.)
SELECT_RULES = f"""SELECT {_RULE_COLUMNS} FROM rules WHERE account_id = :account AND region = :region
    AND name > :after AND (CAST(:prefix AS TEXT) IS NULL OR substr(name, 1, length(:prefix)) = :prefix)
    ORDER BY name LIMIT :limit"""
SELECT_ALL_RULES = f"SELECT {_RULE_COLUMNS} FROM rules ORDER BY account_id, region, name"
COUNT_RULES = "SELECT count(*) FROM rules WHERE account_id = ? AND region = ?"
RULE_OVER_LIMIT = ("SELECT NOT EXISTS (SELECT 1 FROM rules WHERE account_id = ? AND region = ? AND name = ?)"
                   " AND (SELECT count(*) FROM rules WHERE account_id = ? AND region = ?) >= ?")
DESTINATION_EXISTS = "SELECT EXISTS (SELECT 1 FROM api_destinations WHERE account_id = ? AND region = ? AND name = ?)"
UPSERT_RULE = f"""INSERT INTO rules ({_RULE_COLUMNS}) VALUES (:account_id, :region, :name, :state, :event_pattern,
    :schedule_expression, :description, :role_arn, :created_by, :since_seq, :tags)
    ON CONFLICT (account_id, region, name) DO UPDATE SET state = excluded.state,
    event_pattern = excluded.event_pattern, schedule_expression = excluded.schedule_expression,
    description = excluded.description, role_arn = excluded.role_arn, since_seq = excluded.since_seq"""
UPDATE_RULE_STATE = "UPDATE rules SET state = ?, since_seq = ? WHERE account_id = ? AND region = ? AND name = ?"
UPDATE_RULE_TAGS = "UPDATE rules SET tags = ? WHERE account_id = ? AND region = ? AND name = ?"
DELETE_RULE = ("DELETE FROM targets WHERE account_id = :account AND region = :region AND rule = :name",
               "DELETE FROM rules WHERE account_id = :account AND region = :region AND name = :name")
SELECT_TARGETS = "SELECT target FROM targets WHERE account_id = ? AND region = ? AND rule = ? ORDER BY position"
SELECT_ALL_TARGETS = "SELECT account_id, region, rule, target FROM targets ORDER BY account_id, region, rule, position"
SELECT_RULE_NAMES_BY_TARGET = """SELECT DISTINCT rule FROM targets WHERE account_id = :account AND region = :region
    AND arn = :arn AND rule > :after ORDER BY rule LIMIT :limit"""
UPSERT_TARGET = """INSERT INTO targets (account_id, region, rule, id, position, arn, target)
    VALUES (:account, :region, :rule, :id,
            (SELECT coalesce(max(position), 0) + 1 FROM targets WHERE account_id = :account AND region = :region
             AND rule = :rule), :arn, :target)
    ON CONFLICT (account_id, region, rule, id) DO UPDATE SET arn = excluded.arn, target = excluded.target"""
DELETE_TARGET = "DELETE FROM targets WHERE account_id = :account AND region = :region AND rule = :rule AND id = :id"

_CONNECTION_COLUMNS = ("account_id, region, name, uuid, authorization_type, state, description, public_parameters, "
                       "secret_id, creation_s, modified_s, authorized_s")
SELECT_CONNECTION = f"SELECT {_CONNECTION_COLUMNS} FROM connections WHERE account_id = ? AND region = ? AND name = ?"
SELECT_CONNECTION_BY_ARN = f"SELECT {_CONNECTION_COLUMNS} FROM connections WHERE arn = ?"
SELECT_SEALED = "SELECT sealed_secrets FROM connections WHERE arn = ?"
SELECT_CONNECTIONS = f"""SELECT {_CONNECTION_COLUMNS} FROM connections WHERE account_id = :account
    AND region = :region AND name > :after AND (CAST(:prefix AS TEXT) IS NULL OR substr(name, 1, length(:prefix)) = :prefix)
    AND (CAST(:state AS TEXT) IS NULL OR state = :state) ORDER BY name LIMIT :limit"""
INSERT_CONNECTION = """INSERT INTO connections (account_id, region, name, uuid, arn, authorization_type, state,
    description, public_parameters, sealed_secrets, secret_id, creation_s, modified_s, authorized_s)
    VALUES (:account_id, :region, :name, :uuid, :arn, :authorization_type, :state, :description,
    :public_parameters, :sealed_secrets, :secret_id, :creation_s, :modified_s, :authorized_s)"""
UPDATE_CONNECTION = """UPDATE connections SET authorization_type = :authorization_type, state = :state,
    description = :description, public_parameters = :public_parameters, sealed_secrets = :sealed_secrets,
    modified_s = :modified_s, authorized_s = :authorized_s WHERE arn = :arn"""
DELETE_CONNECTION = "DELETE FROM connections WHERE arn = ?"

_DESTINATION_COLUMNS = ("account_id, region, name, uuid, connection_arn, invocation_endpoint, http_method, "
                        "rate_limit_per_s, description, creation_s, modified_s")
SELECT_DESTINATION = (f"SELECT {_DESTINATION_COLUMNS} FROM api_destinations "
                      "WHERE account_id = ? AND region = ? AND name = ?")
SELECT_DESTINATION_BY_ARN = f"SELECT {_DESTINATION_COLUMNS} FROM api_destinations WHERE arn = ?"
SELECT_DESTINATIONS = f"""SELECT {_DESTINATION_COLUMNS} FROM api_destinations WHERE account_id = :account
    AND region = :region AND name > :after AND (CAST(:prefix AS TEXT) IS NULL OR substr(name, 1, length(:prefix)) = :prefix)
    AND (CAST(:connection AS TEXT) IS NULL OR connection_arn = :connection) ORDER BY name LIMIT :limit"""
UPSERT_DESTINATION = f"""INSERT INTO api_destinations ({_DESTINATION_COLUMNS}, arn) VALUES (:account_id, :region,
    :name, :uuid, :connection_arn, :invocation_endpoint, :http_method, :rate_limit_per_s, :description, :creation_s,
    :modified_s, :arn) ON CONFLICT (account_id, region, name) DO UPDATE SET connection_arn = excluded.connection_arn,
    invocation_endpoint = excluded.invocation_endpoint, http_method = excluded.http_method,
    rate_limit_per_s = excluded.rate_limit_per_s, description = excluded.description,
    modified_s = excluded.modified_s"""
DELETE_DESTINATION = "DELETE FROM api_destinations WHERE arn = ?"

SELECT_RESOURCE_TAGS = "SELECT tags FROM resource_tags WHERE arn = ?"
UPSERT_RESOURCE_TAGS = """INSERT INTO resource_tags (arn, tags) VALUES (?, ?)
    ON CONFLICT (arn) DO UPDATE SET tags = excluded.tags"""


def _rule(row: Sequence[Any], targets: Iterable[Mapping[str, Any]] = ()) -> Rule:
    account, region, name, state, pattern, schedule, description, role, created_by, since, tags = row
    return Rule(account_id=account, region=region, name=name, state=state, event_pattern=pattern,
                schedule_expression=schedule, description=description, role_arn=role, created_by=created_by,
                since_seq=since, tags=orjson.loads(tags), targets=tuple(targets))


def _connection(row: Sequence[Any]) -> Connection:
    account, region, name, uuid, kind, state, description, public, secret_id, created, modified, authorized = row
    return Connection(account_id=account, region=region, name=name, uuid=uuid, authorization_type=kind, state=state,
                      description=description, auth_parameters=orjson.loads(public), secret_id=secret_id,
                      creation_s=created, modified_s=modified, authorized_s=authorized)


def _destination(row: Sequence[Any]) -> ApiDestination:
    return ApiDestination(*row)


class SqliteRulesStore:
    """The EventBridge tables at ``path`` (see the module docstring). Safe to use from many threads;
    :meth:`close` once at the end."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._db = open_state_db(self._path)
        apply_schema(self._db, "opentrail.eventbridge", "rules")
        self._write_lock = threading.Lock()
        self._readers = ThreadReaders(self._path)
        self._watch = DataVersionWatch(self._db)
        self._changes = 0

    def _reader(self) -> sqlite3.Connection:
        return self._readers.connection()

    def close(self) -> None:
        with self._write_lock:
            self._db.close()
        self._readers.close()

    def changes(self) -> int:
        """How many times a commit of another connection (another node, or another store object on
        the same file) was noticed: looked at on every call on SQLite, at most every
        :data:`~opentrail.state_watch.PG_RECHECK_S` seconds on PostgreSQL (where this store's own
        commits count too)."""
        with self._write_lock:
            if self._watch.changed():
                self._changes += 1
            return self._changes

    def _transaction(self, statements: Sequence[tuple[str, Any]], guards: Sequence[Guard] = (),
                     taken: Callable[[], Exception] | None = None) -> None:
        with self._write_lock:
            write_statements(self._db, statements, guards=guards, on_conflict=taken)

    # --- rules and targets -------------------------------------------------------------------

    def rule(self, account_id: str, region: str, name: str) -> Rule | None:
        """The rule with its targets, or None."""
        db = self._reader()
        row = db.execute(SELECT_RULE, (account_id, region, name)).fetchone()
        if row is None:
            return None
        targets = [orjson.loads(t) for (t,) in db.execute(SELECT_TARGETS, (account_id, region, name))]
        return _rule(row, targets)

    def rules(self, account_id: str, region: str, *, prefix: str | None, after: str, limit: int) -> list[Rule]:
        """Rules by name after ``after`` (without their targets), at most ``limit``."""
        rows = self._reader().execute(SELECT_RULES, {"account": account_id, "region": region, "prefix": prefix,
                                                     "after": after, "limit": limit})
        return [_rule(r) for r in rows]

    def all_rules(self) -> list[Rule]:
        """Every rule of every account and Region, with its targets."""
        db = self._reader()
        targets: dict[tuple[str, str, str], list[Any]] = {}
        for account, region, rule, target in db.execute(SELECT_ALL_TARGETS):
            targets.setdefault((account, region, rule), []).append(orjson.loads(target))
        return [_rule(r, targets.get((r[0], r[1], r[2]), ())) for r in db.execute(SELECT_ALL_RULES)]

    def rule_count(self, account_id: str, region: str) -> int:
        return int(self._reader().execute(COUNT_RULES, (account_id, region)).fetchone()[0])

    def rule_names_by_target(self, account_id: str, region: str, arn: str, *, after: str, limit: int) -> list[str]:
        rows = self._reader().execute(SELECT_RULE_NAMES_BY_TARGET, {"account": account_id, "region": region,
                                                                    "arn": arn, "after": after, "limit": limit})
        return [name for (name,) in rows]

    def put_rule(self, rule: Rule, limit: tuple[int, Callable[[], Exception]] | None = None) -> None:
        """Insert the rule, or replace its definition (its tags, creator and targets are kept).
        ``limit`` (n, error): a new rule on a bus that has n rules raises ``error()`` (nothing
        written), counted in the write transaction (one writer across nodes)."""
        guards = [] if limit is None else [Guard(RULE_OVER_LIMIT, (rule.account_id, rule.region, rule.name,
                                                                   rule.account_id, rule.region, limit[0]), limit[1])]
        self._transaction([(UPSERT_RULE, {
            "account_id": rule.account_id, "region": rule.region, "name": rule.name, "state": rule.state,
            "event_pattern": rule.event_pattern, "schedule_expression": rule.schedule_expression,
            "description": rule.description, "role_arn": rule.role_arn, "created_by": rule.created_by,
            "since_seq": rule.since_seq, "tags": orjson.dumps(dict(rule.tags)).decode()})], guards)

    def set_rule_state(self, account_id: str, region: str, name: str, state: str, since_seq: int) -> None:
        self._transaction([(UPDATE_RULE_STATE, (state, since_seq, account_id, region, name))])

    def set_rule_tags(self, account_id: str, region: str, name: str, tags: Mapping[str, str]) -> None:
        self._transaction([(UPDATE_RULE_TAGS, (orjson.dumps(dict(tags)).decode(), account_id, region, name))])

    def delete_rule(self, account_id: str, region: str, name: str) -> None:
        params = {"account": account_id, "region": region, "name": name}
        self._transaction([(sql, params) for sql in DELETE_RULE])

    def put_targets(self, account_id: str, region: str, rule: str, targets: Sequence[Mapping[str, Any]],
                    limit: tuple[int, Callable[[], Exception]] | None = None) -> None:
        """Add the targets, or replace those with the same Id (keeping their place), in one
        transaction. ``limit`` (n, error): ``error()`` is raised, nothing written, when the rule
        would have more than n targets, counted in that transaction."""
        guards: list[Guard] = []
        ids = sorted({str(t["Id"]) for t in targets})
        if limit is not None and ids:
            marks = ", ".join("?" for _ in ids)
            guards.append(Guard(f"SELECT (SELECT count(*) FROM targets WHERE account_id = ? AND region = ? AND rule = ?"
                                f" AND id NOT IN ({marks})) + ? > ?",
                                (account_id, region, rule, *ids, len(ids), limit[0]), limit[1]))
        self._transaction([(UPSERT_TARGET, {"account": account_id, "region": region, "rule": rule, "id": t["Id"],
                                            "arn": t["Arn"], "target": orjson.dumps(dict(t)).decode()})
                           for t in targets], guards)

    def remove_targets(self, account_id: str, region: str, rule: str, ids: Sequence[str]) -> None:
        self._transaction([(DELETE_TARGET, {"account": account_id, "region": region, "rule": rule, "id": i})
                           for i in ids])

    # --- connections -------------------------------------------------------------------------

    def connection(self, account_id: str, region: str, name: str) -> Connection | None:
        row = self._reader().execute(SELECT_CONNECTION, (account_id, region, name)).fetchone()
        return None if row is None else _connection(row)

    def connection_by_arn(self, arn: str) -> Connection | None:
        row = self._reader().execute(SELECT_CONNECTION_BY_ARN, (arn,)).fetchone()
        return None if row is None else _connection(row)

    def sealed_secrets(self, arn: str) -> bytes | None:
        row = self._reader().execute(SELECT_SEALED, (arn,)).fetchone()
        return None if row is None else bytes(row[0])

    def connections(self, account_id: str, region: str, *, prefix: str | None, state: str | None, after: str,
                    limit: int) -> list[Connection]:
        rows = self._reader().execute(SELECT_CONNECTIONS, {"account": account_id, "region": region, "prefix": prefix,
                                                           "state": state, "after": after, "limit": limit})
        return [_connection(r) for r in rows]

    def _connection_row(self, connection: Connection, sealed: bytes) -> dict[str, Any]:
        return {"account_id": connection.account_id, "region": connection.region, "name": connection.name,
                "uuid": connection.uuid, "arn": connection.arn, "authorization_type": connection.authorization_type,
                "state": connection.state, "description": connection.description,
                "public_parameters": orjson.dumps(dict(connection.auth_parameters)).decode(),
                "sealed_secrets": sealed, "secret_id": connection.secret_id, "creation_s": connection.creation_s,
                "modified_s": connection.modified_s, "authorized_s": connection.authorized_s}

    def insert_connection(self, connection: Connection, sealed: bytes,
                          taken: Callable[[], Exception] | None = None) -> None:
        """Insert ``connection``; ``taken()`` is raised when its name is in use (the primary key)."""
        self._transaction([(INSERT_CONNECTION, self._connection_row(connection, sealed))], taken=taken)

    def update_connection(self, connection: Connection, sealed: bytes) -> None:
        self._transaction([(UPDATE_CONNECTION, self._connection_row(connection, sealed))])

    def delete_connection(self, arn: str) -> None:
        self._transaction([(DELETE_CONNECTION, (arn,))])

    # --- API destinations --------------------------------------------------------------------

    def api_destination(self, account_id: str, region: str, name: str) -> ApiDestination | None:
        row = self._reader().execute(SELECT_DESTINATION, (account_id, region, name)).fetchone()
        return None if row is None else _destination(row)

    def api_destination_by_arn(self, arn: str) -> ApiDestination | None:
        row = self._reader().execute(SELECT_DESTINATION_BY_ARN, (arn,)).fetchone()
        return None if row is None else _destination(row)

    def api_destinations(self, account_id: str, region: str, *, prefix: str | None, connection_arn: str | None,
                         after: str, limit: int) -> list[ApiDestination]:
        rows = self._reader().execute(SELECT_DESTINATIONS, {"account": account_id, "region": region, "prefix": prefix,
                                                            "connection": connection_arn, "after": after,
                                                            "limit": limit})
        return [_destination(r) for r in rows]

    def put_api_destination(self, destination: ApiDestination, taken: Callable[[], Exception] | None = None) -> None:
        """Insert or replace ``destination``; with ``taken`` (a create), ``taken()`` is raised and
        nothing written when its name is in use, looked up in the write transaction."""
        d = destination
        guards = [] if taken is None else [Guard(DESTINATION_EXISTS, (d.account_id, d.region, d.name), taken)]
        self._transaction([(UPSERT_DESTINATION, {
            "account_id": d.account_id, "region": d.region, "name": d.name, "uuid": d.uuid, "arn": d.arn,
            "connection_arn": d.connection_arn, "invocation_endpoint": d.invocation_endpoint,
            "http_method": d.http_method, "rate_limit_per_s": d.rate_limit_per_s, "description": d.description,
            "creation_s": d.creation_s, "modified_s": d.modified_s})], guards)

    def delete_api_destination(self, arn: str) -> None:
        self._transaction([(DELETE_DESTINATION, (arn,))])

    # --- other tagged resources (the default event bus) ---------------------------------------

    def resource_tags(self, arn: str) -> dict[str, str]:
        row = self._reader().execute(SELECT_RESOURCE_TAGS, (arn,)).fetchone()
        return {} if row is None else dict(orjson.loads(row[0]))

    def set_resource_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        self._transaction([(UPSERT_RESOURCE_TAGS, (arn, orjson.dumps(dict(tags)).decode()))])
