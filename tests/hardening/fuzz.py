"""Fuzz the live service with Schemathesis, every check on; exits non-zero on any failure.

    python -m tests.hardening.fuzz [--max-time 150] [--max-examples 40] [--seed N]

Serves a freshly seeded database (KG_DATABASE_URL when it names PostgreSQL, whose schema is
reset first; otherwise a temporary SQLite file) on a loopback port with a write key, and runs
``schemathesis run`` against its /openapi.json with that key as a header. Settings that cannot
live in the schema are in schemathesis.toml next to this file. On failure the server's log (where
any 500 left its traceback) is printed after Schemathesis' report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import WRITE_KEY, reset_postgres
from tests.support.server import running_server

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=150, help="seconds for the whole run")
    parser.add_argument("--max-examples", type=int, default=40, help="cases per operation")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--report-dir", default=None)
    args = parser.parse_args(argv)

    url = os.environ.get("KG_DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="kg-fuzz-") as tmp:
        if url.startswith("postgresql"):
            reset_postgres(url)
        else:
            url = f"sqlite:///{Path(tmp) / 'fuzz.sqlite3'}"
        log = Path(tmp) / "server.log"
        seed = args.seed if args.seed is not None else time.time_ns() % 1_000_000
        report_dir = args.report_dir or str(Path(tmp) / "report")
        with running_server(url, log=log) as base:
            cmd = [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {WRITE_KEY}",
                "--max-examples",
                str(args.max_examples),
                "--max-time",
                str(args.max_time),
                "--seed",
                str(seed),
                # One worker: Hypothesis parses lambda sources with ast.parse, which CPython 3.11
                # can fail on when two threads do it at once ("AST constructor recursion depth").
                "--workers",
                "1",
                "--no-color",
                "--report",
                "junit",
                "--report-dir",
                report_dir,
                "--generation-database",
                "none",
            ]
            print(f"fuzzing {base} ({url.split('://')[0]}), seed {seed}", flush=True)
            # In the temporary directory: Schemathesis keeps a cache where it runs.
            code = subprocess.call(cmd, cwd=tmp)
        if code != 0:
            print("\n==== server log ====\n" + log.read_text(errors="replace")[-20_000:])
    return code


if __name__ == "__main__":
    sys.exit(main())
