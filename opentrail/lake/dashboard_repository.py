"""Dashboards and their refreshes in ``<data-dir>/lake.db`` (beside the event data stores).

- ``dashboards``: one row per custom dashboard, its document as JSON (field names are the
  dataclass names of :class:`.dashboards.Dashboard`).
- ``dashboard_refreshes``: one row per refresh: its RefreshId, the dashboard, the scheduled time
  it is for (``slot``, NULL for StartDashboardRefresh), ``status`` STARTING (claimed, widget
  queries not all started) or STARTED, and the widget alias -> query ID map. ``(account, region,
  name, slot)`` is unique: a scheduled time is claimed once.

Every write is one transaction, synced (``synchronous=FULL``). Safe from many threads (one lock).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import orjson

from ..state_db import Guard, open_state_db, write_statements
from ..state_migrate import apply_schema
from .dashboards import Dashboard, RefreshSchedule, Widget


@dataclass(frozen=True, slots=True)
class Refresh:
    """One refresh: ``queries`` maps widget alias -> query ID; ``slot`` the scheduled time (None:
    on demand); ``values`` the parameter values its queries ran with."""

    refresh_id: str
    account_id: str
    region: str
    name: str
    created: float
    slot: float | None
    status: str
    queries: dict[str, str]
    values: dict[str, str]
    failure: str | None = None


def dump_dashboard(d: Dashboard) -> bytes:
    return orjson.dumps(dataclasses.asdict(d))


def load_dashboard(doc: bytes) -> Dashboard:
    raw = orjson.loads(doc)
    raw["widgets"] = tuple(Widget(w["statement"], tuple(w["parameters"]),
                                  tuple((k, v) for k, v in w["view_properties"]), w["alias"]) for w in raw["widgets"])
    raw["tags"] = tuple((k, v) for k, v in raw["tags"])
    if raw.get("refresh_schedule") is not None:
        raw["refresh_schedule"] = RefreshSchedule(**raw["refresh_schedule"])
    known = {f.name for f in dataclasses.fields(Dashboard)}
    return Dashboard(**{k: v for k, v in raw.items() if k in known})


def _refresh(row: sqlite3.Row | tuple[Any, ...]) -> Refresh:
    (rid, account, region, name, created, slot, status, queries, values, failure) = row
    return Refresh(rid, account, region, name, created, slot, status, orjson.loads(queries), orjson.loads(values),
                   failure)


_REFRESH_COLUMNS = "refresh_id, account_id, region, name, created, slot, status, queries, parameter_values, failure"


class DashboardRepository:
    """Durable dashboard storage over the SQLite file ``path``."""

    def __init__(self, path: Path) -> None:
        self._db = open_state_db(path)
        apply_schema(self._db, "opentrail.lake", "dashboards")
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self._db.close()

    # --- dashboards ---------------------------------------------------------------------------

    def get(self, account_id: str, region: str, name: str) -> Dashboard | None:
        with self.lock:
            row = self._db.execute("SELECT doc FROM dashboards WHERE account_id = ? AND region = ? AND name = ?",
                                   (account_id, region, name)).fetchone()
        return load_dashboard(row[0]) if row else None

    def regional(self, account_id: str, region: str) -> list[Dashboard]:
        """The Region's dashboards, by name."""
        with self.lock:
            rows = self._db.execute("SELECT doc FROM dashboards WHERE account_id = ? AND region = ? ORDER BY name",
                                    (account_id, region)).fetchall()
        return [load_dashboard(r[0]) for r in rows]

    def all(self) -> list[Dashboard]:
        with self.lock:
            rows = self._db.execute("SELECT doc FROM dashboards ORDER BY account_id, region, name").fetchall()
        return [load_dashboard(r[0]) for r in rows]

    def put(self, d: Dashboard, *, new: tuple[int, Callable[[], Exception], Callable[[], Exception]] | None = None
            ) -> None:
        """Insert or replace ``d``. ``new`` (n, taken, over_limit) for a dashboard being created:
        in the write transaction (``BEGIN IMMEDIATE``, across nodes), ``taken()`` is raised when its
        name is in use and ``over_limit()`` when its Region already has n dashboards; nothing is
        written then."""
        guards = [] if new is None else [
            Guard("SELECT EXISTS (SELECT 1 FROM dashboards WHERE account_id = ? AND region = ? AND name = ?)",
                  (d.account_id, d.region, d.name), new[1]),
            Guard("SELECT COUNT(*) >= ? FROM dashboards WHERE account_id = ? AND region = ?",
                  (new[0], d.account_id, d.region), new[2])]
        with self.lock:
            write_statements(self._db, [(
                "INSERT OR REPLACE INTO dashboards (account_id, region, name, doc) VALUES (?, ?, ?, ?)",
                (d.account_id, d.region, d.name, dump_dashboard(d)))], guards=guards)

    def delete(self, account_id: str, region: str, name: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM dashboards WHERE account_id = ? AND region = ? AND name = ?",
                             (account_id, region, name))

    # --- refreshes ----------------------------------------------------------------------------

    def claim_refresh(self, refresh: Refresh) -> bool:
        """Insert ``refresh`` (status STARTING); False when its scheduled slot is claimed already."""
        with self.lock:
            try:
                self._db.execute(
                    f"INSERT INTO dashboard_refreshes ({_REFRESH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (refresh.refresh_id, refresh.account_id, refresh.region, refresh.name, refresh.created,
                     refresh.slot, refresh.status, orjson.dumps(refresh.queries).decode(),
                     orjson.dumps(refresh.values).decode(), refresh.failure))
            except sqlite3.IntegrityError:
                return False
            return True

    def finish_refresh(self, refresh_id: str, queries: dict[str, str], failure: str | None) -> None:
        """Mark the refresh STARTED with its widget queries (and the reason some did not start)."""
        with self.lock:
            self._db.execute("UPDATE dashboard_refreshes SET status = 'STARTED', queries = ?, failure = ? "
                             "WHERE refresh_id = ?", (orjson.dumps(queries).decode(), failure, refresh_id))

    def refresh(self, refresh_id: str) -> Refresh | None:
        with self.lock:
            row = self._db.execute(f"SELECT {_REFRESH_COLUMNS} FROM dashboard_refreshes WHERE refresh_id = ?",
                                   (refresh_id,)).fetchone()
        return _refresh(row) if row else None

    def refresh_exists(self, refresh_id: str) -> bool:
        return self.refresh(refresh_id) is not None

    def latest_refresh(self, account_id: str, region: str, name: str) -> Refresh | None:
        with self.lock:
            row = self._db.execute(f"SELECT {_REFRESH_COLUMNS} FROM dashboard_refreshes WHERE account_id = ? AND "
                                   "region = ? AND name = ? ORDER BY created DESC, refresh_id DESC LIMIT 1",
                                   (account_id, region, name)).fetchone()
        return _refresh(row) if row else None

    def latest_slot(self, account_id: str, region: str, name: str) -> float | None:
        with self.lock:
            row = self._db.execute("SELECT max(slot) FROM dashboard_refreshes WHERE account_id = ? AND region = ? "
                                   "AND name = ?", (account_id, region, name)).fetchone()
        return row[0] if row else None

    def starting(self) -> list[Refresh]:
        """Refreshes claimed but not marked STARTED (the process stopped in between), oldest first."""
        with self.lock:
            rows = self._db.execute(f"SELECT {_REFRESH_COLUMNS} FROM dashboard_refreshes WHERE status = 'STARTING'"
                                    " ORDER BY created, refresh_id").fetchall()
        return [_refresh(r) for r in rows]

    def forget_refreshes(self, account_id: str, region: str, name: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM dashboard_refreshes WHERE account_id = ? AND region = ? AND name = ?",
                             (account_id, region, name))
