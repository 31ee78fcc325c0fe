from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from opentrail.lake.queries import QueryManager, TERMINAL
from tests.lake.fakes import ACCOUNT, REGION, FakeStores, load_records, write_store

EDS = "0233062b-51c6-4d18-8dec-a8c90da840d9"


@pytest.fixture(scope="session")
def records() -> list[dict[str, Any]]:
    return load_records()


class Runner:
    def __init__(self, manager: QueryManager) -> None:
        self.manager = manager

    def wait(self, query_id: str, timeout: float = 20) -> Any:
        deadline = time.time() + timeout
        while True:
            info = self.manager.describe(ACCOUNT, query_id)
            if info.status in TERMINAL or time.time() > deadline:
                return info
            time.sleep(0.01)

    def __call__(self, statement: str) -> tuple[tuple[str, ...], list[list[str]]]:
        """Run ``statement`` (``$EDS`` = the store) to the end; Lake's names and every row."""
        query_id = self.manager.start(ACCOUNT, REGION, statement.replace("$EDS", EDS))
        info = self.wait(query_id)
        assert info.status == "FINISHED", (info.status, info.error)
        rows: list[list[str]] = []
        token = None
        while True:
            info, page, token = self.manager.results(ACCOUNT, query_id, 1000, token)
            rows += page
            if token is None:
                return info.column_names, rows


@pytest.fixture(scope="session")
def lake_dir(tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]) -> Path:
    root = tmp_path_factory.mktemp("lake")
    write_store(root / "lake", EDS, records, files=3)
    return root


@pytest.fixture(scope="session")
def run(lake_dir: Path) -> Iterator[Runner]:
    stores = FakeStores()
    stores.add(EDS)
    manager = QueryManager(lake_dir / "lake", stores, lake_dir / "results", time.time)
    yield Runner(manager)
    manager.close()
