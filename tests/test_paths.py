"""Warm paths: exact answers on a hand-made world and brute force on the bundled sample."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graphcrm.graph import AnalysisGraph, build_graph
from graphcrm.metrics import UnknownIdError
from graphcrm.metrics.paths import connection_distances, warm_paths
from graphcrm.model import TABLES
from graphcrm.store.sqlite import SQLiteStore
from tests.conftest import SAMPLE_DIR
from tests.graph_fixtures import build_world

# hand-computed warmths (products of default strengths), see graph_fixtures.build_world
FAMILY = 0.5 * 0.95 * 0.85 * 0.75  # A1-C1-C2-C3-P
COLLEAGUE = 0.5 * 0.45  # A1-C4-P
FRIENDS = 0.5 * 0.6 * 0.6  # A1-C4-C5-P
BUSINESS = 0.5 * 0.35  # A1-C7-P
COUSIN = 0.5 * 0.55 * 0.6  # A1-C1-C5-P


SEARCHES = ("balls", "whole graph")


def _searching(ag: AnalysisGraph, search: str) -> AnalysisGraph:
    """``ag`` with its warm paths found the given way: candidate balls with the hop-bounded
    A* bound, or the whole graph with the Dijkstra bound (path_whole_graph_max_nodes and
    path_whole_graph_share: share 0 switches as soon as the balls grow past their ends)."""
    whole = search == "whole graph"
    m = dataclasses.replace(ag.settings.metrics, path_whole_graph_max_nodes=10**9 if whole else 0,
                            path_whole_graph_share=0.0)
    ag.settings = dataclasses.replace(ag.settings, metrics=m)
    return ag


@pytest.mark.parametrize("search", SEARCHES)
def test_exact_paths_with_introducer_diversity(tmp_store: SQLiteStore, search: str) -> None:
    build_world(tmp_store)
    ag = _searching(build_graph(tmp_store), search)
    paths = warm_paths(ag, "A1", "P", k=3, max_hops=4)
    # by distance alone the third path would be FRIENDS (0.18 > 0.175), but it repeats the
    # introducer C4, so the business partner C7 comes first
    assert [p.ids for p in paths] == [["C1", "C2", "C3", "P"], ["C4", "P"], ["C7", "P"]]
    assert [p.warmth for p in paths] == pytest.approx([FAMILY, COLLEAGUE, BUSINESS])
    assert paths[0].distance == pytest.approx(-math.log(FAMILY))
    hop = paths[0].hops[0]
    assert (hop.person_id, hop.tie_type, hop.strength, hop.serving_agent, hop.label) == (
        "C1", "SERVES", pytest.approx(0.5), "A1", "Client")
    assert paths[0].hops[1].tie_kind == "spouse"
    assert paths[0].hops[3].tie_type == "RELATIVE_OF" and paths[0].hops[3].tie_kind == "sibling"
    # with k=5 the fill comes in distance order after the three introducers
    five = warm_paths(ag, "A1", "P", k=5, max_hops=4)
    assert [p.warmth for p in five] == pytest.approx([FAMILY, COLLEAGUE, BUSINESS, FRIENDS,
                                                     COUSIN])
    # max_hops cuts the family path
    three = warm_paths(ag, "A1", "P", k=3, max_hops=3)
    assert [p.ids for p in three] == [["C4", "P"], ["C7", "P"], ["C1", "C5", "P"]]


@pytest.mark.parametrize("search", SEARCHES)
def test_distrust_never_on_a_path(tmp_store: SQLiteStore, search: str) -> None:
    build_world(tmp_store)
    ag = _searching(build_graph(tmp_store), search)
    for p in warm_paths(ag, "A1", "P", k=10, max_hops=4):
        assert p.hops[0].person_id != "C6"  # the A1-C6 tie was removed by the complaint


@pytest.mark.parametrize("search", SEARCHES)
def test_no_path_and_unknown_ids(tmp_store: SQLiteStore, search: str) -> None:
    build_world(tmp_store)
    ag = _searching(build_graph(tmp_store), search)
    assert warm_paths(ag, "A1", "Q") == []  # Q only knows agent A2
    assert warm_paths(ag, "A1", "P", max_hops=1) == []
    with pytest.raises(UnknownIdError, match="unknown target id 'X9'"):
        warm_paths(ag, "A1", "X9")
    with pytest.raises(UnknownIdError, match="unknown source id 'A9'"):
        warm_paths(ag, "A9", "P")


def _sample_store(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    with store.transaction():
        for t in TABLES:
            df = pd.read_csv(SAMPLE_DIR / f"{t.name}.csv", dtype=str, keep_default_na=False)
            df = df.replace("", None)
            for c in t.columns:
                if c.kind in ("float", "int"):
                    df[c.name] = pd.to_numeric(df[c.name])
                elif c.kind == "bool":
                    df[c.name] = df[c.name].map({"true": 1, "false": 0})
            df = df.astype(object).where(df.notna(), None)
            store.upsert(t, df[list(t.column_names)])
    return store


def _reference(g: nx.Graph, s: str, t: str, k: int, hops: int) -> list[float]:
    """Plain NetworkX: every simple path within ``hops``, best per introducer, then fill."""
    paths = sorted(
        (nx.path_weight(g, p, "distance"), p) for p in nx.all_simple_paths(g, s, t, cutoff=hops)
    )
    seen: set[str | None] = set()
    chosen, rest = [], []
    for d, p in paths:
        intro = p[1] if len(p) > 2 else None
        if intro not in seen and len(chosen) < k:
            seen.add(intro)
            chosen.append(d)
        else:
            rest.append(d)
    return chosen + rest[: k - len(chosen)]


@pytest.mark.parametrize("search", [*SEARCHES, "balls, every node sorted as a hub"])
def test_matches_brute_force_on_sample(tmp_path: Path, search: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if search.endswith("hub"):  # the NumPy children sort of nodes with many ties, everywhere
        import graphcrm.metrics.paths as paths_module

        monkeypatch.setattr(paths_module, "_NUMPY_CHILDREN", 0)
    store = _sample_store(tmp_path / "sample.db")
    ag = _searching(build_graph(store), search.split(",")[0])
    g = ag.G
    rng = np.random.default_rng(5)
    prospects = list(ag.clients.index[ag.clients["status"] == "prospect"])
    agents = list(ag.agents.index)
    found = 0
    for _ in range(25):
        a, p = str(rng.choice(agents)), str(rng.choice(prospects))
        got = warm_paths(ag, a, p, k=3, max_hops=3)
        ref = _reference(g, a, p, 3, 3)
        assert [x.distance for x in got] == pytest.approx(ref, abs=1e-9)
        for x in got:
            assert len(x.hops) <= 3 and x.hops[-1].person_id == p
            assert nx.path_weight(g, [a, *x.ids], "distance") == pytest.approx(x.distance)
        dist = connection_distances(ag, a, max_hops=3)
        if ref:
            found += 1
            assert dist.at[p, "distance"] == pytest.approx(ref[0])
        else:
            assert p not in dist.index
    assert found >= 5
    store.close()


def test_operation_map_and_penetration(tmp_store: SQLiteStore) -> None:
    from graphcrm.metrics.opmap import COLUMNS, operation_map
    from graphcrm.metrics.penetration import penetration_network

    build_world(tmp_store)
    ag = build_graph(tmp_store)
    om = operation_map(ag, "A1").set_index("person_id")
    assert list(om.reset_index().columns) == COLUMNS
    # reachable clients within 4 hops: all but Q; C6 is in the book but the tie is gone, yet
    # C6 is reachable through P (A1-C1-C2-C3-P-C6 is 5 hops, A1-C4-P-C6 is 3)
    assert set(om.index) == {"C1", "C2", "C3", "C4", "C5", "C6", "C7", "P"}
    assert om.at["P", "warmth"] == pytest.approx(FAMILY)
    assert om.at["P", "best_introducer"] == "C1" and om.at["P", "hops"] == 4
    assert om.at["C4", "best_introducer"] is None and om.at["C4", "tie_type"] == "SERVES"
    assert om.at["C6", "warmth"] == pytest.approx(COLLEAGUE * 0.95)
    assert om.at["C6", "best_introducer"] == "C4"
    assert om["warmth"].is_monotonic_decreasing
    with pytest.raises(UnknownIdError, match="unknown agent id 'C1'"):
        operation_map(ag, "C1")

    pen = penetration_network(ag, ["C1", "C2"], hops=1)
    assert dict(zip(pen.nodes["id"], pen.nodes["hop"], strict=True)) == {
        "C1": 0, "C2": 0, "A1": 1, "C3": 1, "C5": 1}
    assert not pen.capped
    pairs = {frozenset((a, b)) for a, b in zip(pen.edges["src"], pen.edges["dst"], strict=True)}
    assert pairs == {frozenset(p) for p in [("C1", "C2"), ("A1", "C1"), ("C2", "C3"),
                                            ("C1", "C5")]}
    fam = penetration_network(ag, ["C1"], hops=3, types=["RELATIVE_OF"])
    assert set(fam.nodes["id"]) == {"C1", "C2", "C3", "C5", "P"}
    capped = penetration_network(ag, ["P"], hops=2, max_nodes=3)
    assert capped.capped and len(capped.nodes) == 3
    # the two strongest ties of P are kept first: C6 (0.95) and C3 (0.75)
    assert set(capped.nodes["id"]) == {"P", "C6", "C3"}


def test_busiest_centres_rank_by_networkx_degree(tmp_path: Path) -> None:
    """The penetration page's default centres come from the CSR view; NetworkX's degree on
    ``ag.G`` (the way they were ranked before) gives the same list, on the sample and with a
    repeated tie and an organization pool."""
    from graphcrm.metrics.penetration import busiest_centres, tie_counts

    store = _sample_store(tmp_path / "sample.db")
    ag = build_graph(store)
    deg = pd.Series(dict(ag.G.degree()))
    assert tie_counts(ag).to_dict() == deg.reindex(ag.nodes.index).to_dict()
    for kind, pool in (("client", ag.clients.index), ("family", ag.clients.index),
                       ("organization", ag.organizations.index)):
        ref = deg.reindex(pool).dropna().sort_values(ascending=False, kind="stable")
        assert busiest_centres(ag, kind) == list(ref.index[:50])
        assert len(busiest_centres(ag, kind, 7)) == min(7, len(ref))
    # a tie listed twice in the edge table (u-v and v-u) is one neighbour, as in a nx.Graph
    twice = ag.edges.iloc[[0]].rename(columns={"u": "v", "v": "u"})
    ag2 = type(ag)(**{k: v for k, v in ag.__dict__.items() if k not in ("G", "csr", "_cache")})
    ag2.edges = pd.concat([ag.edges, twice], ignore_index=True)
    u, v = ag.edges.iloc[0][["u", "v"]]
    assert tie_counts(ag2)[u] == ag2.G.degree(u) == deg[u]
    assert tie_counts(ag2)[v] == ag2.G.degree(v) == deg[v]
    store.close()


def test_penetration_of_chosen_tie_types_equals_networkx_on_those_ties(tmp_path: Path
                                                                      ) -> None:
    """The penetration network reads each tie's type from a code per tie (not a filtered copy
    of the graph per call): on the sample, for several centres and type choices, its people and
    ties are NetworkX's ``ego_graph`` of the graph of only those ties (of non-zero strength)."""
    from graphcrm.metrics.penetration import busiest_centres, penetration_network

    store = _sample_store(tmp_path / "sample.db")
    ag = build_graph(store)
    e = ag.edges
    choices = [["RELATIVE_OF"], ["WORKS_AT", "COLLEAGUE_OF"], ["FRIEND_OF", "REFERRED"],
               sorted(set(e["type"]) - {"SERVES"})]
    centres = busiest_centres(ag, "client", 3) + busiest_centres(ag, "organization", 2)
    checked = 0
    for types in choices:
        sel = e.loc[e["type"].isin(types) & (e["strength"] > 0) & (e["u"] != e["v"])]
        h = nx.Graph()
        h.add_edges_from(zip(sel["u"], sel["v"], strict=True))
        for centre in centres:
            for hops in (1, 2):
                pen = penetration_network(ag, [centre], hops=hops, types=types, max_nodes=10**6)
                want = nx.ego_graph(h, centre, radius=hops) if centre in h else nx.Graph()
                want.add_node(centre)
                assert set(pen.nodes["id"]) == set(want.nodes), (types, centre, hops)
                assert {frozenset(p) for p in zip(pen.edges["src"], pen.edges["dst"],
                                                  strict=True)} == \
                    {frozenset(p) for p in want.edges}, (types, centre, hops)
                assert set(pen.edges["type"]) <= set(types)
                checked += len(pen.edges)
    assert checked > 100
    store.close()


def test_tie_direction_comes_from_the_stored_ties(tmp_path: Path) -> None:
    """``is_tie_source`` (sorted integer keys over node positions) against the store's own rows
    read as (source, target, type) triples, both ways round, on every REFERRED / RELATIVE_OF
    tie of the sample and on ties of other types."""
    from graphcrm.metrics.lookup import is_tie_source

    store = _sample_store(tmp_path / "sample.db")
    ag = build_graph(store)
    r = ag.relationships
    stored = set(zip(r["src_id"].astype(str), r["dst_id"].astype(str), r["type"], strict=True))
    directed = r.loc[r["type"].isin(["REFERRED", "RELATIVE_OF"])]
    assert len(directed) > 100
    for a, b, tt in zip(directed["src_id"], directed["dst_id"], directed["type"], strict=True):
        assert is_tie_source(ag, a, b, tt)
        assert is_tie_source(ag, b, a, tt) == ((b, a, tt) in stored), (a, b, tt)
    for a, b, tt in zip(ag.edges["u"][:300], ag.edges["v"][:300], ag.edges["type"][:300],
                        strict=True):
        for t2 in ("REFERRED", "RELATIVE_OF"):
            want = (a, b, t2) in stored or (b, a, t2) not in stored
            assert is_tie_source(ag, a, b, t2) == want
        if tt == "SERVES":
            assert is_tie_source(ag, a, b, tt) == (a in ag.agents.index)
    store.close()


def test_cli_paths_map_hubs(tmp_store: SQLiteStore) -> None:
    import json

    from click.testing import CliRunner

    from graphcrm.cli import main

    build_world(tmp_store)
    loc = tmp_store.location
    run = CliRunner().invoke
    res = run(main, ["paths", "--from", "A1", "--to", "P", "--store", loc, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [p["first_introducer"] for p in data["paths"]] == ["C1", "C4", "C7"]
    assert data["paths"][0]["steps"][3]["person_id"] == "P"
    assert data["paths"][0]["warmth"] == pytest.approx(FAMILY)
    res = run(main, ["paths", "--from", "A1", "--to", "Q", "--store", loc, "--lang", "en"])
    assert res.exit_code == 0 and "No warm path within 4 ties" in res.output
    res = run(main, ["paths", "--from", "A1", "--to", "nobody", "--store", loc, "--lang", "en"])
    assert res.exit_code == 1 and "no person with the id or name 'nobody'" in res.output
    res = run(main, ["map", "--agent", "A1", "--store", loc, "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["rows"]
    assert rows[0]["person_id"] == "C1" and len(rows) == 8
    res = run(main, ["hubs", "--top", "2", "--store", loc, "--json"])
    assert res.exit_code == 0, res.output
    hubs = json.loads(res.output)["hubs"]
    assert len(hubs) == 2 and hubs[0]["id"] == "P"
    res = run(main, ["hubs", "--agents", "--store", loc, "--json"])
    assert res.exit_code == 0, res.output
    agents = json.loads(res.output)["agents"]
    # A1 serves C1, C4, C7 (C6's tie is distrusted but C6 is still in A1's book), A2 serves Q
    assert [(a["id"], a["clients"]) for a in agents] == [("A1", 4), ("A2", 1)]
    assert {h["id"] for h in json.loads(res.output)["hubs"]}.isdisjoint({"A1", "A2"})


def test_subgraph_and_ball_match_scipy() -> None:
    """The NumPy gathers that replaced SciPy's slicing and csgraph's BFS give the same
    subgraph, balls and hop counts on a random graph (isolated nodes included)."""
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    from graphcrm.metrics.paths import _Bfs, _distinct, _hops_from, _subgraph

    rng = np.random.default_rng(11)
    n = 400
    a, b = rng.integers(0, n - 20, 900), rng.integers(0, n - 20, 900)  # the last 20 isolated
    w = sp.coo_matrix((rng.random(900) + 0.1, (a, b)), shape=(n, n)).tocsr()
    g = (w + w.T).tocsr()
    g.setdiag(0)
    g.eliminate_zeros()
    g.sort_indices()
    hop = csgraph.shortest_path(g, unweighted=True, directed=False)
    scratch = np.empty(n, dtype=np.int64)
    assert sorted(_distinct(np.array([5, 3, 5, 5, 1, 3]), scratch)) == [1, 3, 5]
    for start in (0, 7, n - 1):
        for depth in (0, 1, 2, 3):
            ball = np.flatnonzero(_Bfs(g, start).grow(depth).seen)
            assert ball.tolist() == np.flatnonzero(hop[start] <= depth).tolist()
        nodes = np.flatnonzero(_Bfs(g, start).grow(2).seen)
        sub = _subgraph(g, nodes)
        ref = g[nodes][:, nodes].tocsr()
        ref.sort_indices()
        assert sub.indptr.tolist() == ref.indptr.tolist()
        assert sub.indices.tolist() == ref.indices.tolist()
        assert sub.data.tolist() == ref.data.tolist()
        si = int(np.searchsorted(nodes, start))
        want = csgraph.shortest_path(ref, unweighted=True, directed=False, indices=si)
        want[want > 3] = np.inf
        assert _hops_from(sub, si, 3).tolist() == want.tolist()


def _random_ties(seed: int, n: int, m: int, isolated: int) -> Any:
    """A symmetric random CSR graph of ``n`` nodes and ``m`` drawn ties (weights > 0), its
    last ``isolated`` nodes without ties, and the same graph as the search's ``_Sub``."""
    import scipy.sparse as sp

    from graphcrm.metrics.paths import _Sub

    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n - isolated, m), rng.integers(0, n - isolated, m)
    w = sp.coo_matrix((rng.random(m) + 0.05, (a, b)), shape=(n, n)).tocsr()
    g = (w + w.T).tocsr()
    g.setdiag(0)
    g.eliminate_zeros()
    g.sort_indices()
    return g, _Sub(g.indptr.astype(np.int64), g.indices.astype(np.int64), g.data)


def test_hop_bounded_bounds_equal_full_bellman_ford() -> None:
    """The frontier rounds of the A* bounds equal plain Bellman–Ford rounds over every tie."""
    from graphcrm.metrics.paths import _hop_bounded_to, _hops_from

    n = 300
    g, sub = _random_ties(3, n, 700, isolated=10)
    dense = np.where(g.toarray() > 0, g.toarray(), np.inf)
    skipped = 0
    for target in (0, 5, n - 1):
        want = np.full((7, n), np.inf)
        want[0, target] = 0.0
        for r in range(1, 7):
            want[r] = np.minimum(want[r - 1], (dense + want[r - 1][None, :]).min(axis=1))
        assert np.array_equal(_hop_bounded_to(sub, target, 6), want)
        # given the hop counts from a source, exact wherever the search reads the bound
        # (r <= 6 - hops(s, v)), and less work: some entry elsewhere is left uncomputed
        hs = _hops_from(sub, 7, 6)
        part = _hop_bounded_to(sub, target, 6, hs)
        readable = np.arange(7)[:, None] <= 6 - hs[None, :]
        assert np.array_equal(part[readable], want[readable])
        skipped += int((part[~readable] != want[~readable]).sum())
    assert skipped  # node n - 1 is isolated: only the two other targets skip anything


def test_dijkstra_bound_is_a_lower_bound_with_the_same_reach() -> None:
    """The whole-graph search's bound never exceeds the hop-bounded distance (admissible),
    is finite exactly where a hop-bounded path exists (so the search enters no node that
    cannot reach the target in the ties left) and equals the unbounded distance there."""
    from scipy.sparse import csgraph

    from graphcrm.metrics.paths import _dijkstra_bound, _hop_bounded_to

    n = 300
    g, sub = _random_ties(8, n, 500, isolated=10)
    stricter = 0
    for target in (0, int(np.diff(g.indptr).argmax()), n - 1):
        exact = _hop_bounded_to(sub, target, 5)
        got = _dijkstra_bound(g, target, 5)
        assert np.array_equal(np.isfinite(got), np.isfinite(exact))
        assert (got[np.isfinite(got)] <= exact[np.isfinite(exact)] + 1e-12).all()
        unbounded = csgraph.dijkstra(g, directed=False, indices=target)
        reach = np.isfinite(got)
        assert np.allclose(got[reach], np.broadcast_to(unbounded, got.shape)[reach])
        stricter += int((got[reach] < exact[reach] - 1e-9).sum())
    # the hop limit matters on this sparse graph: somewhere the bound is strictly lower
    assert stricter


def test_bfs_hops_by_pointer_jumping_match_scipy() -> None:
    """Hop counts from SciPy's BFS order and pointer jumping equal csgraph's unweighted
    shortest paths: sparse and dense random graphs (unreachable nodes inf) and a long chain
    (many jumping rounds)."""
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    from graphcrm.metrics.paths import _bfs_hops

    rng = np.random.default_rng(1)
    graphs = []
    for n, m in [(300, 320), (300, 900), (1000, 1100)]:
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        graphs.append(sp.coo_matrix((rng.random(m) + 0.1, (a, b)), shape=(n, n)).tocsr())
    chain = np.arange(1999)
    graphs.append(sp.coo_matrix((np.ones(1999), (chain, chain + 1)), shape=(2000, 2000)).tocsr())
    for w in graphs:
        g = (w + w.T).tocsr()
        n = g.shape[0]
        for start in (0, 3, n // 2, n - 1):
            want = csgraph.shortest_path(g, unweighted=True, directed=False, indices=start)
            assert np.array_equal(_bfs_hops(g, start), want)


@pytest.mark.parametrize("max_hops", [4, 6])
def test_both_searches_agree_on_a_generated_network(tmp_path: Path, max_hops: int) -> None:
    """The candidate balls with the hop-bounded bound and the whole graph with the Dijkstra
    bound are two searches of the same paths: on a generated company network (too many
    paths for brute force at 6 hops) they return the same distances and the same people."""
    from graphcrm.bench.metrics import _read_generated
    from graphcrm.graph import build_graph_frames
    from graphcrm.synth import generate

    generate(tmp_path, 1500, seed=3)
    ag = build_graph_frames(_read_generated(tmp_path))
    rng = np.random.default_rng(2)
    agents = list(ag.agents.index)
    people = list(ag.clients.index)
    found = 0
    for _ in range(40):
        a, p = str(rng.choice(agents)), str(rng.choice(people))
        balls = warm_paths(_searching(ag, "balls"), a, p, k=3, max_hops=max_hops)
        whole = warm_paths(_searching(ag, "whole graph"), a, p, k=3, max_hops=max_hops)
        assert [x.distance for x in balls] == pytest.approx([x.distance for x in whole],
                                                            abs=1e-9)
        found += bool(balls)
    assert found >= 10


def test_candidates_hold_every_node_of_every_short_path() -> None:
    """The bidirectional candidate set (balls of a + b = max_hops - 1 levels) contains every
    node of every simple path of at most max_hops ties, on a random graph, brute force."""
    import scipy.sparse as sp

    from graphcrm.metrics.paths import _candidates

    rng = np.random.default_rng(8)
    n = 60
    a, b = rng.integers(0, n, 110), rng.integers(0, n, 110)
    w = sp.coo_matrix((np.ones(110), (a, b)), shape=(n, n)).tocsr()
    g = (w + w.T).tocsr()
    g.setdiag(0)
    g.eliminate_zeros()
    g.sort_indices()
    nxg = nx.from_scipy_sparse_array(g)
    for s, t in [(0, 1), (2, 40), (5, 59), (10, 11)]:
        for hmax in (1, 2, 3, 4, 5):
            on_paths = {v for p in nx.all_simple_paths(nxg, s, t, cutoff=hmax) for v in p}
            assert on_paths <= set(_candidates(g, s, t, hmax).tolist()), (s, t, hmax)


def test_candidates_drop_shell_nodes_that_lead_nowhere() -> None:
    """Outer-shell nodes of the two balls with no tie to the other ball's shell are on no path
    within max_hops and are not candidates (a path 0-2-3-1 with dead ends 0-4-5 and 1-6-7)."""
    import scipy.sparse as sp

    from graphcrm.metrics.paths import _candidates

    edges = [(0, 2), (2, 3), (3, 1), (0, 4), (4, 5), (1, 6), (6, 7)]
    a, b = zip(*edges, strict=True)
    w = sp.coo_matrix((np.ones(len(edges)), (a, b)), shape=(8, 8)).tocsr()
    g = (w + w.T).tocsr()
    g.sort_indices()
    # the balls are {0, 2, 4} and {1, 3, 6}; only the shell tie 2-3 leads anywhere
    assert _candidates(g, 0, 1, 3).tolist() == [0, 1, 2, 3]


def test_operation_map_rows_in_distance_then_id_order(tmp_path: Path) -> None:
    """The sample's biggest book: rows ordered as pandas orders (distance, person_id) with the
    unreachable book clients last, and the client look-up mask equals ``Index.isin``."""
    from graphcrm.metrics.opmap import in_index, operation_map
    from tests.test_app import build_sample_store

    with SQLiteStore(build_sample_store(tmp_path / "s.db"), create=False) as store:
        ag = build_graph(store)
    for agent in list(ag.serving.value_counts().index[:3]):
        om = operation_map(ag, agent)
        expected = om.sort_values(["distance", "person_id"], na_position="last")
        assert om["person_id"].tolist() == expected["person_id"].tolist()
        assert om["person_id"].is_unique
        assert set(ag.book(agent)) <= set(om["person_id"])
    ids = pd.Index([*ag.nodes.index[::7], "nobody", "C1"])
    assert np.array_equal(in_index(ag.clients.index, ids), ids.isin(ag.clients.index))


def test_a_cold_path_names_its_weakest_tie_and_what_to_do(tmp_store: SQLiteStore) -> None:
    """Cold advice is about this path: the weakest tie in words with its strength, and the
    agent's own tie to warm when that is the weak one, else the pair to ask about."""
    from graphcrm.metrics.narrate import tell_path
    from graphcrm.metrics.paths import Hop, WarmPath

    build_world(tmp_store)
    ag = build_graph(tmp_store)

    def path(strengths: list[float]) -> WarmPath:
        hops = [Hop(p, ag.name(p), "Client", "FRIEND_OF", None, s, None, None)
                for p, s in zip(["C1", "C2", "C3"], strengths, strict=True)]
        warmth = math.prod(strengths)
        return WarmPath(hops, -math.log(warmth), warmth)

    further = tell_path(ag, "A1", path([0.9, 0.1, 0.8]), "en")
    assert further.level == "cold"
    assert "further along" in further.opener and "0.10" in further.opener
    assert f"whether {ag.name('C1')} knows {ag.name('C2')}" in further.opener
    assert f"ask {ag.name('C1')} first" in further.opener
    own = tell_path(ag, "A1", path([0.1, 0.9, 0.8]), "en")
    assert f"your own tie with {ag.name('C1')}" in own.opener and "0.10" in own.opener
    assert "further along" not in own.opener
    zh = tell_path(ag, "A1", path([0.9, 0.1, 0.8]), "zh")
    assert "最弱的一环在后面" in zh.opener and ag.name("C2") in zh.opener
    warm = tell_path(ag, "A1", path([0.95, 0.95, 0.95]), "en")
    assert warm.level != "cold" and "weak link" not in warm.opener


def test_a_cold_path_weak_at_an_employer_asks_about_people_there(tmp_store: SQLiteStore) -> None:
    """When the weakest tie joins a person and an organization, the advice asks whether the
    person still knows someone there, never whether the person "knows" a company."""
    from graphcrm.metrics.narrate import tell_path
    from graphcrm.metrics.paths import Hop, WarmPath

    build_world(tmp_store)
    ag = build_graph(tmp_store)
    hops = [Hop("C4", ag.name("C4"), "Client", "FRIEND_OF", None, 0.9, None, None),
            Hop("O1", ag.name("O1"), "Organization", "WORKS_AT", None, 0.1, None, None)]
    cold = WarmPath(hops, -math.log(0.09), 0.09)
    en = tell_path(ag, "A1", cold, "en")
    assert f"whether {ag.name('C4')} still knows someone at {ag.name('O1')}" in en.opener
    assert f"knows {ag.name('O1')}" not in en.opener
    zh = tell_path(ag, "A1", cold, "zh")
    assert f"{ag.name('C4')}在{ag.name('O1')}是否还有熟到可以引荐的人" in zh.opener
