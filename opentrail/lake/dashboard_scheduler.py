"""The scheduled dashboard refresh worker: a thread that asks
:meth:`.dashboard_service.DashboardService.run_due` every ``interval_s`` seconds (real time)
whether a refresh schedule's time has come on the injected clock.

At start it first resumes the refreshes claimed before the process stopped
(:meth:`~.dashboard_service.DashboardService.resume`). A scheduled time is refreshed once across
restarts (see :meth:`~.dashboard_service.DashboardService.run_due`); a refresh starts at most
``interval_s`` after its time.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("opentrail.lake.dashboards")


class DashboardScheduler(threading.Thread):
    """Runs ``service.run_due()`` every ``interval_s`` seconds until :meth:`stop`."""

    def __init__(self, service: Any, interval_s: float = 30.0) -> None:
        super().__init__(name="dashboard-scheduler", daemon=True)
        self.service = service
        self.interval_s = interval_s
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            self.service.resume()
        except Exception:
            log.exception("resuming dashboard refreshes failed")
        while not self._stop_event.wait(self.interval_s):
            try:
                self.service.run_due()
            except Exception:  # the next round tries again
                log.exception("scheduled dashboard refreshes failed")

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=30)
