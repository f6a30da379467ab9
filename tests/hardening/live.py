"""A uvicorn server in a subprocess that a test can kill at will (crash and memory tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import ROOT, WRITE_KEY
from tests.support import server as support
from tests.support.server import free_port


class Server:
    """One uvicorn process (``workers=1`` serves in that very process, so its pid is the server)."""

    def __init__(self, db_url: str, *, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        extra = {**(env or {}), "KG_API_KEYS": WRITE_KEY}
        self.env = support.server_env(db_url, seed=extra.get("KG_SEED") == "true", extra=extra)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        out = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + self.log_tail())
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no rollback runs."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""


def migrate(db_url: str, *, seed: bool = False) -> None:
    """Prepare the database as `kg serve` does before it starts workers."""
    support.migrate(support.server_env(db_url, seed=seed))


@contextmanager
def serving(
    db_url: str, *, log: Path, env: dict[str, str] | None = None, seed: bool = False
) -> Iterator[Server]:
    migrate(db_url, seed=seed)
    server = Server(db_url, log=log, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
