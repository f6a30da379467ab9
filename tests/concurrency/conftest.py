from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.server import running_server


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Callable[..., object]:
    def start(**kwargs: object) -> object:
        return running_server(db_url, log=tmp_path / "server.log", **kwargs)  # type: ignore[arg-type]

    return start
