"""The analysis-graph snapshot beside an embedded store: reused only for the same data."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.config import Settings
from graphcrm.graph import build_graph
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import (
    _CACHE,
    load_graph,
    read_snapshot,
    snapshot_path,
    warm_graph,
)
from tests.graph_fixtures import build_world, client, put


def _edges(ag: object) -> pd.DataFrame:
    e = ag.edges  # type: ignore[attr-defined]
    return e.sort_values(["u", "v"]).reset_index(drop=True)


def test_warm_graph_saves_a_snapshot_a_new_process_reads(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    warmed = warm_graph(tmp_store)
    path = snapshot_path(tmp_store)
    assert path is not None and path.is_file()
    assert path.name == "graphcrm.db.analysis"
    _CACHE.clear()  # as in a new process
    loaded = load_graph(tmp_store)
    assert loaded is not warmed
    pd.testing.assert_frame_equal(_edges(loaded), _edges(build_graph(tmp_store)))
    # the whole-graph metrics computed by the warm-up come with it
    assert {"influence_table/True", "circles", "tiers", "trust"} <= set(loaded._cache)
    assert set(loaded.G.nodes) == set(loaded.nodes.index)  # G is rebuilt, not pickled


def test_a_change_to_the_data_makes_the_snapshot_stale(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    warm_graph(tmp_store)
    with tmp_store.transaction():
        put(tmp_store, "clients", [client("NEW")])
    assert read_snapshot(tmp_store, Settings()) is None
    _CACHE.clear()
    assert "NEW" in load_graph(tmp_store).nodes.index


def test_a_recreated_store_at_the_same_path_and_version_is_not_confused(tmp_path: Path
                                                                        ) -> None:
    db = tmp_path / "crm.db"
    with SQLiteStore(db) as store:
        build_world(store)
        version = store.data_version()
        warm_graph(store)
    snapshot = Path(f"{db}.analysis").read_bytes()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with SQLiteStore(db) as store:  # same path, different data, same data version
        with store.transaction():
            put(store, "clients", [client("OTHER")])
        assert store.data_version() == version
        Path(f"{db}.analysis").write_bytes(snapshot)
        _CACHE.clear()
        assert list(load_graph(store).nodes.index) == ["OTHER"]


def test_an_unreadable_snapshot_is_a_cache_miss(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    path = snapshot_path(tmp_store)
    assert path is not None
    path.write_bytes(b"not a pickle")
    _CACHE.clear()
    assert "P" in load_graph(tmp_store).nodes.index
    with path.open("rb") as fh:  # replaced by a good snapshot
        assert isinstance(pickle.load(fh), dict)


def test_ingest_command_warms_the_graph_unless_told_not_to(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    db = tmp_path / "s.db"
    result = CliRunner().invoke(main, ["ingest", str(sample / "agents.csv"), "--store", str(db),
                                       "--no-warm"])
    assert result.exit_code == 0, result.output
    assert not Path(f"{db}.analysis").exists()
    result = CliRunner().invoke(main, ["ingest", str(sample / "organizations.csv"),
                                       "--store", str(db)])
    assert result.exit_code == 0, result.output
    assert "analysis graph ready" in result.output
    with SQLiteStore(db) as store:
        assert read_snapshot(store, Settings()) is not None


def test_no_warm_then_first_metric_command_saves_its_tables(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    with SQLiteStore(db) as store:
        build_world(store)
    _CACHE.clear()
    # no warm-up: the first command builds the graph (snapshot without metrics) and computes
    out = CliRunner().invoke(main, ["hubs", "--store", str(db), "--json"])
    assert out.exit_code == 0, out.output
    with SQLiteStore(db) as store:
        snap = read_snapshot(store, Settings())
        assert snap is not None
        # the influence table the command computed was written back when it ended
        assert "influence_table/True" in snap._cache and "circles" in snap._cache
        _CACHE.clear()  # a new process: reads them, computes nothing
        ag = load_graph(store)
        stamp = snapshot_path(store).stat().st_mtime_ns  # type: ignore[union-attr]
        again = CliRunner().invoke(main, ["hubs", "--store", str(db), "--json"])
        assert again.exit_code == 0 and again.output == out.output
        # nothing new was computed, so the file was not rewritten
        assert snapshot_path(store).stat().st_mtime_ns == stamp  # type: ignore[union-attr]
        assert "influence_table/True" in ag._cache


def test_the_warm_up_saves_what_first_visits_read(tmp_store: SQLiteStore) -> None:
    """The operation map's influence scores and stages, the books and the penetration page's
    tie counts come with the snapshot, so a new app process does not work them out."""
    build_world(tmp_store)
    warm_graph(tmp_store)
    _CACHE.clear()
    loaded = read_snapshot(tmp_store, Settings())
    assert loaded is not None
    assert {"influence", "stages", "books", "tie_counts"} <= set(loaded._cache)


def test_preload_reads_the_graph_once_in_the_background(tmp_store: SQLiteStore) -> None:
    import time

    from graphcrm.workspace import preload_graph

    build_world(tmp_store)
    warm_graph(tmp_store)
    _CACHE.clear()
    location, version = str(tmp_store.location), tmp_store.data_version()
    assert preload_graph(location, version, Settings())
    assert not preload_graph(location, version, Settings())  # once per data version
    deadline = time.monotonic() + 120
    while not any(k[:2] == (location, version) for k in _CACHE):
        assert time.monotonic() < deadline, "the preload never filled the graph cache"
        time.sleep(0.05)
    preloaded = next(v for k, v in _CACHE.items() if k[:2] == (location, version))
    assert load_graph(tmp_store, Settings()) is preloaded  # the page's call finds it
    pd.testing.assert_frame_equal(_edges(preloaded), _edges(build_graph(tmp_store)))
