"""The hubs page's tables from the warm-up's index (graphcrm.metrics.hub_scope) against the same
tables computed directly from the influence table, on the real sample store; and the index as
read back from the snapshot."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphcrm.graph import build_graph
from graphcrm.metrics.hub_scope import INDEX_KEY, hub_scope_index, hubs_in_scope
from graphcrm.metrics.influence import hubs, influence_table
from graphcrm.metrics.narrate import circle_names
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import read_snapshot, warm_graph
from tests.test_app import build_sample_store


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_store(tmp_path_factory.mktemp("hubscope") / "sample.db")


def direct(ag, members: set[str], everyone: bool, top: int):  # type: ignore[no-untyped-def]
    """The hubs page's tables as it computed them on every visit (a pass over every client)."""
    table = influence_table(ag)
    every = hubs(ag, top=len(ag.clients), table=table)
    mine = every.loc[every["serving_agent"].isin(members)].head(top).reset_index(drop=True)
    served = ag.serving.reindex(table["id"]).isin(members).to_numpy()
    scoped = table.loc[(table["label"] == "Client") & (served | everyone)]
    clients = table.loc[(table["label"] == "Client") & table["circle"].notna(), ["id", "circle"]]
    clients = clients.assign(served=ag.serving.reindex(clients["id"]).isin(members).to_numpy())
    pen = clients.groupby("circle").agg(members=("id", "size"), served=("served", "sum"))
    if not everyone:
        pen = pen.loc[pen["served"] > 0]
    pen = pen.sort_values("members", ascending=False, kind="stable").head(10)
    pen.index = pen.index.astype(np.int64)
    return mine, scoped["influence"].to_numpy(), pen, circle_names(ag, table)


def check(ag, members: set[str], everyone: bool, top: int = 20) -> None:  # type: ignore[no-untyped-def]
    view = hubs_in_scope(ag, members, everyone, top)
    mine, infl, pen, names = direct(ag, members, everyone, top)
    pd.testing.assert_frame_equal(view.hubs, mine, check_dtype=False)
    np.testing.assert_array_equal(view.influence, infl)
    assert view.circles["members"].tolist() == pen["members"].tolist()
    assert view.circles["served"].tolist() == pen["served"].astype(int).tolist()
    assert view.circles.index.tolist() == pen.index.tolist()
    # every circle the page names (its hubs' circles and the circle table's) named the same
    shown = set(view.circles.index) | set(mine["circle"].dropna().astype(int))
    got = circle_names(ag, view.circle_top)
    assert shown and set(got) == shown
    assert got == {c: names[c] for c in shown}


def test_hubs_in_scope_equals_the_direct_tables(sample: Path) -> None:
    with SQLiteStore(sample, create=False) as store:
        ag = build_graph(store)
    agents = ag.agents
    check(ag, set(agents.index), everyone=True)
    for team in agents["team"].dropna().unique():
        check(ag, set(agents.index[agents["team"] == team]), everyone=False)
    biggest = str(ag.serving.value_counts().index[0])
    check(ag, {biggest}, everyone=False, top=5)
    check(ag, {biggest}, everyone=True, top=500)  # more hubs than the book holds
    view = hubs_in_scope(ag, set(), everyone=False)
    assert view.hubs.empty and not len(view.influence) and view.circles.empty


def test_index_is_read_from_the_snapshot_and_holds_no_names(sample: Path,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "warm.db"
    shutil.copy(sample, path)
    with SQLiteStore(path, create=False) as store:
        warm_graph(store)
        ag = read_snapshot(store, build_graph(store).settings)
        fresh = build_graph(store)
    assert ag is not None and INDEX_KEY in ag._cache  # saved by the warm-up, not recomputed
    assert "agent_influence" in ag._cache
    agents = set(fresh.agents.index)
    team = fresh.agents["team"].dropna().iloc[0]
    for members, everyone in ((agents, True),
                              (set(fresh.agents.index[fresh.agents["team"] == team]), False)):
        a, b = hubs_in_scope(ag, members, everyone), hubs_in_scope(fresh, members, everyone)
        pd.testing.assert_frame_equal(a.hubs, b.hubs)
        np.testing.assert_array_equal(a.influence, b.influence)
        pd.testing.assert_frame_equal(a.circles, b.circles)
        pd.testing.assert_frame_equal(a.circle_top, b.circle_top)
    # numbers only, besides the agent code book: a scoped copy of the graph may carry it
    index = hub_scope_index(ag)
    for key, value in index.items():
        if key != "agents":
            assert value.dtype.kind in "iu", key
    assert set(index["agents"]) == agents


def test_app_server_primes_the_indexes_of_a_read_snapshot(sample: Path, tmp_path: Path) -> None:
    """A snapshot read back has its indexes' hash tables unbuilt (pandas keeps them in memory
    only); the app server's preload builds them before the first page looks anything up."""
    from graphcrm import workspace

    path = tmp_path / "prime.db"
    shutil.copy(sample, path)
    with SQLiteStore(path, create=False) as store:
        warm_graph(store)
        ag = read_snapshot(store, build_graph(store).settings)
    assert ag is not None
    big = [ag.clients.index, ag.nodes.index, ag._cache["influence"].index]
    assert not any(i._engine.is_mapping_populated for i in big)
    assert workspace.prime_indexes(ag) >= len(big)
    assert all(i._engine.is_mapping_populated for i in big)
