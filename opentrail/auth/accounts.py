"""Accounts and access keys, kept in a small SQLite file (``<data-dir>/accounts.db``, mode 0600).

Two processes may use the file at once (the CLI adds keys while the server runs), and with
``--database-url`` it is the schema ``state_accounts`` of the shared PostgreSQL database
(:func:`opentrail.state_db.open_state_db`) that several nodes use: every write is its own
transaction, and :meth:`AccountStore.find_key` reads the database on a cache miss, so a key created
by another process works at once. Keys found are cached in memory; the cache is emptied when this
store changes a key (IAM UpdateAccessKey / DeleteAccessKey, a user renamed) and whenever ``PRAGMA
data_version`` says another connection committed (:class:`opentrail.state_watch.DataVersionWatch`),
so a key deactivated or deleted anywhere stops working at the next request (on PostgreSQL: within
:data:`opentrail.state_watch.PG_RECHECK_S`).

Keys of IAM users carry the user's ``AIDA...`` id and path (columns ``user_id`` and ``user_path``).
Keys are listed oldest first: by ``created_at`` (to the second), then by ``seq``, the order they were
stored in. The schema is versioned (``opentrail/auth/sql/accounts/``, applied at open by
:mod:`opentrail.state_migrate`): script 0002 adds the three columns to older files, 0003 fills
``seq`` from SQLite's rowid there.

The first account created is the *admin* account: its keys may also call the ingest endpoint.

Secrets are stored in clear text in the 0600 file, because SigV4 verification needs them; they are
never logged and no API returns them after creation. STS sessions (temporary credentials) live in the
same file, hashed and sealed (:attr:`AccountStore.sessions`, :mod:`opentrail.sts.sessions`).
"""

from __future__ import annotations

import configparser
import os
import re
import secrets
import sqlite3
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from ..state_db import database_url_for, immediate_transaction, open_state_db
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from ..sts.sessions import SessionStore

#: ``[opentrail]`` profile region written to the generated credentials file.
DEFAULT_REGION = "us-east-1"
#: Name of the generated shared-credentials file in the data directory.
CREDENTIALS_FILE = "credentials"
#: Name of the accounts database in the data directory.
ACCOUNTS_DB = "accounts.db"

_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_KEY_ID_RE = re.compile(r"^[A-Z0-9]{16,128}$")
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"

#: Oldest first.
_KEY_ORDER = " ORDER BY k.created_at, k.seq"
_KEY_SELECT = ("SELECT k.access_key_id, k.account_id, k.user_name, k.secret_access_key, k.status, a.is_admin,"
               " k.user_id, k.user_path, k.created_at FROM access_keys k JOIN accounts a ON a.account_id = k.account_id")


class InvalidAccountIdError(ValueError):
    """An account id that is not 12 digits."""


class BootstrapError(ValueError):
    """Inconsistent ``OPENTRAIL_*`` seed variables (some set, some not; bad values; a known key id
    with another secret)."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key as the verifier needs it. ``user_name`` None = the account's root key.
    ``secret_access_key`` is left out of ``repr`` so it never reaches a log by accident."""

    access_key_id: str
    account_id: str
    user_name: str | None
    secret_access_key: str = field(repr=False)
    status: str = "Active"
    is_admin: bool = False
    #: The IAM user's ``AIDA...`` id and path (None and ``/`` for root keys and for users made by
    #: ``opentrail create-access-key --user-name``).
    user_id: str | None = None
    user_path: str = "/"
    #: ``2024-05-01T12:00:00Z``.
    created_at: str = ""


def _record(row: Any) -> KeyRecord:
    return KeyRecord(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], row[7] or "/", row[8])


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A newly created key, the only time its secret is handed out."""

    access_key_id: str
    account_id: str
    user_name: str | None
    secret_access_key: str = field(repr=False)
    create_date: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def to_iam_json(self) -> dict[str, Any]:
        """IAM CreateAccessKey's shape: ``{"AccessKey": {"UserName", "AccessKeyId",
        "SecretAccessKey", "Status": "Active", "CreateDate"}}``; CreateDate ISO 8601 UTC
        (``2024-05-01T12:00:00Z``). UserName is required in IAM's ``AccessKey`` shape
        (botocore iam model), so a root key carries ``"root"``, the name event history shows for it."""
        inner: dict[str, Any] = {"UserName": self.user_name if self.user_name is not None else "root"}
        inner.update(
            AccessKeyId=self.access_key_id,
            SecretAccessKey=self.secret_access_key,
            Status="Active",
            CreateDate=self.create_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        return {"AccessKey": inner}


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """Outcome of :func:`bootstrap`: the admin account and its root key id, the credentials file
    (None when the key was seeded from the environment) and whether this start created them."""

    account_id: str
    access_key_id: str
    credentials_path: Path | None
    created: bool


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 if missing (SQLite's -wal/-shm files inherit the mode)."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)


def check_account_id(account_id: str) -> str:
    """Return ``account_id`` if it is 12 digits, else raise :class:`InvalidAccountIdError`."""
    if not isinstance(account_id, str) or not _ACCOUNT_RE.match(account_id):
        raise InvalidAccountIdError(f"account id must be 12 digits, got {account_id!r}")
    return account_id


class AccountStore:
    """Accounts and keys in ``path`` (a SQLite file created mode 0600, or its PostgreSQL schema);
    ``monotonic`` paces the look for other nodes' changes (:class:`DataVersionWatch`). Thread-safe."""

    def __init__(self, path: Path, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._path = Path(path)
        if database_url_for(self._path) is None and not self._path.exists():
            _create_private_file(self._path)
        self._lock = threading.Lock()
        self._cache: dict[str, KeyRecord] = {}
        self._conn = open_state_db(self._path)
        self._conn.execute("PRAGMA busy_timeout=10000")
        apply_schema(self._conn, "opentrail.auth", "accounts")
        self._watch = DataVersionWatch(self._conn, clock=monotonic)
        #: The STS sessions (temporary credentials) kept in the same file.
        self.sessions = SessionStore(self._path)

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        """Close the database connections. Idempotent."""
        with self._lock:
            self._conn.close()
        self.sessions.close()

    # --- writes ---

    def _insert_account(self, account_id: str) -> None:
        # Caller holds the lock and an open IMMEDIATE transaction.
        row = self._conn.execute("SELECT 1 FROM accounts WHERE account_id = ?", (account_id,)).fetchone()
        if row is not None:
            return
        any_admin = self._conn.execute("SELECT 1 FROM accounts WHERE is_admin = 1").fetchone()
        self._conn.execute(
            "INSERT INTO accounts (account_id, is_admin, created_at) VALUES (?, ?, ?)",
            (account_id, 0 if any_admin else 1, _now_iso()),
        )

    def _write(self, fn: Any) -> Any:
        with self._lock, immediate_transaction(self._conn):
            return fn()

    def create_account(self, account_id: str | None = None) -> str:
        """Create an account (a random 12-digit id when None) and return its id; an existing id is
        returned unchanged. Raises :class:`InvalidAccountIdError`."""
        if account_id is None:
            account_id = "".join(secrets.choice(string.digits) for _ in range(12))
            if account_id[0] == "0":
                account_id = "1" + account_id[1:]
        check_account_id(account_id)
        self._write(lambda: self._insert_account(account_id))
        return account_id

    def create_access_key(self, account_id: str, user_name: str | None = None) -> AccessKey:
        """Create a key (``AKIA`` + 16 uppercase letters/digits, 40-character secret) for
        ``account_id`` (created if needed); no ``user_name`` = a root key."""
        key = new_access_key(account_id, user_name)
        self._add_key(key)
        return key

    def add_user_key(self, key: AccessKey, user_id: str | None, user_path: str = "/", *,
                     limit: tuple[int, Callable[[], Exception]] | None = None) -> None:
        """Store ``key`` (from :func:`new_access_key`) as a key of the IAM user ``user_id`` (None: a
        root key). ``limit`` (n, error): ``error()`` is raised, nothing stored, when that user (by
        account and user name) already has n keys, counted in the write transaction (IAM's
        AccessKeysPerUser quota, whichever node creates the keys)."""
        self._add_key(key, user_id, user_path, limit)

    def set_key_status(self, access_key_id: str, status: str) -> None:
        """Make a key ``Active`` or ``Inactive`` (an inactive key is refused by SigV4, and so are
        the sessions it made)."""
        self._write(lambda: self._conn.execute("UPDATE access_keys SET status = ? WHERE access_key_id = ?",
                                               (status, access_key_id)))
        self._forget()

    def delete_key(self, access_key_id: str) -> None:
        """Delete a key (and so every session it made stops working)."""
        self._write(lambda: self._conn.execute("DELETE FROM access_keys WHERE access_key_id = ?", (access_key_id,)))
        self._forget()

    def rename_user(self, account_id: str, user_name: str, new_name: str, new_path: str) -> None:
        """Move the keys of user ``user_name`` to its new name and path (IAM UpdateUser)."""
        self._write(lambda: self._conn.execute(
            "UPDATE access_keys SET user_name = ?, user_path = ? WHERE account_id = ? AND user_name = ?",
            (new_name, new_path, account_id, user_name)))
        self._forget()

    def user_keys(self, account_id: str, user_name: str | None) -> list[KeyRecord]:
        """The keys of one user (None: the root keys) of ``account_id``, oldest first."""
        where = "k.user_name = ?" if user_name is not None else "k.user_name IS NULL"
        args: tuple[str, ...] = (account_id, user_name) if user_name is not None else (account_id,)
        with self._lock:
            rows = self._conn.execute(f"{_KEY_SELECT} WHERE k.account_id = ? AND {where}"
                                      + _KEY_ORDER, args).fetchall()
        return [_record(r) for r in rows]

    def _forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def import_access_key(
        self, account_id: str, access_key_id: str, secret_access_key: str, user_name: str | None = None
    ) -> AccessKey:
        """Store a key whose id and secret were chosen elsewhere (``OPENTRAIL_*`` seeding). Raises
        :class:`BootstrapError` for a malformed id or empty secret."""
        check_account_id(account_id)
        if not _KEY_ID_RE.match(access_key_id or ""):
            raise BootstrapError("access key id must be 16-128 uppercase letters or digits")
        if not secret_access_key:
            raise BootstrapError("secret access key must not be empty")
        key = AccessKey(access_key_id, account_id, user_name, secret_access_key)
        self._add_key(key)
        return key

    def _add_key(self, key: AccessKey, user_id: str | None = None, user_path: str = "/",
                 limit: tuple[int, Callable[[], Exception]] | None = None) -> None:
        def run() -> None:
            if limit is not None:
                where = "user_name = ?" if key.user_name is not None else "user_name IS NULL"
                args = (key.account_id, key.user_name) if key.user_name is not None else (key.account_id,)
                count = self._conn.execute(f"SELECT COUNT(*) FROM access_keys WHERE account_id = ? AND {where}",
                                           args).fetchone()[0]
                if count >= limit[0]:
                    raise limit[1]()
            self._insert_key(key, user_id, user_path)

        self._write(run)

    def _insert_key(self, key: AccessKey, user_id: str | None = None, user_path: str = "/") -> None:
        """Insert ``key`` (and its account when new); the caller holds the lock and an open
        IMMEDIATE transaction."""
        self._insert_account(key.account_id)
        self._conn.execute(
            "INSERT INTO access_keys (access_key_id, account_id, user_name, secret_access_key, created_at,"
            " user_id, user_path, seq) VALUES (?, ?, ?, ?, ?, ?, ?,"
            " (SELECT COALESCE(MAX(seq), 0) + 1 FROM access_keys))",
            (key.access_key_id, key.account_id, key.user_name, key.secret_access_key,
             key.create_date.strftime("%Y-%m-%dT%H:%M:%SZ"), user_id, user_path),
        )

    # --- reads ---

    def find_key(self, access_key_id: str) -> KeyRecord | None:
        """The key with this id, or None. Cached; a miss reads the database (so keys created by
        another process are seen at once)."""
        with self._lock:
            if self._watch.changed():  # another connection committed: keys may have changed
                self._cache.clear()
            hit = self._cache.get(access_key_id)
            if hit is not None:
                return hit
            row = self._conn.execute(f"{_KEY_SELECT} WHERE k.access_key_id = ?", (access_key_id,)).fetchone()
            if row is None:
                return None
            rec = _record(row)
            self._cache[access_key_id] = rec
            return rec

    def admin_account_id(self) -> str | None:
        """The first account created, or None when there is none yet."""
        with self._lock:
            row = self._conn.execute("SELECT account_id FROM accounts WHERE is_admin = 1").fetchone()
        return row[0] if row else None

    def create_admin_key(self, before_commit: Callable[[AccessKey], None] = lambda key: None) -> AccessKey | None:
        """The first start's admin key, made in one write transaction (``BEGIN IMMEDIATE``: one
        writer across nodes): when there is no admin account yet, one is created (a random id)
        with a root key; when the admin has no active root key, one is added; either way
        ``before_commit(key)`` runs before the commit (:func:`bootstrap` shares the key's id, so a
        node that waited for this transaction finds it) and the key is returned. None, and nothing
        written, when the admin has an active root key already (another node made it first)."""

        def run() -> AccessKey | None:
            row = self._conn.execute("SELECT account_id FROM accounts WHERE is_admin = 1").fetchone()
            if row is None:
                account_id = "".join(secrets.choice(string.digits) for _ in range(12))
                account_id = ("1" + account_id[1:]) if account_id[0] == "0" else account_id
            else:
                account_id = row[0]
                has_key = self._conn.execute(
                    "SELECT 1 FROM access_keys WHERE account_id = ? AND user_name IS NULL AND status = 'Active'",
                    (account_id,)).fetchone()
                if has_key is not None:
                    return None
            key = new_access_key(account_id)
            self._insert_key(key)
            before_commit(key)
            return key

        return self._write(run)  # type: ignore[no-any-return]

    def admin_credentials(self) -> tuple[str, str]:
        """(access key id, secret) of the admin account's oldest root key, for local tools that post
        to the ingest endpoint. Raises LookupError when there is none."""
        with self._lock:
            row = self._conn.execute(
                "SELECT k.access_key_id, k.secret_access_key FROM access_keys k"
                " JOIN accounts a ON a.account_id = k.account_id"
                " WHERE a.is_admin = 1 AND k.user_name IS NULL AND k.status = 'Active'"
                " ORDER BY k.created_at, k.seq LIMIT 1"
            ).fetchone()
        if row is None:
            raise LookupError("the admin account has no root access key")
        return row[0], row[1]

    def list_keys(self, account_id: str | None = None) -> list[KeyRecord]:
        """All keys (of one account), oldest first; secrets included, for internal use only."""
        sql = _KEY_SELECT
        args: tuple[str, ...] = ()
        if account_id is not None:
            sql += " WHERE k.account_id = ?"
            args = (account_id,)
        with self._lock:
            rows = self._conn.execute(sql + _KEY_ORDER, args).fetchall()
        return [_record(r) for r in rows]


def new_access_key(account_id: str, user_name: str | None = None) -> AccessKey:
    """A new key (``AKIA`` + 16 uppercase letters/digits, 40-character secret), not stored yet."""
    return AccessKey(
        access_key_id="AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
        account_id=check_account_id(account_id),
        user_name=user_name,
        secret_access_key="".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40)),
    )


#: Profile names :func:`write_credentials_file` accepts: what a shared-credentials section header
#: can hold and ``AWS_PROFILE`` can name.
PROFILE_NAME = re.compile(r"[A-Za-z0-9_.@+-]{1,64}")


def write_credentials_file(
    path: Path, access_key_id: str, secret_access_key: str, profile: str = "opentrail"
) -> None:
    """Write profile ``profile`` (aws_access_key_id, aws_secret_access_key, region = us-east-1)
    into the AWS shared-credentials file ``path``, keeping its other profiles (a profile of the
    same name is replaced). The file is replaced atomically and has mode 0600. Raises ValueError
    for a profile name outside :data:`PROFILE_NAME`, configparser.Error if the file is not a
    credentials file."""
    if not PROFILE_NAME.fullmatch(profile):
        raise ValueError(f"profile name {profile!r}: use 1-64 letters, digits and . _ @ + -")
    cfg = configparser.ConfigParser(interpolation=None)
    if path.exists():
        cfg.read(path)
    cfg[profile] = {
        "aws_access_key_id": access_key_id,
        "aws_secret_access_key": secret_access_key,
        "region": DEFAULT_REGION,
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            cfg.write(fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def bootstrap(data_dir: Path, environ: Mapping[str, str]) -> Bootstrap:
    """Make sure an admin account with a root key exists in ``data_dir``.

    On first start: if ``OPENTRAIL_ACCOUNT_ID``, ``OPENTRAIL_ACCESS_KEY_ID`` and
    ``OPENTRAIL_SECRET_ACCESS_KEY`` are all set they seed the first account's root key (no file is
    written); otherwise an account and key are generated and written to ``<data-dir>/credentials``.
    On later starts nothing is created, except that a seeded key not yet known is added (so changing
    the variables works). With the data directory on PostgreSQL, the generated key's id is kept
    among the shared secrets (``bootstrap-key-id``, :mod:`opentrail.shared_secrets`) and every
    other node writes its own ``credentials`` file for that key (while it is the admin's key). Raises :class:`BootstrapError` when only some variables are set, when a
    value is malformed, or when the key id is known with another secret or account.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    names = ("OPENTRAIL_ACCOUNT_ID", "OPENTRAIL_ACCESS_KEY_ID", "OPENTRAIL_SECRET_ACCESS_KEY")
    values = [environ.get(n) or None for n in names]
    if any(values) and not all(values):
        missing = [n for n, v in zip(names, values) if not v]
        raise BootstrapError(f"set all of {', '.join(names)} or none; missing {', '.join(missing)}")
    store = AccountStore(data_dir / ACCOUNTS_DB)
    try:
        creds_path = data_dir / CREDENTIALS_FILE
        if all(values):
            account_id, key_id, secret = values  # type: ignore[misc]
            try:
                check_account_id(account_id)  # type: ignore[arg-type]
            except InvalidAccountIdError as exc:
                raise BootstrapError(f"OPENTRAIL_ACCOUNT_ID: {exc}") from exc
            known = store.find_key(key_id)  # type: ignore[arg-type]
            if known is not None:
                if known.secret_access_key != secret or known.account_id != account_id:
                    raise BootstrapError(
                        "OPENTRAIL_ACCESS_KEY_ID is already stored with another secret or account"
                    )
                return Bootstrap(account_id, key_id, None, False)  # type: ignore[arg-type]
            try:
                store.import_access_key(account_id, key_id, secret)  # type: ignore[arg-type]
            except sqlite3.IntegrityError:  # another node seeded it at the same moment
                known = store.find_key(key_id)  # type: ignore[arg-type]
                if known is None or known.secret_access_key != secret or known.account_id != account_id:
                    raise BootstrapError(
                        "OPENTRAIL_ACCESS_KEY_ID is already stored with another secret or account") from None
                return Bootstrap(account_id, key_id, None, False)  # type: ignore[arg-type]
            return Bootstrap(account_id, key_id, None, True)  # type: ignore[arg-type]
        # the admin account and its key made in one transaction: of nodes starting at once on an
        # empty database one makes them, the others find them (and the key's id shared)
        key = store.create_admin_key(lambda made: _share_bootstrap_key(data_dir, made.access_key_id))
        if key is not None:
            write_credentials_file(creds_path, key.access_key_id, key.secret_access_key)
            return Bootstrap(key.account_id, key.access_key_id, creds_path, True)
        admin = store.admin_account_id()
        assert admin is not None
        key_id, _ = store.admin_credentials()
        if not creds_path.exists():
            _credentials_from_shared(data_dir, store, key_id, creds_path)
        return Bootstrap(admin, key_id, creds_path if creds_path.exists() else None, False)
    finally:
        store.close()


#: Among the shared secrets (PostgreSQL): the id of the key :func:`bootstrap` generated.
BOOTSTRAP_KEY_SECRET = "bootstrap-key-id"


def _share_bootstrap_key(data_dir: Path, key_id: str) -> None:
    """On PostgreSQL, tell the other nodes which key the ``credentials`` file holds."""
    from ..shared_secrets import shared_secrets_for

    shared = shared_secrets_for(data_dir)
    if shared is None:
        return
    try:
        with shared.write() as tx:
            tx.put(BOOTSTRAP_KEY_SECRET, key_id.encode("ascii"))
    finally:
        shared.close()


def _credentials_from_shared(data_dir: Path, store: AccountStore, admin_key_id: str, path: Path) -> None:
    """On PostgreSQL, write ``path`` for the key another node's :func:`bootstrap` generated, when
    that key is still the admin's (``admin_key_id``)."""
    from ..shared_secrets import shared_secrets_for

    shared = shared_secrets_for(data_dir)
    if shared is None:
        return
    try:
        generated = shared.get(BOOTSTRAP_KEY_SECRET)
    finally:
        shared.close()
    if generated is None or generated.decode("ascii") != admin_key_id:
        return
    key = store.find_key(admin_key_id)
    if key is not None:
        write_credentials_file(path, key.access_key_id, key.secret_access_key)
