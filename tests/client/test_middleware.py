"""ASGI (Starlette under uvicorn) and WSGI (wsgiref) audit middleware on real sockets, driven by
httpx, recording into a real opentrail server read back with LookupEvents."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from opentrail.middleware import asgi, wsgi

from .conftest import ACCOUNT, OpentrailServer, ThreadedUvicorn, ThreadedWsgiref, make_client

SOURCE = "myapp.example.com"


def _records(srv: OpentrailServer, expected: int, timeout_s: float = 10) -> list[dict[str, Any]]:
    """The app's records in the server (waits up to ``timeout_s`` for ``expected`` of them)."""
    deadline = time.time() + timeout_s
    while True:
        events = srv.lookup_all(LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": SOURCE}])
        if len(events) >= expected or time.time() > deadline:
            return [json.loads(e["CloudTrailEvent"]) for e in events]
        time.sleep(0.05)


def _by_path(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["requestParameters"]["path"]: r for r in records}


# -- a Starlette application ----------------------------------------------------------------------

release_stream = threading.Event()


async def list_items(request: Request) -> JSONResponse:
    request.state.user = request.headers.get("x-user", "anonymous")
    return JSONResponse({"items": [1, 2]})


async def delete_item(request: Request) -> PlainTextResponse:
    request.state.user = "bob"
    return PlainTextResponse("forbidden", status_code=403)


async def boom(request: Request) -> PlainTextResponse:
    raise RuntimeError("application bug")


async def stream(request: Request) -> StreamingResponse:
    async def chunks() -> Any:
        yield b"first;"
        import anyio

        while not release_stream.is_set():  # the client must see "first;" before we go on
            await anyio.sleep(0.01)
        yield b"second"

    return StreamingResponse(chunks(), media_type="text/plain")


def starlette_app() -> Starlette:
    return Starlette(routes=[
        Route("/items", list_items, methods=["GET", "HEAD", "OPTIONS"]),
        Route("/items/{item_id}", delete_item, methods=["DELETE"]),
        Route("/boom", boom),
        Route("/stream", stream),
        Route("/health", list_items),
    ])


def _identity(scope: dict[str, Any]) -> dict[str, Any] | None:
    user = scope.get("state", {}).get("user")
    return {"type": "Unknown", "principalId": f"id-{user}", "userName": user, "accountId": ACCOUNT} if user else None


@pytest.fixture
def asgi_stack(server: OpentrailServer, tmp_path: Path) -> Iterator[tuple[ThreadedUvicorn, Any]]:
    client = make_client(server, spool_dir=tmp_path / "spool")
    app = asgi.AuditMiddleware(
        starlette_app(), client, event_source=SOURCE, account_id=ACCOUNT, identity=_identity,
        include=lambda scope: scope["path"] != "/health", trusted_proxies=["127.0.0.1"],
    )
    with ThreadedUvicorn(app) as web:
        yield web, client
    client.close()


def test_asgi_records_each_request_in_cloudtrail_format(server: OpentrailServer, asgi_stack: Any) -> None:
    web, client = asgi_stack
    with httpx.Client(base_url=web.url) as http:
        r = http.get("/items?a=1&b=2&b=3", headers={"x-user": "alice", "user-agent": "tests/1.0",
                                                    "x-forwarded-for": "203.0.113.9, 127.0.0.1"})
        assert (r.status_code, r.json()) == (200, {"items": [1, 2]})
        assert http.delete("/items/7", headers={"user-agent": "tests/1.0"}).status_code == 403
        assert http.get("/nowhere", headers={"user-agent": "tests/1.0"}).status_code == 404
        assert http.get("/health").status_code == 200  # excluded by include()
        assert http.get("/boom", headers={"user-agent": "tests/1.0"}).status_code == 500  # last: uvicorn closes
    assert client.flush(timeout_s=10) is True
    records = _by_path(_records(server, 4))
    assert sorted(records) == ["/boom", "/items", "/items/7", "/nowhere"]
    get = records["/items"]
    assert get["eventID"] and get["requestID"]
    assert {k: v for k, v in get.items() if k not in ("eventID", "requestID", "eventTime")} == {
        "eventVersion": "1.11",
        "userIdentity": {"type": "Unknown", "principalId": "id-alice", "userName": "alice", "accountId": ACCOUNT},
        "eventSource": SOURCE,
        "eventName": "ListItems",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "tests/1.0",
        "requestParameters": {"httpMethod": "GET", "path": "/items", "queryParameters": {"a": "1", "b": ["2", "3"]}},
        "responseElements": None,
        "additionalEventData": {"statusCode": 200, "bytesTransferredOut": 15},
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    assert list(get) == ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
                         "sourceIPAddress", "userAgent", "requestParameters", "responseElements",
                         "additionalEventData", "requestID", "eventID", "readOnly", "eventType",
                         "managementEvent", "recipientAccountId", "eventCategory"]
    delete = records["/items/7"]
    assert (delete["eventName"], delete["readOnly"], delete["errorCode"], delete["errorMessage"]) == (
        "DeleteItem", False, "Forbidden", "Forbidden")
    assert delete["userIdentity"]["userName"] == "bob"
    assert delete["sourceIPAddress"] == "127.0.0.1"
    nowhere = records["/nowhere"]
    assert (nowhere["eventName"], nowhere["errorCode"], nowhere["errorMessage"]) == ("GET", "NotFound", "Not Found")
    assert nowhere["userIdentity"] == {"type": "Unknown"}
    failed = records["/boom"]
    assert (failed["eventName"], failed["errorCode"], failed["additionalEventData"]["statusCode"]) == (
        "Boom", "InternalServerError", 500)
    users = server.lookup_all(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "alice"}])
    assert [u["EventName"] for u in users] == ["ListItems"]


def test_asgi_streaming_response_passes_through_unbuffered(server: OpentrailServer, asgi_stack: Any) -> None:
    web, client = asgi_stack
    release_stream.clear()
    with httpx.Client(base_url=web.url) as http, http.stream("GET", "/stream") as response:
        chunks = response.iter_bytes()
        assert next(chunks) == b"first;"  # arrives while the application is still producing
        release_stream.set()
        assert b"".join(chunks) == b"second"
    assert client.flush(timeout_s=10) is True
    record = _by_path(_records(server, 1))["/stream"]
    assert record["additionalEventData"] == {"statusCode": 200, "bytesTransferredOut": 12}


def test_asgi_recording_errors_never_fail_the_request(server: OpentrailServer, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(server, spool_dir=tmp_path / "spool")

    def broken_identity(scope: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("no session")

    app = asgi.AuditMiddleware(starlette_app(), client, event_source=SOURCE, identity=broken_identity)
    with caplog.at_level(logging.ERROR, logger="opentrail.middleware"), ThreadedUvicorn(app) as web:
        assert httpx.get(web.url + "/items").status_code == 200
    client.close()
    assert any("could not record GET /items" in r.getMessage() for r in caplog.records)
    assert client.stats()["sent"] == 0


def test_asgi_server_down_requests_still_answered_then_events_arrive(server: OpentrailServer, tmp_path: Path) -> None:
    client = make_client(server, spool_dir=tmp_path / "spool")
    app = asgi.AuditMiddleware(starlette_app(), client, event_source=SOURCE, account_id=ACCOUNT)
    server.stop()
    with ThreadedUvicorn(app) as web, httpx.Client(base_url=web.url) as http:
        for n in range(20):
            assert http.get(f"/items?n={n}").status_code == 200
    assert client.stats()["spooled"] == 20
    server.start()
    assert client.flush(timeout_s=20) is True
    client.close()
    records = _records(server, 20)
    assert sorted(int(r["requestParameters"]["queryParameters"]["n"]) for r in records) == list(range(20))


# -- a WSGI application ---------------------------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("application bug")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def chunks() -> Iterator[bytes]:
            yield b"first;"
            assert release_stream.wait(10)
            yield b"second"

        return chunks()
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no"]
    environ["myapp.user"] = "carol"
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [b"made"]


def test_wsgi_records_requests_streams_and_survives_errors(server: OpentrailServer, tmp_path: Path) -> None:
    client = make_client(server, spool_dir=tmp_path / "spool")
    app = wsgi.AuditMiddleware(
        wsgi_app, client, event_source=SOURCE, account_id=ACCOUNT,
        identity=lambda env: {"userName": env["myapp.user"]} if "myapp.user" in env else None,
        event_name=lambda env: "CreateThing" if env["REQUEST_METHOD"] == "POST" else None,
        trusted_proxies=["10.0.0.0/8"],
    )
    release_stream.clear()
    with ThreadedWsgiref(app) as web, httpx.Client(base_url=web.url) as http:
        r = http.post("/things?x=%C3%A9", content=b"{}", headers={"user-agent": "wsgi-test",
                                                                  "x-forwarded-for": "198.51.100.1"})
        assert (r.status_code, r.content) == (201, b"made")
        assert http.get("/missing").status_code == 404
        assert http.get("/boom").status_code == 500
        with http.stream("GET", "/stream") as response:
            chunks = response.iter_bytes()
            assert next(chunks) == b"first;"
            release_stream.set()
            assert b"".join(chunks) == b"second"
    assert client.flush(timeout_s=10) is True
    client.close()
    records = _by_path(_records(server, 4))
    post = records["/things"]
    assert {k: post[k] for k in ("eventName", "userIdentity", "sourceIPAddress", "userAgent", "readOnly",
                                 "requestParameters", "additionalEventData")} == {
        "eventName": "CreateThing",
        "userIdentity": {"type": "Unknown", "userName": "carol"},
        "sourceIPAddress": "127.0.0.1",  # the peer is not a trusted proxy: X-Forwarded-For ignored
        "userAgent": "wsgi-test",
        "readOnly": False,
        "requestParameters": {"httpMethod": "POST", "path": "/things", "queryParameters": {"x": "é"}},
        "additionalEventData": {"statusCode": 201, "bytesTransferredOut": 4},
    }
    assert "errorCode" not in post
    assert (records["/missing"]["eventName"], records["/missing"]["errorCode"]) == ("GET", "NotFound")
    assert (records["/boom"]["errorCode"], records["/boom"]["additionalEventData"]) == (
        "InternalServerError", {"statusCode": 500, "bytesTransferredOut": 0})
    assert records["/stream"]["additionalEventData"] == {"statusCode": 200, "bytesTransferredOut": 12}
