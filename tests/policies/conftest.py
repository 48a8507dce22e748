"""One policy-pack process for the whole session: start-up costs about half a second, each call a millisecond."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_preview.analyzer_client import PackProcess

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pack() -> Iterator[PackProcess]:
    with PackProcess(REPO / "policies", project="keyless-ingest", stack="test", base_dir=REPO) as process:
        yield process
