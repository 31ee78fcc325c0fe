"""CloudTrail Lake: event data stores, their files, and SQL queries over them.

- :mod:`.model`: the event data store as a value; :mod:`.schema`: the table schema and one record
  -> one row; :mod:`.layout`: where a store's Parquet files are; :mod:`.files`: the lake root as a
  local folder or (:mod:`.objectfiles`, :mod:`.cache`) an object store prefix with a local cache.
- :mod:`.service`: the event data store operations (``<data-dir>/lake.db``).
- :mod:`.ingest`: the consumer of the event log that writes selected events into stores.
- :mod:`.sql` and :mod:`.queries`: Trino SQL on DuckDB, and the asynchronous query runner.
- :mod:`.dashboards`, :mod:`.dashboard_service`, :mod:`.dashboard_scheduler`: dashboards of
  saved queries and their scheduled refreshes; :mod:`.sample_queries`: SearchSampleQueries.
- :mod:`.imports`: StartImport's worker (trail log files in a bucket copied into a store).

:class:`Lake` bundles what the API handlers use (``OperationContext.lake``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Lake:
    """``stores``: the event data store service; ``queries``: the query runner (None until it
    exists); ``root``: the folder the files' paths are below (the lake root folder, or the local
    cache of an object-stored lake; see :mod:`.layout`); ``imports``: the import manager
    (:class:`.imports.ImportManager`), None when imports are not served; ``files``: where the files
    are (:class:`.files.LakeFiles`; None: a :class:`.files.FolderFiles` over ``root``)."""

    stores: Any
    queries: Any
    root: Path
    imports: Any = None
    files: Any = None
    #: the channel service (:class:`.channels.ChannelService`), None when channels are not served
    channels: Any = None
    #: the resource-based policies (:class:`.resource_policies.ResourcePolicies`), or None
    policies: Any = None
    dashboards: Any = None  # .dashboard_service.DashboardService, or None when dashboards are not served

    def __post_init__(self) -> None:
        if self.files is None:
            from .files import FolderFiles

            self.files = FolderFiles(self.root)
