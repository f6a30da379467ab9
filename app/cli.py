"""The `kg` command: serve, migrate, seed, import, export."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from app.settings import Settings
from app.vocabulary import RelType


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.auth import generate_key
    from app.db import make_engine
    from app.migrate import upgrade
    from app.seed import load_seed

    settings = Settings()
    # Migrate and seed once, before workers start, so they never race each other.
    engine = make_engine(settings)
    upgrade(engine)
    if settings.seed:
        loaded = load_seed(engine, settings.seed_dir)
        if loaded:
            print(f"Loaded {loaded} seed batch(es) into the empty database.")
    engine.dispose()
    if not settings.api_keys:
        # One key for every worker: generated here, handed down through the environment.
        key = generate_key()
        os.environ["KG_API_KEYS"] = key
        print(f"\n  No KG_API_KEYS set; write key for this run:\n    {key}\n")
    base = f"http://{args.host}:{args.port}"
    print(f"  API docs: {base}/docs   explorer: {base}/explorer\n", flush=True)
    uvicorn.run(
        "app.main:app", host=args.host, port=args.port, workers=args.workers, log_level="info"
    )
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from app.db import make_engine
    from app.migrate import upgrade

    migrating = make_engine(Settings())
    upgrade(migrating)
    migrating.dispose()
    print("Database is at the latest schema.")
    return 0


def _seed(_: argparse.Namespace) -> int:
    from app.db import make_engine
    from app.migrate import upgrade
    from app.seed import load_seed

    settings = Settings()
    engine = make_engine(settings)
    upgrade(engine)
    print(f"Loaded {load_seed(engine, settings.seed_dir)} seed batch(es).")
    return 0


def _import(args: argparse.Namespace) -> int:
    import time

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    from app.bulk import import_files
    from app.db import make_engine
    from app.migrate import upgrade

    paths = [Path(name) for name in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    migrating = make_engine(Settings())
    upgrade(migrating)
    migrating.dispose()
    # Every reference is checked (ingest._plan) inside the transaction that holds the write
    # lock, so SQLite's own per-row foreign-key lookups would only repeat that work.
    engine = make_engine(Settings(), foreign_keys=False)
    err = Console(stderr=True)
    started = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=args.quiet or not err.is_terminal,
    ) as bar:
        task = bar.add_task("importing", total=sum(p.stat().st_size for p in paths))
        report = import_files(
            engine,
            paths,
            chunk_size=args.chunk_size,
            progress=lambda n: bar.advance(task, n),
            max_rejects=args.max_rejects,
        )
    seconds = time.perf_counter() - started
    for reject in report.rejects[: args.show_rejects]:
        print(f"rejected {reject}", file=sys.stderr)
    if report.rejected > args.show_rejects:
        print(f"... {report.rejected - args.show_rejects} more rejection(s)", file=sys.stderr)
    summary = report.as_dict()
    summary["seconds"] = round(seconds, 2)
    print(json.dumps(summary))
    return 1 if report.rejected else 0


def _export(args: argparse.Namespace) -> int:
    from app.bulk import export_graph
    from app.db import make_engine

    out = open(args.output, "wb") if args.output != "-" else sys.stdout.buffer  # noqa: SIM115
    try:
        export_graph(
            make_engine(Settings()),
            out,
            fmt=args.format,
            as_of=args.as_of,
            types=set(args.type) if args.type else None,
            polarity=args.polarity,
        )
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kg", description="Geopolitical knowledge graph.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, seed an empty database, and serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=_serve)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=_migrate)
    sub.add_parser("seed", help="load seed_data/ into an empty database").set_defaults(func=_seed)
    from app.bulk import DEFAULT_CHUNK

    imp = sub.add_parser(
        "import",
        help="stream JSON batches or NDJSON files into the database",
        description="Import JSON batches (the body of POST /v1/ingest) or NDJSON files (one "
        '{"source": ...}, {"actor": ...} or {"relationship": ...} per line), validated as the '
        "API validates, CHUNK items per transaction. Invalid items are reported and skipped; "
        "the exit status is 1 when any was. Importing a file again changes nothing.",
    )
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, metavar="CHUNK")
    imp.add_argument("--max-rejects", type=int, default=None, help="stop after this many")
    imp.add_argument("--show-rejects", type=int, default=50, help="print at most this many")
    imp.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    imp.set_defaults(func=_import)
    exp = sub.add_parser("export", help="write the graph in an export format")
    exp.add_argument(
        "--format", default="graphml", choices=["node-link", "cytoscape", "graphml", "gexf"]
    )
    exp.add_argument("--as-of", default=None, help="only ties holding on this date")
    exp.add_argument("--type", action="append", choices=[t.value for t in RelType])
    exp.add_argument("--polarity", choices=["positive", "negative", "neutral"])
    exp.add_argument("--output", "-o", default="-")
    exp.set_defaults(func=_export)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
