"""Request guards on a live server: the body cap holds memory down; the schema states the bounds."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import AUTH, make_settings
from tests.hardening.live import serving


def test_the_schema_states_this_servers_bounds(db_url: str) -> None:
    settings = make_settings(db_url, max_depth=2, max_paths=5, max_hops=3)
    with TestClient(create_app(settings)) as c:
        schema = c.get("/openapi.json").json()

        def maximum(path: str, name: str) -> int:
            params = schema["paths"][path]["get"]["parameters"]
            return int(next(p for p in params if p["name"] == name)["schema"]["maximum"])

        assert maximum("/v1/actors/{actor_id}/neighborhood", "depth") == 2
        assert maximum("/v1/actors/{actor_id}/proxies", "depth") == 2
        assert maximum("/v1/paths", "k") == 5
        assert maximum("/v1/paths", "max_hops") == 3
        # ... and the server serves exactly what the schema admits.
        assert c.get("/v1/paths?from=a&to=b&k=5&max_hops=3").status_code == 404
        assert c.get("/v1/paths?from=a&to=b&k=6").status_code == 422


# ---------------------------------------------------------------- body size on a live server


def _send_chunked(base: str, total: int, chunk: int = 1 << 20) -> tuple[int | None, int]:
    """POST ``total`` bytes as a chunked body (no Content-Length); return (status, bytes sent)."""
    host, port = base.removeprefix("http://").split(":")
    sent = 0
    status: int | None = None
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nAuthorization: "
            + AUTH["Authorization"].encode()
            + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = b"%x\r\n" % chunk + b" " * chunk + b"\r\n"
        try:
            while sent < total:
                sock.sendall(piece)
                sent += chunk
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: what we want
        try:
            head = sock.recv(64)
            status = int(head.split()[1]) if head.startswith(b"HTTP/1.1") else None
        except OSError:
            status = None
    return status, sent


def _declare_length(base: str, length: int) -> int:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % length
        )
        return int(sock.recv(64).split()[1])


def test_memory_does_not_grow_with_the_body(db_url: str, tmp_path: Path) -> None:
    """Case 1: a 64 MiB streamed body against a 1 MiB cap is cut off at the cap."""
    cap = 1 << 20
    env = {"KG_MAX_BODY_BYTES": str(cap)}
    with serving(db_url, log=tmp_path / "server.log", env=env) as server:
        httpx.get(server.base + "/v1/actors")  # warm the routes before measuring
        before = server.rss_kib()
        status, sent = _send_chunked(server.base, 64 << 20)
        grown_mib = (server.rss_kib() - before) / 1024
        assert status == 413
        assert sent < 64 << 20, "the server read the whole body"
        assert grown_mib < 24, f"RSS grew {grown_mib:.0f} MiB for a body cut at 1 MiB"
        # A declared length past the cap is refused before a byte of the body is read.
        assert _declare_length(server.base, 1 << 40) == 413
        assert httpx.get(server.base + "/health").status_code == 200
