"""Serve an ASGI app on a free local port with uvicorn in a background thread, and moto's server
likewise (for tests)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import uvicorn


#: How long :class:`QuickServer` waits where uvicorn waits 100 ms (seconds).
TICK_S = 0.01


class QuickServer(uvicorn.Server):
    """uvicorn's server waiting :data:`TICK_S` where uvicorn's waits 100 ms: the main loop's tick (how
    soon it sees ``should_exit``; the Date header is then refreshed every 0.1 s, not every second)
    and the pauses of its shutdown (uvicorn 0.55's ``Server.shutdown`` otherwise, no graceful
    timeout). A test's server then stops in about 20 ms instead of 0.2 s; the suite starts and stops
    one for most API tests."""

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            await asyncio.sleep(TICK_S)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        await asyncio.sleep(TICK_S)
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            await asyncio.sleep(TICK_S)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 (``port`` or a free one) until the block ends; yields its base URL.
    Raises RuntimeError when the server has not started within 10 s."""
    port = port or free_port()
    server = QuickServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server (S3, SQS, SNS ... on one port) in a background thread on a free 127.0.0.1 port
    until the block ends; yields its base URL. Clients sign with any key (e.g. ``testing``)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
