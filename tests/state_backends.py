"""The state store conformance fixture: ``state_dir`` is a data directory whose state files are
SQLite files (``sqlite``) or schemas of this session's PostgreSQL database (``postgres``, through
:func:`opentrail.state_db.register_database` with a namespace of the test's own, dropped after
it). A store test that takes ``state_dir`` instead of ``tmp_path`` runs on both backends: one
suite per store interface, as issue 17 asks."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import psycopg
import pytest

from opentrail import state_db
from tests import postgres as pg


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of this session's own PostgreSQL database (dropped at the end)."""
    from opentrail.state_pg import close_pools

    with pg.own_database() as url:
        yield url
        close_pools()


@pytest.fixture(params=["sqlite", "postgres"])
def state_backend(request: pytest.FixtureRequest) -> str:
    """Which backend ``state_dir`` is on."""
    return str(request.param)


@pytest.fixture
def state_dir(state_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A data directory for state stores on ``state_backend`` (see the module docstring)."""
    if state_backend == "sqlite":
        yield tmp_path
        return
    url = request.getfixturevalue("postgres_database")
    namespace = "t" + secrets.token_hex(5)
    state_db.register_database(tmp_path, url, namespace)
    try:
        yield tmp_path
    finally:
        state_db.unregister_database(tmp_path)
        drop_namespace(url, namespace)


def drop_namespace(url: str, namespace: str) -> None:
    """Drop every schema ``<namespace>_*`` of the database ``url``."""
    with psycopg.connect(url, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                            (namespace + "\\_%",)).fetchall()]
        for name in names:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


class HandClock:
    """A clock (seconds, monotonic or epoch as the test needs) the test moves by setting ``now``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now


def race(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run each of ``calls`` in a thread of its own, all released at once by a barrier (nodes
    racing on one database); returns, in order, what each returned or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as exc:  # noqa: BLE001 -- the outcome the test asserts
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def outcomes(results: Sequence[Any]) -> list[str]:
    """``results`` of :func:`race` as sorted names: ``ok`` for a return, else the error's class name
    and its message when it has one (``EntityAlreadyExists: ...``)."""
    def name(r: Any) -> str:
        if not isinstance(r, BaseException):
            return "ok"
        message = getattr(r, "message", None)
        return type(r).__name__ + (f": {message}" if message else "")

    return sorted(name(r) for r in results)
