"""A client generated from /openapi.json by openapi-python-client works against a live server."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import WRITE_KEY
from tests.support.server import running_server

BIN = Path(sys.executable).parent


def _generate(schema: bytes, where: Path) -> None:
    spec = where / "openapi.json"
    spec.write_bytes(schema)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(where / "kg_client"),
            "--meta",
            "none",
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=where,
    )


def test_generated_client_searches_walks_paths_and_ingests(db_url: str, tmp_path: Path) -> None:
    with running_server(db_url) as base:
        _generate(httpx.get(base + "/openapi.json").content, tmp_path)
        sys.path.insert(0, str(tmp_path))
        try:
            kg = importlib.import_module("kg_client")
            search = importlib.import_module("kg_client.api.actors.search_actors")
            ties = importlib.import_module("kg_client.api.actors.list_ties")
            paths = importlib.import_module("kg_client.api.graph.find_paths")
            ingest = importlib.import_module("kg_client.api.ingest.ingest_batch")
            models = importlib.import_module("kg_client.models")

            reader = kg.Client(base_url=base)
            hits = search.sync(client=reader, q="tehran")
            assert hits.items[0].id == "iran" and hits.items[0].rank == 1

            iran = ties.sync("iran", client=reader, type_=[models.RelType.SPONSORS])
            assert {t.counterpart.id for t in iran.items} >= {"houthis"}

            found = paths.sync(
                client=reader, from_="iran", to="hamas", mode=models.FindPathsMode.ALLIANCE
            )
            assert found.items[0].nodes == ["iran", "houthis", "hamas"]

            writer = kg.AuthenticatedClient(base_url=base, token=WRITE_KEY)
            batch = models.Batch.from_dict(
                {
                    "actors": [{"id": "oman", "name": "Oman", "kind": "state"}],
                    "relationships": [
                        {
                            "source": "oman",
                            "target": "iran",
                            "type": "cooperates_with",
                            "evidence": [
                                {
                                    "source": "the-national-2025-04-04-iraq-syria",
                                    "quote": "good relations with Iran",
                                }
                            ],
                        }
                    ],
                }
            )
            result = ingest.sync(client=writer, body=batch)
            assert result.actors.created == 1 and result.relationships.created == 1

            refused = ingest.sync_detailed(client=reader, body=batch)
            assert refused.status_code == 401
            assert isinstance(refused.parsed, models.Problem)
        finally:
            sys.path.remove(str(tmp_path))
            for name in [m for m in sys.modules if m.startswith("kg_client")]:
                del sys.modules[name]
