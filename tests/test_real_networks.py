"""Metrics on the real SNAP networks must equal plain NetworkX on the same graph."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graphcrm.bench.metrics import bitcoin_frames, email_frames, load_frames
from graphcrm.config import Settings
from graphcrm.graph import AnalysisGraph, build_graph
from graphcrm.metrics.influence import pagerank, power_circle
from graphcrm.metrics.paths import connection_distances, warm_paths
from graphcrm.store.sqlite import SQLiteStore


@pytest.fixture(scope="module")
def email(datasets_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AnalysisGraph:
    store = SQLiteStore(tmp_path_factory.mktemp("email") / "email.db")
    load_frames(store, email_frames(datasets_dir))
    ag = build_graph(store)
    store.close()
    return ag


@pytest.fixture(scope="module")
def bitcoin(datasets_dir: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[AnalysisGraph, pd.DataFrame]:
    store = SQLiteStore(tmp_path_factory.mktemp("btc") / "btc.db")
    frames = bitcoin_frames(datasets_dir)
    load_frames(store, frames)
    ag = build_graph(store)
    store.close()
    return ag, frames["ratings"]


def email_reference(datasets_dir: Path) -> nx.Graph:
    """The email network built straight from the files with the documented base strengths,
    times the decay floor: the files carry no dates, and an undated tie is fully decayed."""
    floor = Settings().metrics.decay_floor
    g = nx.Graph()
    for row in (datasets_dir / "email-Eu-core-department-labels.txt").read_text().splitlines():
        if row.strip():
            n, d = row.split()
            g.add_edge(f"E{n}", f"D{d}", strength=0.30 * floor)
            if int(n) % 50 < 5:
                g.add_edge(f"AG{int(n) % 50}", f"E{n}", strength=0.50 * floor)
    for row in (datasets_dir / "email-Eu-core.txt").read_text().splitlines():
        a, b = row.split()
        if a != b:
            g.add_edge(f"E{a}", f"E{b}", strength=0.60 * floor)
    for _, _, data in g.edges(data=True):
        data["distance"] = -np.log(data["strength"])
    return g


def _people(g: nx.Graph, agents: set[str]) -> nx.Graph:
    """The graph a client's influence runs on: without the agents (and their SERVES ties)."""
    return g.subgraph([v for v in g if v not in agents])


def _same_ranking(ours: pd.Series, ref: dict[str, float]) -> None:
    r = pd.Series(ref)
    assert set(ours.index) == set(r.index)
    ours = ours.reindex(r.index)
    assert np.abs(ours.to_numpy() - r.to_numpy()).max() < 1e-6
    # identical ranking (ties broken by id the same way on both sides)
    key = lambda s: sorted(s.index, key=lambda v: (-round(s[v], 12), v))  # noqa: E731
    assert key(ours) == key(r)


def test_email_pagerank_reach_distances(email: AnalysisGraph, datasets_dir: Path) -> None:
    ref = email_reference(datasets_dir)
    assert set(email.G.nodes) == set(ref.nodes)
    assert email.G.number_of_edges() == ref.number_of_edges()
    for u, v, data in ref.edges(data=True):
        assert email.G[u][v]["strength"] == pytest.approx(data["strength"])
    tol = email.settings.metrics.pagerank_tol
    people = _people(ref, set(email.agents.index))
    _same_ranking(pagerank(email), nx.pagerank(people, weight="strength", tol=tol))
    pc = power_circle(email)
    plain = {v: sum(people[v][w]["strength"] * (1 + sum(people[w][u]["strength"]
                                                          for u in people[w] if u != v))
                    for w in people[v]) for v in people}
    _same_ranking(pc, plain)
    for source in ("AG0", "AG3", "E0", "E17"):
        ours = connection_distances(email, source, max_hops=0)["distance"]
        lengths = nx.single_source_dijkstra_path_length(ref, source, weight="distance")
        lengths.pop(source)
        assert set(ours.index) == set(lengths)
        assert np.allclose(ours.reindex(list(lengths)).to_numpy(), list(lengths.values()),
                           atol=1e-9)


def test_email_warm_path_is_the_shortest_within_hops(email: AnalysisGraph) -> None:
    rng = np.random.default_rng(3)
    people = [v for v in email.clients.index if email.serving_agent(v) is None]
    for _ in range(20):
        a, p = f"AG{rng.integers(5)}", str(rng.choice(people))
        best = connection_distances(email, a, max_hops=4)
        paths = warm_paths(email, a, p, k=3, max_hops=4)
        if p in best.index:
            assert paths[0].distance == pytest.approx(best.at[p, "distance"], abs=1e-9)
            assert all(x.distance >= paths[0].distance - 1e-12 for x in paths)
        else:
            assert paths == []


def test_bitcoin_pagerank_and_negative_ratings_never_warm(
        bitcoin: tuple[AnalysisGraph, pd.DataFrame]) -> None:
    ag, ratings = bitcoin
    g = ag.G
    _same_ranking(pagerank(ag), nx.pagerank(_people(g, set(ag.agents.index)),
                                            weight="strength",
                                            tol=ag.settings.metrics.pagerank_tol))
    neg = ratings.loc[ratings["rating"] < 0]
    bad = {frozenset((f"B{a}", f"B{b}")) for a, b in zip(neg["src"], neg["dst"], strict=True)}
    agent_ids = set(ag.agents.index)
    agent_client_bad = [p for p in bad if len(p & agent_ids) == 1]
    assert len(agent_client_bad) > 100  # the data really holds agent-client distrust
    assert not any(g.has_edge(*p) for p in bad)
    rng = np.random.default_rng(11)
    clients = list(ag.clients.index)
    checked = 0
    for _ in range(40):
        a, p = str(rng.choice(list(agent_ids))), str(rng.choice(clients))
        for path in warm_paths(ag, a, p, k=3, max_hops=4):
            nodes = [a, *path.ids]
            for u, v in itertools.pairwise(nodes):
                assert frozenset((u, v)) not in bad
            checked += 1
    assert checked > 10


def test_circles_match_networkx_louvain_quality_and_are_deterministic(
        email: AnalysisGraph, datasets_dir: Path) -> None:
    """igraph's C Louvain must find circles as good as NetworkX's, the same on every run."""
    from graphcrm.metrics.influence import circles

    got = circles(email)
    g = email.G
    assert set(got.index) == set(g.nodes)
    ours = [set(members) for _, members in got.groupby(got).groups.items()]
    reference = nx.community.louvain_communities(g, weight="strength", seed=42)
    q_ours = nx.community.modularity(g, ours, weight="strength")
    q_ref = nx.community.modularity(g, reference, weight="strength")
    assert q_ours >= q_ref - 0.02, (q_ours, q_ref)
    # numbered by size, largest first
    sizes = got.value_counts().sort_index()
    assert sizes.is_monotonic_decreasing
    # a fresh graph (no cache) gives the same circles
    again = circles(build_graph_from(email))
    pd.testing.assert_series_equal(got.sort_index(), again.sort_index(), check_names=False)


def build_graph_from(ag: AnalysisGraph) -> AnalysisGraph:
    """A copy of the analysis graph without its metric caches."""
    import copy

    fresh = copy.copy(ag)
    fresh._cache = {}
    return fresh
