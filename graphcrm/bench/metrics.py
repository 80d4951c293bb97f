"""``graphcrm bench metrics``: the influence pass and warm paths vs plain NetworkX and igraph.

Also holds the loaders that turn the real SNAP networks (the datasets folder beside the
checkout) into a GraphCRM store, used by the benchmark and by ``tests/test_real_networks.py``:

* **email-Eu-core**: every person is a client ``E<n>``; each e-mail pair (either direction,
  once) is a FRIEND_OF tie; each department ``D<d>`` an organization with WORKS_AT ties; five
  agents ``AG0..AG4`` serve the people whose number is ``i`` mod 50.
* **bitcoin-otc**: every user ``B<n>`` is a client except the ``n_agents`` users who rated most
  others, who become agents. A rating between an agent and a client is an interaction
  (``message`` on the rating's date with the rating, so a negative rating is distrust); a pair of
  clients with only positive ratings is a FRIEND_OF tie with confidence = mean rating / 10; a
  client pair with any negative rating gets no tie.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python
from scipy.stats import spearmanr

from graphcrm.graph import build_graph, build_graph_frames
from graphcrm.metrics.bridges import betweenness
from graphcrm.metrics.influence import pagerank, people_graph, power_circle, referral_reach
from graphcrm.metrics.paths import warm_paths
from graphcrm.model import TABLES, TABLES_BY_NAME
from graphcrm.store.base import GraphStore
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.synth import generate

DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS")
                or Path(__file__).resolve().parents[2].parent / "shared" / "datasets")


def _put(store: GraphStore, table: str, rows: pd.DataFrame) -> None:
    t = TABLES_BY_NAME[table]
    frame = rows.reindex(columns=list(t.column_names))
    frame = frame.astype(object).where(frame.notna(), None)
    store.upsert(t, frame)


def email_frames(datasets_dir: Path) -> dict[str, pd.DataFrame]:
    """The email-Eu-core network as GraphCRM tables (see the module docstring)."""
    e = pd.read_csv(datasets_dir / "email-Eu-core.txt", sep=r"\s+", header=None,
                    names=["a", "b"])
    dept = pd.read_csv(datasets_dir / "email-Eu-core-department-labels.txt", sep=r"\s+",
                       header=None, names=["n", "d"])
    e = e.loc[e["a"] != e["b"]]
    lo, hi = np.minimum(e["a"], e["b"]), np.maximum(e["a"], e["b"])
    pairs = pd.DataFrame({"a": lo, "b": hi}).drop_duplicates()
    people = sorted(set(dept["n"]) | set(pairs["a"]) | set(pairs["b"]))
    clients = pd.DataFrame({"client_id": [f"E{n}" for n in people],
                            "name": [f"Person {n}" for n in people]})
    orgs = pd.DataFrame({"org_id": [f"D{d}" for d in sorted(dept["d"].unique())],
                         "name": [f"Department {d}" for d in sorted(dept["d"].unique())]})
    agents = pd.DataFrame({"agent_id": [f"AG{i}" for i in range(5)],
                           "name": [f"Agent {i}" for i in range(5)], "team": "T",
                           "hire_date": "2020-01-01", "status": "active"})
    rels = pd.concat([
        pd.DataFrame({"src_id": "E" + pairs["a"].astype(str),
                      "dst_id": "E" + pairs["b"].astype(str),
                      "type": "FRIEND_OF"}),
        pd.DataFrame({"src_id": "E" + dept["n"].astype(str),
                      "dst_id": "D" + dept["d"].astype(str),
                      "type": "WORKS_AT"}),
        pd.DataFrame({"src_id": [f"AG{n % 50}" for n in people if n % 50 < 5],
                      "dst_id": [f"E{n}" for n in people if n % 50 < 5], "type": "SERVES"}),
    ], ignore_index=True)
    return {"agents": agents, "organizations": orgs, "clients": clients, "relationships": rels}


def bitcoin_frames(datasets_dir: Path, n_agents: int = 30) -> dict[str, pd.DataFrame]:
    """The bitcoin-otc trust network as GraphCRM tables (see the module docstring)."""
    r = pd.read_csv(datasets_dir / "soc-sign-bitcoinotc.csv", header=None,
                    names=["src", "dst", "rating", "time"])
    r = r.loc[r["src"] != r["dst"]]
    r["date"] = pd.to_datetime(r["time"], unit="s").dt.strftime("%Y-%m-%d")
    top = r["src"].value_counts().sort_index().sort_values(ascending=False, kind="stable")
    agent_set = set(top.index[:n_agents])
    people = sorted(set(r["src"]) | set(r["dst"]))
    is_agent_src, is_agent_dst = r["src"].isin(agent_set), r["dst"].isin(agent_set)
    ac = r.loc[is_agent_src ^ is_agent_dst]
    agent = np.where(ac["src"].isin(agent_set), ac["src"], ac["dst"])
    client = np.where(ac["src"].isin(agent_set), ac["dst"], ac["src"])
    inter = pd.DataFrame({"interaction_id": [f"R{i}" for i in ac.index],
                          "agent_id": [f"B{a}" for a in agent],
                          "client_id": [f"B{c}" for c in client], "type": "message",
                          "date": ac["date"].to_numpy(), "rating": ac["rating"].to_numpy()})
    cc = r.loc[~is_agent_src & ~is_agent_dst]
    lo, hi = np.minimum(cc["src"], cc["dst"]), np.maximum(cc["src"], cc["dst"])
    g = pd.DataFrame({"a": lo, "b": hi, "rating": cc["rating"]}).groupby(["a", "b"])["rating"]
    agg = pd.DataFrame({"min": g.min(), "mean": g.mean()}).reset_index()
    agg = agg.loc[agg["min"] > 0]
    rels = pd.DataFrame({"src_id": "B" + agg["a"].astype(str), "dst_id": "B" + agg["b"].astype(str),
                         "type": "FRIEND_OF", "confidence": (agg["mean"] / 10).to_numpy()})
    agents = pd.DataFrame({"agent_id": [f"B{a}" for a in sorted(agent_set)],
                           "name": [f"Trader {a}" for a in sorted(agent_set)], "team": "T",
                           "hire_date": "2010-01-01", "status": "active"})
    clients = pd.DataFrame({"client_id": [f"B{n}" for n in people if n not in agent_set],
                            "name": [f"Trader {n}" for n in people if n not in agent_set]})
    return {"agents": agents, "organizations": pd.DataFrame(columns=["org_id", "name"]),
            "clients": clients, "relationships": rels, "interactions": inter,
            "ratings": r}


def load_frames(store: GraphStore, frames: dict[str, pd.DataFrame]) -> None:
    """Write dataset frames into ``store`` in ingest order, in one transaction."""
    with store.transaction():
        for table in ("agents", "organizations", "clients", "policies", "relationships",
                      "interactions"):
            if table in frames and len(frames[table]):
                _put(store, table, frames[table])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _read_generated(data_dir: Path) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    for t in TABLES:
        df = pd.read_csv(data_dir / f"{t.name}.csv", dtype=str, keep_default_na=False)
        df = df.replace("", None)
        for c in t.columns:
            if c.kind in ("float", "int") and c.name in df:
                df[c.name] = pd.to_numeric(df[c.name])
        frames[t.name] = df
    return frames


def graph_bytes(ag: Any) -> int:
    """Bytes held by the analysis graph's own structures (edge table, nodes, CSR view)."""
    c = ag.csr
    total = int(ag.edges.memory_usage(deep=True).sum() + ag.nodes.memory_usage(deep=True).sum())
    for m in (c.strength, c.distance):
        total += m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
    return total + c.edge_pos.nbytes + c.ids.nbytes


def _in_child(func: Any, budget: float) -> tuple[float | None, float]:
    """Run ``func()`` in a forked child; (seconds or None if over ``budget``, child peak MB)."""
    ctx = mp.get_context("fork")
    q: Any = ctx.Queue()

    def target() -> None:
        t0 = time.perf_counter()
        func()
        q.put((time.perf_counter() - t0, _rss_mb()))

    proc = ctx.Process(target=target)
    proc.start()
    proc.join(budget)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None, float("nan")
    return q.get() if not q.empty() else (None, float("nan"))


def plain_networkx_influence(g: Any, referrals: Any, pure_python: bool) -> None:
    """The influence pass as a user would write it with NetworkX alone."""
    if pure_python:
        _pagerank_python(g, weight="strength")
    else:
        nx.pagerank(g, weight="strength")
    {v: sum(g[v][w]["strength"] * (1 + sum(g[w][u]["strength"] for u in g[w] if u != v))
            for w in g[v]) for v in g}
    {v: len(nx.descendants(referrals, v)) for v in referrals if referrals.out_degree(v)}


def run_bench(clients: int, dataset: str | None, seed: int, pairs: int, baseline_budget: float,
              data_dir: Path | None, work: Path,
              parts: tuple[str, ...] = ("influence", "bridges", "paths"),
              exact_networkx: bool = False, reference_sources: int = 0) -> dict[str, Any]:
    """Everything ``graphcrm bench metrics`` reports, as a dict (documented keys)."""
    out: dict[str, Any] = {"dataset": dataset or "generated", "clients_requested": clients}
    t0 = time.perf_counter()
    if dataset:
        frames = email_frames(DATASETS) if dataset == "email" else bitcoin_frames(DATASETS)
        store = SQLiteStore(work / f"{dataset}.db")
        load_frames(store, frames)
        t1 = time.perf_counter()
        ag = build_graph(store)
        store.close()
    else:
        if data_dir is None:
            data_dir = work / "data"
            generate(data_dir, clients, seed=seed)
        out["generate_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        frames = _read_generated(data_dir)
        t1 = time.perf_counter()
        ag = build_graph_frames(frames)
        out["read_s"] = round(t1 - t0, 2)
    _ = ag.csr
    out["build_s"] = round(time.perf_counter() - t1, 2)
    n_nodes, n_edges = len(ag.nodes), len(ag.edges)
    out.update(nodes=n_nodes, ties=n_edges, relationships=len(ag.relationships),
               clients=len(ag.clients), referrals=ag.referrals.number_of_edges())
    out["analysis_graph_mb"] = round(graph_bytes(ag) / 2**20, 1)
    out["rss_after_build_mb"] = round(_rss_mb(), 1)

    if "bridges" in parts:
        out.update(bench_bridges(ag, baseline_budget, exact_networkx, out["build_s"],
                                 reference_sources))
    if "influence" in parts:
        out.update(_bench_influence(ag, baseline_budget))
    if "paths" in parts:
        out.update(_bench_paths(ag, seed, pairs))
        out.update(bench_hard_paths(ag, seed, min(pairs, HARD_PAIRS)))
    out["peak_rss_mb"] = round(_rss_mb(), 1)
    return out


#: accuracy of the sampled bridges is measured against exact betweenness up to this many nodes
BRIDGES_ACCURACY_MAX_NODES = 12_000


def igraph_sampled_betweenness(ag: Any, k: int, seed: int) -> pd.Series:
    """The former estimator (session 3's default), for comparison in the same run: ``k``
    sources drawn without replacement, igraph's subset betweenness from them to every target,
    scaled by ``n / k`` and normalized like NetworkX."""
    import warnings

    import igraph as ig
    import scipy.sparse as sp

    c = ag.csr
    n = len(c.ids)
    upper = sp.triu(c.distance, k=1).tocoo()
    g = ig.Graph(n=n, edges=np.column_stack([upper.row, upper.col]).astype(np.int32),
                 directed=False)
    chosen = np.sort(np.random.default_rng(seed).choice(n, size=min(k, n), replace=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        total = np.asarray(g.betweenness(directed=False, weights=np.maximum(upper.data, 1e-9),
                                         sources=chosen.tolist()))
    total *= n / len(chosen) * (2.0 / ((n - 1) * (n - 2)) if n > 2 else 1.0)
    return pd.Series(total, index=c.ids, name="betweenness")


def _agreement(exact: Any, est: Any) -> tuple[int, float]:
    """(top-100 overlap, Spearman correlation over the exact top 100)."""
    best = exact.nlargest(100).index
    overlap = len(set(best) & set(est.nlargest(100).index))
    return overlap, round(float(spearmanr(exact[best], est.reindex(best)).statistic), 3)


def bench_bridges(ag: Any, baseline_budget: float, exact_networkx: bool = False,
                  build_s: float | None = None, reference_sources: int = 0) -> dict[str, Any]:
    """Bridges: ours (NetworKit's linear-scaling estimate, sampled by the work budget) vs the
    former igraph source sampling with the same number of sources and vs the NetworkX sampling
    ``hubs --bridges`` ran first (``nx.betweenness_centrality(k=200)``, in a forked child
    within the budget); on graphs up to :data:`BRIDGES_ACCURACY_MAX_NODES` nodes the top-100
    agreement of both estimators with exact betweenness at several sample sizes (exact = igraph
    from every source; with ``exact_networkx`` also NetworkX's exact betweenness, and the
    largest difference between the two); above, with ``reference_sources``, the agreement of
    both with igraph sampling from that many other sources (a reference, not exact)."""

    out: dict[str, Any] = {}
    seed = ag.settings.metrics.community_seed
    ag._cache.pop("betweenness", None)
    t = time.perf_counter()
    ours = betweenness(ag)
    secs = time.perf_counter() - t
    n = len(ag.csr.ids)
    k = ours.attrs["sample_size"]
    out["bridges_ours_s"] = round(secs, 2)
    out["bridges_sample_size"] = k
    old = None
    if k < n:
        t = time.perf_counter()
        old = igraph_sampled_betweenness(ag, k, seed)
        out["bridges_igraph_sources_s"] = round(time.perf_counter() - t, 2)
        out["ratio_bridges_ours_to_igraph_sources"] = round(
            secs / out["bridges_igraph_sources_s"], 2)
    if build_s:
        out["ratio_bridges_ours_to_build"] = round(secs / build_s, 2)
    if n > BRIDGES_ACCURACY_MAX_NODES and reference_sources > 0:
        t = time.perf_counter()
        ref = igraph_sampled_betweenness(ag, reference_sources, seed + 1)
        out["bridges_reference_sources"] = reference_sources
        out["bridges_reference_s"] = round(time.perf_counter() - t, 2)
        out["bridges_vs_reference_top100"] = _agreement(ref, ours)
        if old is not None:
            out["bridges_igraph_sources_vs_reference_top100"] = _agreement(ref, old)
    if n > BRIDGES_ACCURACY_MAX_NODES and baseline_budget <= 0:
        return out  # --baseline-budget 0: no NetworkX graph at all (10^6: 30 s and 3 GB)
    g = ag.G
    if baseline_budget > 0:
        base, _ = _in_child(lambda: nx.betweenness_centrality(g, k=min(200, n),
                                                              weight="distance", seed=42),
                            baseline_budget)
        out["bridges_networkx_k200_s"] = None if base is None else round(base, 2)
        out["bridges_speedup_vs_networkx_k200"] = (round(base / secs, 1) if base is not None
                                                   else f">{baseline_budget / secs:.1f}")
    if n > BRIDGES_ACCURACY_MAX_NODES:
        return out

    t = time.perf_counter()
    exact = betweenness(ag, sources=n)
    out["bridges_exact_igraph_s"] = round(time.perf_counter() - t, 2)
    if exact_networkx:
        t = time.perf_counter()
        ref = pd.Series(nx.betweenness_centrality(g, weight="distance")).reindex(exact.index)
        out["bridges_exact_networkx_s"] = round(time.perf_counter() - t, 2)
        out["bridges_exact_igraph_vs_networkx_max_rel_diff"] = float(
            (exact - ref).abs().max() / ref.max())
        out["bridges_exact_igraph_vs_networkx_top100"] = _agreement(ref, exact)
        exact = ref
    overlap, rho = _agreement(exact, ours)
    out["bridges_top100_overlap"] = overlap
    out["bridges_top100_spearman"] = rho
    if old is not None:
        out["bridges_igraph_sources_top100"] = _agreement(exact, old)
    curve, curve_old = {}, {}
    for kk in (16, 32, 64, 128, 256, 500):
        if kk < n:
            curve[kk] = _agreement(exact, betweenness(ag, sources=kk))
            curve_old[kk] = _agreement(exact, igraph_sampled_betweenness(ag, kk, seed))
    out["bridges_accuracy_by_sources"] = curve
    out["bridges_igraph_sources_accuracy_by_sources"] = curve_old
    return out


def _bench_influence(ag: Any, baseline_budget: float) -> dict[str, Any]:

    out: dict[str, Any] = {}
    runs = []
    for _ in range(2):  # best of two, as for igraph
        t = time.perf_counter()
        pr = pagerank(ag)
        power_circle(ag)
        referral_reach(ag)
        runs.append(time.perf_counter() - t)
    ours = min(runs)
    out["ours_influence_s"] = round(ours, 3)

    import igraph as ig

    # the influence pass runs on the people graph (no agents): so do the baselines
    people_ids, people_strength = people_graph(ag)
    coo = people_strength.tocoo()
    upper = coo.row < coo.col
    t = time.perf_counter()
    gi = ig.Graph(n=len(people_ids),
                  edges=np.column_stack([coo.row[upper], coo.col[upper]]).tolist(),
                  directed=False)
    out["igraph_build_s"] = round(time.perf_counter() - t, 2)
    gi.es["w"] = coo.data[upper].tolist()
    runs = []
    for _ in range(2):  # the first call also loads igraph's PRPACK machinery
        t = time.perf_counter()
        pri = gi.pagerank(weights="w", damping=ag.settings.metrics.pagerank_alpha)
        runs.append(time.perf_counter() - t)
    ig_s = min(runs)
    out["igraph_pagerank_s"] = round(ig_s, 3)
    out["igraph_pagerank_max_abs_diff"] = float(np.abs(np.asarray(pri) - pr.to_numpy()).max())
    out["ratio_ours_vs_igraph_pagerank"] = round(ours / ig_s, 3) if ig_s else None

    t = time.perf_counter()
    g = ag.G.copy()
    g.remove_nodes_from(ag.agents.index)
    out["networkx_graph_build_s"] = round(time.perf_counter() - t, 2)
    out["rss_with_networkx_graph_mb"] = round(_rss_mb(), 1)
    for label, pure in (("networkx_default", False), ("networkx_pure_python", True)):
        secs, peak = _in_child(lambda p=pure: plain_networkx_influence(g, ag.referrals, p),
                               baseline_budget)
        out[f"{label}_influence_s"] = None if secs is None else round(secs, 2)
        out[f"{label}_timed_out"] = secs is None
        out[f"{label}_child_peak_mb"] = None if np.isnan(peak) else round(peak, 1)
        out[f"{label}_speedup"] = (round(secs / ours, 1) if secs is not None
                                   else f">{baseline_budget / ours:.1f}")
    out["baseline_budget_s"] = baseline_budget
    return out


#: pairs per hop bound in the hard set (each is also timed with NetworkX)
HARD_PAIRS = 200


def hard_pairs(ag: Any, seed: int, pairs: int) -> list[tuple[str, str]]:
    """The hard pair set: a random agent to one of the 100 best-connected people."""
    deg = pd.Series(np.diff(ag.csr.strength.indptr), index=ag.csr.ids)
    people = deg[ag.nodes["label"].reindex(deg.index).to_numpy() == "Client"]
    top = people.sort_values(ascending=False, kind="stable").index[:100].to_numpy()
    rng = np.random.default_rng(seed + 1)
    agents = ag.agents.index.to_numpy()
    return [(str(rng.choice(agents)), str(rng.choice(top))) for _ in range(pairs)]


def bench_hard_paths(ag: Any, seed: int, pairs: int) -> dict[str, Any]:
    """Warm paths on the hard set (:func:`hard_pairs`) with ``max_hops`` 5 and 6, against
    NetworkX's weighted ``shortest_path`` (the best path only, no hop bound) on the same pairs;
    p50/p99 over the pairs that have a path, and the ratio ours / NetworkX. Ours twice: the
    answer people get (``top_k_paths`` paths through different introducers) and the best path
    alone (``k=1``, what NetworkX's call gives), interleaved pair by pair."""


    out: dict[str, Any] = {}
    g = ag.G
    sample = hard_pairs(ag, seed, pairs)
    for hops in (5, 6):
        ours, best, base, best_ok, comparable = [], [], [], 0, 0
        for a, b in sample:
            t = time.perf_counter()
            res = warm_paths(ag, a, b, max_hops=hops)
            dt = time.perf_counter() - t
            t = time.perf_counter()
            warm_paths(ag, a, b, k=1, max_hops=hops)
            d1 = time.perf_counter() - t
            t = time.perf_counter()
            try:
                ref = nx.shortest_path(g, a, b, weight="distance")
            except nx.NetworkXNoPath:
                ref = None
            db = time.perf_counter() - t
            if res:
                ours.append(dt)
                best.append(d1)
                base.append(db)
                if ref is not None and len(ref) - 1 <= hops:
                    comparable += 1
                    ref_d = nx.path_weight(g, ref, "distance")
                    best_ok += res[0].distance <= ref_d + 1e-9
        o, o1, b_ = np.array(ours) * 1000, np.array(best) * 1000, np.array(base) * 1000
        key = f"hard_paths_h{hops}"
        out[f"{key}_found"] = len(o)
        if len(o):
            out[f"{key}_p50_ms"] = round(float(np.median(o)), 2)
            out[f"{key}_p99_ms"] = round(float(np.percentile(o, 99)), 2)
            out[f"{key}_networkx_p50_ms"] = round(float(np.median(b_)), 2)
            out[f"{key}_networkx_p99_ms"] = round(float(np.percentile(b_, 99)), 2)
            out[f"{key}_ratio_p99_ours_vs_networkx"] = round(
                float(np.percentile(o, 99) / np.percentile(b_, 99)), 2)
            out[f"{key}_ratio_p50_ours_vs_networkx"] = round(
                float(np.median(o) / np.median(b_)), 2)
            out[f"{key}_best_p50_ms"] = round(float(np.median(o1)), 2)
            out[f"{key}_best_p99_ms"] = round(float(np.percentile(o1, 99)), 2)
            out[f"{key}_ratio_p50_best_vs_networkx"] = round(
                float(np.median(o1) / np.median(b_)), 2)
            out[f"{key}_ratio_p99_best_vs_networkx"] = round(
                float(np.percentile(o1, 99) / np.percentile(b_, 99)), 2)
            # of the pairs whose NetworkX shortest path is within the hop bound, how many
            # of our best paths are as short (must be all)
            out[f"{key}_best_as_short_as_networkx"] = f"{best_ok}/{comparable}"
    return out


def _bench_paths(ag: Any, seed: int, pairs: int) -> dict[str, Any]:

    out: dict[str, Any] = {}
    rng = np.random.default_rng(seed)
    agents = ag.agents.index.to_numpy()
    prospects = ag.clients.index[ag.clients["status"] == "prospect"].to_numpy()
    if not len(prospects):
        prospects = ag.clients.index.to_numpy()
    times, hit = [], []
    warm_paths(ag, str(agents[0]), str(prospects[0]))  # first call builds nothing, warms caches
    for _ in range(pairs):
        a, p = str(rng.choice(agents)), str(rng.choice(prospects))
        t = time.perf_counter()
        res = warm_paths(ag, a, p)
        times.append(time.perf_counter() - t)
        hit.append(bool(res))
    ms = np.array(times) * 1000
    found = ms[np.array(hit, dtype=bool)]
    out.update(paths_pairs=pairs, paths_found=len(found),
               paths_p50_ms=round(float(np.median(ms)), 2),
               paths_p99_ms=round(float(np.percentile(ms, 99)), 2),
               paths_max_ms=round(float(ms.max()), 2),
               paths_found_p50_ms=round(float(np.median(found)), 2) if len(found) else None,
               paths_found_p99_ms=(round(float(np.percentile(found, 99)), 2)
                                   if len(found) else None))
    return out
