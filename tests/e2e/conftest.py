"""Browser-test fixtures; the shared helpers live in ``live_server.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

try:
    from tests.e2e.live_server import CHROMIUM
except ImportError:  # tests/e2e itself on sys.path (rootdir-less import mode)
    from live_server import CHROMIUM  # type: ignore[no-redef]


@pytest.fixture
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium binary at {CHROMIUM}")
    return CHROMIUM
