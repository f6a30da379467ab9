"""A real uvicorn server in a subprocess, with N workers, on a given database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import ROOT, WRITE_KEY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(db_url: str, *, seed: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server process: no KG_ setting leaks in from the test run's own."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KG_")},
        **(extra or {}),
        "KG_DATABASE_URL": db_url,
        "KG_SEED": "true" if seed else "false",
    }


def migrate(env: dict[str, str]) -> None:
    """Migrate (and seed, when ``KG_SEED`` says so) once, as `kg serve` does before workers."""
    command = "seed" if env.get("KG_SEED") == "true" else "migrate"
    subprocess.run(
        [sys.executable, "-m", "app.cli", command],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


@contextmanager
def running_server(
    db_url: str,
    *,
    workers: int = 1,
    seed: bool = True,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve ``db_url`` on a free loopback port; yields the base URL and stops the server after.

    No KG_ setting leaks in from the test run's environment; ``env`` adds settings.
    """
    port = free_port()
    env = server_env(db_url, seed=seed, extra={**(env or {}), "KG_API_KEYS": WRITE_KEY})
    migrate(env)
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()  # type: ignore[union-attr]
