"""Fixtures shared by every test module. Feature-specific fixtures live in their own modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphcrm.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
#: the real SNAP networks (../shared/datasets, beside the project in CI and development)
#: (GRAPHCRM_DATASETS overrides it, e.g. for a git worktree that is not beside ../shared)
DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS") or ROOT.parent / "shared" / "datasets")
SAMPLE_DIR = ROOT / "data" / "sample"


@pytest.fixture
def tmp_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A fresh embedded store in a real SQLite file."""
    store = SQLiteStore(tmp_path / "graphcrm.db")
    yield store
    store.close()


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS}")
    return DATASETS
