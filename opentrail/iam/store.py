"""Durable storage of IAM: ``<data-dir>/iam.db`` (SQLite, WAL, ``synchronous=FULL``, mode 0600), or
its schema ``state_iam`` in the shared PostgreSQL database (:func:`opentrail.state_db.open_state_db`).

Users, groups and roles are rows of one ``entities`` table (kind ``user``/``group``/``role``, unique
per account and kind by name without regard to case, as IAM names are: "You cannot create groups
named both ADMINS and admins", IAM User Guide, "IAM object names"). Everything that hangs off an
entity (tags, inline policies, attached managed policies, group membership, login profile) is keyed
by the entity's unique id, so a rename touches one row and a re-created user gets a new id and none
of the old one's state. Customer managed policies and their versions have their own tables; AWS
managed policies are package data (:mod:`.aws_managed`), never stored.

Writes are *staged* (:class:`opentrail.staging.Staging`): inside :meth:`IamStore.staged_changes`
(entered by the API for every state-changing call) each write is held back until the call's record is
durable, then run, each one its own transaction; positions (of tags, attachments, members) are
computed inside that transaction, so writes of several nodes never share one. :meth:`generation`
changes after every write made here and after every commit of another process or node on the same
database (``PRAGMA data_version``, :class:`opentrail.state_watch.DataVersionWatch`: at once on
SQLite, within :data:`opentrail.state_watch.PG_RECHECK_S` on PostgreSQL), which is how a policy
attached on one node is enforced on the others (:class:`opentrail.api.authorization.Authorizer`).

:class:`IamStore` also implements :class:`opentrail.iam.model.IamDirectory`.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterable, Sequence

from ..staging import Staging
from ..state_db import Guard, Statement, database_url_for, open_state_db, write_statements
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from . import aws_managed
from .ids import arn as make_arn
from .ids import split_policy_arn
from .model import NamedDocument, PrincipalPolicies, Role, User

#: The database file in the data directory.
IAM_DB = "iam.db"


_ENTITY_COLUMNS = "id, account_id, kind, name, path, created, description, trust_policy, max_session, boundary_arn"
#: The entity columns qualified with the alias ``e``.
_E_COLUMNS = ", ".join("e." + c.strip() for c in _ENTITY_COLUMNS.split(","))
_POLICY_COLUMNS = "arn, id, account_id, name, path, description, created, updated, default_version, next_version"


@dataclass(frozen=True, slots=True)
class Entity:
    """A user, group or role (``kind``); ``trust_policy`` and ``max_session`` are a role's,
    ``boundary_arn`` a user's or role's permissions boundary."""

    id: str
    account_id: str
    kind: str
    name: str
    path: str
    created: float
    description: str | None = None
    trust_policy: str | None = None
    max_session: int | None = None
    boundary_arn: str | None = None

    @property
    def arn(self) -> str:
        return make_arn(self.account_id, self.kind, self.path, self.name)


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy: customer managed (``account_id`` 12 digits) or AWS managed (``aws``)."""

    arn: str
    id: str
    account_id: str
    name: str
    path: str
    description: str | None
    created: float
    updated: float
    default_version: str
    next_version: int = 2

    @property
    def is_aws(self) -> bool:
        return self.account_id == "aws"


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    version_id: str
    document: str
    created: float


def _entity(row: Iterable[Any]) -> Entity:
    return Entity(*row)


class IamStore:
    """The IAM state of one data directory (``path``: the database file); ``monotonic`` paces the
    look for other nodes' changes (:meth:`generation`). Thread-safe."""

    def __init__(self, path: Path, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._path = Path(path)
        if database_url_for(self._path) is None and not self._path.exists():
            self._path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self._path, os.O_CREAT | os.O_RDWR, 0o600))
        self._conn = open_state_db(self._path)
        self._conn.execute("PRAGMA busy_timeout=10000")
        apply_schema(self._conn, "opentrail.iam", "iam")
        self._lock = threading.RLock()
        self._staging = Staging(self._lock)
        self._changes = 0
        self._watch = DataVersionWatch(self._conn, clock=monotonic)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """Hold the lock and stage this thread's writes until the yielded ``commit`` runs them."""
        return self._staging.changes()

    def generation(self) -> int:
        """A number that changes after every IAM write of this process or of another one."""
        with self._lock:
            return self._changes + self._watch.version()

    # --- writes (staged) --------------------------------------------------------------------------

    def write(self, statements: list[Statement], after: Callable[[], None] | None = None, *,
              guards: Sequence[Guard] = (), taken: Callable[[], Exception] | None = None) -> None:
        """Run ``statements`` in one transaction (then ``after``, e.g. a change of the account
        store), now or when the staged call commits. ``guards`` are checked in that transaction
        first (:class:`~opentrail.state_db.Guard`: a limit another node may have reached since the
        handler's own check); ``taken()`` is raised when a UNIQUE name was taken meanwhile."""

        def change() -> None:
            if statements:
                write_statements(self._conn, statements, full_dir=self._path.parent, guards=guards,
                                 on_conflict=taken)
            if after is not None:
                after()
            self._changes += 1

        self._staging.apply(change)

    def create_entity(self, entity: Entity, tags: list[tuple[str, str]] = (),  # type: ignore[assignment]
                      *, limit: tuple[int, Callable[[], Exception]] | None = None,
                      taken: Callable[[], Exception] | None = None) -> None:
        """Insert ``entity`` with its ``tags``. ``limit`` (n, error): ``error()`` is raised, nothing
        written, when the account already has n entities of its kind, counted in the write
        transaction; ``taken()`` when its name is (case-insensitively) in use, as the UNIQUE
        constraint finds (both: another node's create won the race since the handler checked)."""
        guards = [] if limit is None else [Guard(
            "SELECT COUNT(*) >= ? FROM entities WHERE account_id = ? AND kind = ?",
            (limit[0], entity.account_id, entity.kind), limit[1])]
        statements: list[Statement] = [(
            f"INSERT INTO entities ({_ENTITY_COLUMNS}, name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entity.id, entity.account_id, entity.kind, entity.name, entity.path, entity.created, entity.description,
             entity.trust_policy, entity.max_session, entity.boundary_arn, entity.name.lower()))]
        statements += self._tag_statements(entity.id, tags)
        self.write(statements, guards=guards, taken=taken)

    def update_entity(self, entity: Entity, after: Callable[[], None] | None = None, *,
                      taken: Callable[[], Exception] | None = None) -> None:
        """Write ``entity`` (same id) over its row: name, path, description, trust policy, max session,
        boundary; ``taken()`` is raised when its new name is in use (the UNIQUE constraint)."""
        self.write([(
            "UPDATE entities SET name = ?, name_key = ?, path = ?, description = ?, trust_policy = ?, max_session = ?,"
            " boundary_arn = ? WHERE id = ?",
            (entity.name, entity.name.lower(), entity.path, entity.description, entity.trust_policy,
             entity.max_session, entity.boundary_arn, entity.id))], after, taken=taken)

    def delete_entity(self, entity_id: str) -> None:
        self.write([
            ("DELETE FROM entities WHERE id = ?", (entity_id,)),
            ("DELETE FROM tags WHERE owner_id = ?", (entity_id,)),
            ("DELETE FROM inline_policies WHERE owner_id = ?", (entity_id,)),
            ("DELETE FROM attachments WHERE owner_id = ?", (entity_id,)),
            ("DELETE FROM members WHERE group_id = ? OR user_id = ?", (entity_id, entity_id)),
            ("DELETE FROM login_profiles WHERE user_id = ?", (entity_id,)),
        ])

    def _tag_statements(self, owner_id: str, tags: Iterable[tuple[str, str]]) -> list[Statement]:
        """One upsert per tag; a new key goes after the owner's last tag (a known key keeps its place)."""
        return [("INSERT INTO tags (owner_id, position, key, value) VALUES"
                 " (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM tags WHERE owner_id = ?), ?, ?)"
                 " ON CONFLICT (owner_id, key) DO UPDATE SET value = excluded.value", (owner_id, owner_id, key, value))
                for key, value in tags]

    def tag(self, owner_id: str, tags: list[tuple[str, str]]) -> None:
        """Add ``tags`` (a key already there gets the new value)."""
        self.write(self._tag_statements(owner_id, tags))

    def untag(self, owner_id: str, keys: list[str]) -> None:
        self.write([("DELETE FROM tags WHERE owner_id = ? AND key = ?", (owner_id, k)) for k in keys])

    def put_inline(self, owner_id: str, name: str, document: str) -> None:
        self.write([("INSERT INTO inline_policies (owner_id, name, document) VALUES (?, ?, ?)"
                     " ON CONFLICT (owner_id, name) DO UPDATE SET document = excluded.document",
                     (owner_id, name, document))])

    def delete_inline(self, owner_id: str, name: str) -> None:
        self.write([("DELETE FROM inline_policies WHERE owner_id = ? AND name = ?", (owner_id, name))])

    def attach(self, owner: Entity, policy_arn: str, *, limit: tuple[int, Callable[[], Exception]] | None = None
               ) -> None:
        """Attach ``policy_arn`` to ``owner`` (attached already: nothing changes). ``limit`` (n,
        error): ``error()`` is raised, nothing written, when ``owner`` has n other policies attached,
        counted in the write transaction."""
        guards = [] if limit is None else [Guard(
            "SELECT COUNT(*) >= ? FROM attachments WHERE owner_id = ? AND policy_arn <> ?",
            (limit[0], owner.id, policy_arn), limit[1])]
        self.write([("INSERT OR IGNORE INTO attachments (owner_id, account_id, policy_arn, position) VALUES"
                     " (?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM attachments WHERE owner_id = ?))",
                     (owner.id, owner.account_id, policy_arn, owner.id))], guards=guards)

    def detach(self, owner_id: str, policy_arn: str) -> None:
        self.write([("DELETE FROM attachments WHERE owner_id = ? AND policy_arn = ?", (owner_id, policy_arn))])

    def add_member(self, group_id: str, user_id: str, *,
                   limit: tuple[int, Callable[[], Exception]] | None = None) -> None:
        """Add the user to the group (a member already: nothing changes). ``limit`` (n, error):
        ``error()`` is raised, nothing written, when the user is in n other groups, counted in the
        write transaction."""
        guards = [] if limit is None else [Guard(
            "SELECT COUNT(*) >= ? FROM members WHERE user_id = ? AND group_id <> ?", (limit[0], user_id, group_id),
            limit[1])]
        self.write([("INSERT OR IGNORE INTO members (group_id, user_id, position) VALUES"
                     " (?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM members WHERE group_id = ?))",
                     (group_id, user_id, group_id))], guards=guards)

    def remove_member(self, group_id: str, user_id: str) -> None:
        self.write([("DELETE FROM members WHERE group_id = ? AND user_id = ?", (group_id, user_id))])

    def put_login_profile(self, user_id: str, password_hash: str, created: float, reset_required: bool, *,
                          taken: Callable[[], Exception] | None = None) -> None:
        """Create or change the user's login profile; with ``taken`` (CreateLoginProfile), ``taken()``
        is raised and nothing written when the user has one, looked up in the write transaction."""
        guards = [] if taken is None else [Guard(
            "SELECT EXISTS (SELECT 1 FROM login_profiles WHERE user_id = ?)", (user_id,), taken)]
        self.write([("INSERT INTO login_profiles (user_id, password_hash, created, reset_required) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash,"
                     " reset_required = excluded.reset_required",
                     (user_id, password_hash, created, int(reset_required)))], guards=guards)

    def delete_login_profile(self, user_id: str) -> None:
        self.write([("DELETE FROM login_profiles WHERE user_id = ?", (user_id,))])

    def create_policy(self, policy: ManagedPolicy, document: str, tags: list[tuple[str, str]], *,
                      limit: tuple[int, Callable[[], Exception]] | None = None,
                      taken: Callable[[], Exception] | None = None) -> None:
        """Insert the customer managed ``policy`` (version v1: ``document``) with its ``tags``;
        ``limit`` and ``taken`` as for :meth:`create_entity` (policies of the account)."""
        guards = [] if limit is None else [Guard("SELECT COUNT(*) >= ? FROM policies WHERE account_id = ?",
                                                 (limit[0], policy.account_id), limit[1])]
        statements: list[Statement] = [
            (f"INSERT INTO policies ({_POLICY_COLUMNS}, name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             (policy.arn, policy.id, policy.account_id, policy.name, policy.path, policy.description, policy.created,
              policy.updated, "v1", 2, policy.name.lower())),
            ("INSERT INTO policy_versions (arn, version_id, number, document, created) VALUES (?, 'v1', 1, ?, ?)",
             (policy.arn, document, policy.created))]
        self.write(statements + self._tag_statements(policy.id, tags), guards=guards, taken=taken)

    def add_policy_version(self, policy: ManagedPolicy, document: str, created: float, make_default: bool, *,
                           limit: tuple[int, Callable[[], Exception]] | None = None,
                           changed: Callable[[], Exception] | None = None) -> str:
        """Stage version ``v<next>`` of ``policy``; returns its id. ``limit`` (n, error): ``error()`` is
        raised, nothing written, when the policy has n versions, counted in the write transaction;
        ``changed()`` when another node added version ``v<next>`` meanwhile (the primary key)."""
        guards = [] if limit is None else [Guard("SELECT COUNT(*) >= ? FROM policy_versions WHERE arn = ?",
                                                 (limit[0], policy.arn), limit[1])]
        version = f"v{policy.next_version}"
        statements: list[Statement] = [
            ("INSERT INTO policy_versions (arn, version_id, number, document, created) VALUES (?, ?, ?, ?, ?)",
             (policy.arn, version, policy.next_version, document, created)),
            ("UPDATE policies SET next_version = ?, updated = ? WHERE arn = ?",
             (policy.next_version + 1, created if make_default else policy.updated, policy.arn))]
        if make_default:
            statements.append(("UPDATE policies SET default_version = ? WHERE arn = ?", (version, policy.arn)))
        self.write(statements, guards=guards, taken=changed)
        return version

    def delete_policy_version(self, policy_arn: str, version_id: str) -> None:
        self.write([("DELETE FROM policy_versions WHERE arn = ? AND version_id = ?", (policy_arn, version_id))])

    def set_default_version(self, policy_arn: str, version_id: str, now: float) -> None:
        self.write([("UPDATE policies SET default_version = ?, updated = ? WHERE arn = ?",
                     (version_id, now, policy_arn))])

    def delete_policy(self, policy: ManagedPolicy) -> None:
        self.write([("DELETE FROM policies WHERE arn = ?", (policy.arn,)),
                    ("DELETE FROM policy_versions WHERE arn = ?", (policy.arn,)),
                    ("DELETE FROM tags WHERE owner_id = ?", (policy.id,))])

    # --- reads ------------------------------------------------------------------------------------

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def entity(self, account_id: str, kind: str, name: str) -> Entity | None:
        """The user, group or role named ``name`` (any case) in ``account_id``, or None."""
        rows = self._all(f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE account_id = ? AND kind = ? AND name_key = ?",
                         (account_id, kind, name.lower()))
        return _entity(rows[0]) if rows else None

    def entity_by_id(self, entity_id: str) -> Entity | None:
        rows = self._all(f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE id = ?", (entity_id,))
        return _entity(rows[0]) if rows else None

    def entities(self, account_id: str, kind: str, path_prefix: str = "/") -> list[Entity]:
        """Every entity of ``kind`` whose path starts with ``path_prefix``, by name (case ignored)."""
        rows = self._all(f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE account_id = ? AND kind = ? AND"
                         " substr(path, 1, ?) = ? ORDER BY name_key", (account_id, kind, len(path_prefix), path_prefix))
        return [_entity(r) for r in rows]

    def count(self, account_id: str, kind: str) -> int:
        rows = self._all("SELECT COUNT(*) FROM entities WHERE account_id = ? AND kind = ?", (account_id, kind))
        return int(rows[0][0])

    def tags(self, owner_id: str) -> list[tuple[str, str]]:
        """(key, value) of ``owner_id``'s tags, in the order they were first added."""
        return [(r[0], r[1]) for r in self._all("SELECT key, value FROM tags WHERE owner_id = ? ORDER BY position",
                                                (owner_id,))]

    def inline(self, owner_id: str) -> dict[str, str]:
        """Inline policy name -> document, by name."""
        return {r[0]: r[1] for r in self._all("SELECT name, document FROM inline_policies WHERE owner_id = ?"
                                              " ORDER BY name", (owner_id,))}

    def attached(self, owner_id: str) -> list[str]:
        """ARNs of the managed policies attached to ``owner_id``, in attachment order."""
        return [r[0] for r in self._all("SELECT policy_arn FROM attachments WHERE owner_id = ? ORDER BY position",
                                        (owner_id,))]

    def attached_to(self, account_id: str, policy_arn: str) -> list[Entity]:
        """The entities of ``account_id`` ``policy_arn`` is attached to, by kind and name."""
        rows = self._all(f"SELECT {_E_COLUMNS} FROM attachments a"
                         " JOIN entities e ON e.id = a.owner_id WHERE a.account_id = ? AND a.policy_arn = ?"
                         " ORDER BY e.kind, e.name_key", (account_id, policy_arn))
        return [_entity(r) for r in rows]

    def boundary_users(self, account_id: str, policy_arn: str) -> int:
        return int(self._all("SELECT COUNT(*) FROM entities WHERE account_id = ? AND boundary_arn = ?",
                             (account_id, policy_arn))[0][0])

    def group_users(self, group_id: str) -> list[Entity]:
        rows = self._all(f"SELECT {_E_COLUMNS} FROM members m"
                         " JOIN entities e ON e.id = m.user_id WHERE m.group_id = ? ORDER BY m.position", (group_id,))
        return [_entity(r) for r in rows]

    def user_groups(self, user_id: str) -> list[Entity]:
        rows = self._all(f"SELECT {_E_COLUMNS} FROM members m"
                         " JOIN entities e ON e.id = m.group_id WHERE m.user_id = ? ORDER BY e.name_key", (user_id,))
        return [_entity(r) for r in rows]

    def login_profile(self, user_id: str) -> tuple[str, float, bool] | None:
        """(password hash, created, reset required) of a user's login profile, or None."""
        rows = self._all("SELECT password_hash, created, reset_required FROM login_profiles WHERE user_id = ?",
                         (user_id,))
        return (rows[0][0], rows[0][1], bool(rows[0][2])) if rows else None

    def policy(self, account_id: str, policy_arn: str) -> ManagedPolicy | None:
        """The managed policy ``policy_arn`` seen from ``account_id``: an AWS managed one, or a customer
        managed one of that account; None otherwise."""
        found = aws_managed.policy(policy_arn)
        if found is not None:
            return found
        parts = split_policy_arn(policy_arn)
        if parts is None or parts[0] != account_id:
            return None
        rows = self._all(f"SELECT {_POLICY_COLUMNS} FROM policies WHERE arn = ?", (policy_arn,))
        return ManagedPolicy(*rows[0]) if rows else None

    def policy_named(self, account_id: str, name: str) -> ManagedPolicy | None:
        rows = self._all(f"SELECT {_POLICY_COLUMNS} FROM policies WHERE account_id = ? AND name_key = ?",
                         (account_id, name.lower()))
        return ManagedPolicy(*rows[0]) if rows else None

    def policies(self, account_id: str) -> list[ManagedPolicy]:
        """The customer managed policies of ``account_id``, by name."""
        rows = self._all(f"SELECT {_POLICY_COLUMNS} FROM policies WHERE account_id = ? ORDER BY name_key",
                         (account_id,))
        return [ManagedPolicy(*r) for r in rows]

    def attachment_count(self, account_id: str, policy_arn: str) -> int:
        return int(self._all("SELECT COUNT(*) FROM attachments WHERE account_id = ? AND policy_arn = ?",
                             (account_id, policy_arn))[0][0])

    def versions(self, policy: ManagedPolicy) -> list[PolicyVersion]:
        """The versions of ``policy``, newest first."""
        if policy.is_aws:
            return [PolicyVersion(policy.default_version, aws_managed.document(policy.arn) or "", policy.updated)]
        rows = self._all("SELECT version_id, document, created FROM policy_versions WHERE arn = ?"
                         " ORDER BY number DESC", (policy.arn,))
        return [PolicyVersion(*r) for r in rows]

    def version(self, policy: ManagedPolicy, version_id: str) -> PolicyVersion | None:
        return next((v for v in self.versions(policy) if v.version_id == version_id), None)

    # --- IamDirectory ------------------------------------------------------------------------------

    def get_user(self, account_id: str, user_name: str) -> User | None:
        e = self.entity(account_id, "user", user_name)
        if e is None:
            return None
        return User(account_id, e.name, e.path, e.id, e.arn, e.created, dict(self.tags(e.id)))

    def get_role(self, account_id: str, role_name: str) -> Role | None:
        e = self.entity(account_id, "role", role_name)
        if e is None:
            return None
        return Role(account_id, e.name, e.path, e.id, e.arn, e.trust_policy or "", e.max_session or 3600, e.created,
                    dict(self.tags(e.id)))

    def _documents(self, account_id: str, owner: Entity) -> list[NamedDocument]:
        docs = [NamedDocument(name, doc) for name, doc in self.inline(owner.id).items()]
        for policy_arn in self.attached(owner.id):
            doc = self.managed_policy_document(account_id, policy_arn)
            if doc is not None:
                docs.append(NamedDocument(policy_arn, doc))
        return docs

    def _boundary(self, account_id: str, owner: Entity) -> NamedDocument | None:
        if owner.boundary_arn is None:
            return None
        doc = self.managed_policy_document(account_id, owner.boundary_arn)
        return NamedDocument(owner.boundary_arn, doc) if doc is not None else None

    def user_policies(self, account_id: str, user_name: str) -> PrincipalPolicies:
        with self._lock:
            user = self.entity(account_id, "user", user_name)
            if user is None:
                return PrincipalPolicies()
            docs = self._documents(account_id, user)
            for group in self.user_groups(user.id):
                docs += self._documents(account_id, group)
            return PrincipalPolicies(tuple(docs), self._boundary(account_id, user))

    def role_policies(self, account_id: str, role_name: str) -> PrincipalPolicies:
        with self._lock:
            role = self.entity(account_id, "role", role_name)
            if role is None:
                return PrincipalPolicies()
            return PrincipalPolicies(tuple(self._documents(account_id, role)), self._boundary(account_id, role))

    def managed_policy_document(self, account_id: str, policy_arn: str) -> str | None:
        with self._lock:
            policy = self.policy(account_id, policy_arn)
            if policy is None:
                return None
            found = self.version(policy, policy.default_version)
            return found.document if found is not None else None


__all__ = ["IAM_DB", "Entity", "IamStore", "ManagedPolicy", "PolicyVersion"]
