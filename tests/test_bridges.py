"""Bridges: igraph betweenness (exact or from sampled sources) against exact NetworkX."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from graphcrm.bench.metrics import bitcoin_frames, email_frames, load_frames
from graphcrm.config import Settings
from graphcrm.graph import AnalysisGraph, build_graph, build_graph_frames
from graphcrm.ingest.job import ingest_paths
from graphcrm.metrics.bridges import _batches, betweenness, sample_size
from graphcrm.metrics.influence import bridges
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.synth import build_tables, generate
from graphcrm.workspace import _CACHE, load_graph, read_snapshot, warm_graph


def _settings(**metrics: object) -> Settings:
    s = Settings()
    return dataclasses.replace(s, metrics=dataclasses.replace(s.metrics, **metrics))


def _generated(clients: int, seed: int, settings: Settings | None = None) -> AnalysisGraph:
    return build_graph_frames(build_tables(clients, seed=seed), settings)


def agreement(exact: pd.Series, estimate: pd.Series, top: int = 100) -> tuple[int, float]:
    """(overlap of the two top-``top`` sets, Spearman correlation over the exact top ``top``)."""
    best = exact.nlargest(top).index
    overlap = len(set(best) & set(estimate.nlargest(top).index))
    rho = spearmanr(exact[best].to_numpy(), estimate.reindex(best).to_numpy()).statistic
    return overlap, float(rho)


def test_exact_equals_networkx_and_bridges_are_clients() -> None:
    ag = _generated(400, seed=3)
    ours = betweenness(ag)
    assert ours.attrs["sample_size"] == len(ag.nodes)  # below the exact threshold
    ref = pd.Series(nx.betweenness_centrality(ag.G, weight="distance"))
    ref = ref.reindex(ours.index)
    # same values (a distance-0 tie is 1e-9 for igraph: differences far below the values)
    assert np.abs(ours.to_numpy() - ref.to_numpy()).max() < 1e-6 * ref.max()
    assert ours.idxmax() == ref.idxmax() and ref.max() > 0
    br = bridges(ag, top=10)
    assert (br["label"] == "Client").all() and len(br) == 10
    clients = ref[ag.nodes["label"].reindex(ref.index).to_numpy() == "Client"]
    expected = sorted(clients.index, key=lambda v: (-round(clients[v], 9), v))[:10]
    assert list(br["id"]) == expected
    assert br.attrs["sample_size"] == len(ag.nodes)


def test_sampled_is_deterministic_cached_reports_progress_and_snapshots(tmp_path: Path
                                                                         ) -> None:
    settings = _settings(betweenness_exact_max_nodes=100, betweenness_work_budget=10**9,
                         betweenness_samples=50, betweenness_min_samples=5)
    ag = _generated(500, 5, settings)
    assert sample_size(ag) == 50
    seen: list[tuple[int, int]] = []
    first = betweenness(ag, progress=lambda done, total: seen.append((done, total)))
    assert first.attrs["sample_size"] == 50
    assert seen[-1] == (50, 50) and len(seen) > 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    again = betweenness(_generated(500, 5, settings))  # a new graph: same seeded sample
    pd.testing.assert_series_equal(first, again)
    # the budget: sources = budget / ties, within [min, max]
    small = _settings(betweenness_exact_max_nodes=100, betweenness_work_budget=10 * 1000,
                      betweenness_samples=50, betweenness_min_samples=5)
    ties = _generated(500, 5, small).csr.strength.nnz // 2
    assert sample_size(_generated(500, 5, small)) == max(5, min(50, 10_000 // ties))
    # warm-up computes it and the snapshot keeps it: a new process reads it, no recompute
    store = SQLiteStore(tmp_path / "crm.db")
    generate(tmp_path / "data", 300, seed=2)
    ingest_paths([tmp_path / "data"], store, settings=settings)
    warm_graph(store, settings)
    _CACHE.clear()
    snap = read_snapshot(store, settings)
    assert snap is not None and "betweenness" in snap._cache
    assert load_graph(store, settings)._cache["betweenness"].attrs["sample_size"] == 50
    store.close()


def _real(name: str, datasets_dir: Path, tmp_path: Path) -> AnalysisGraph:
    store = SQLiteStore(tmp_path / f"{name}.db")
    load_frames(store, email_frames(datasets_dir) if name == "email"
                else bitcoin_frames(datasets_dir))
    ag = build_graph(store, _settings(betweenness_exact_max_nodes=0))
    store.close()
    return ag


@pytest.mark.slow
@pytest.mark.parametrize("name", ["email", "bitcoin", "generated"])
def test_sampled_top_bridges_agree_with_exact(name: str, datasets_dir: Path,
                                              tmp_path: Path) -> None:
    """The default sample size on graphs up to 10^4 nodes: the top 100 agree with exact
    betweenness (igraph all-sources, equal to NetworkX's: test above)."""
    if name == "generated":
        ag = _generated(5_000, 11, _settings(betweenness_exact_max_nodes=0))
    else:
        ag = _real(name, datasets_dir, tmp_path)
    n = len(ag.nodes)
    assert n <= 10_000
    k = sample_size(ag)
    assert k < n  # the sampled estimator is what is tested
    exact = betweenness(ag, sources=n)
    estimate = betweenness(ag)
    assert estimate.attrs["sample_size"] == k
    overlap, rho = agreement(exact, estimate)
    print(f"{name}: n={n} k={k} top-100 overlap {overlap}, Spearman {rho:.3f}")
    assert overlap >= 80
    assert rho >= 0.9


def test_sampled_estimate_is_unbiased_over_exactly_k_sources() -> None:
    """Averaged over seeds the estimate is the exact betweenness: the rescaling of
    NetworKit's batches (it draws nSamples + 1 sources) is right (off by one source per batch of
    2 the mean would be 0.5x or 1.5x the exact sum)."""
    ag = _generated(150, 8, _settings(betweenness_exact_max_nodes=0))
    exact = pd.Series(nx.betweenness_centrality(ag.G, weight="distance"))
    sums, top = [], []
    best = exact.idxmax()
    for seed in range(300):
        ag.settings = _settings(betweenness_exact_max_nodes=0, betweenness_progress_steps=2,
                                community_seed=seed)
        est = betweenness(ag, sources=4)  # two batches of 2 sources
        assert est.attrs["sample_size"] == 4
        sums.append(est.sum())
        top.append(est[best])
    assert 0.93 < np.mean(sums) / exact.sum() < 1.07
    assert 0.85 < np.mean(top) / exact[best] < 1.15


def test_threads_give_the_same_values_as_one_thread() -> None:
    kw = dict(betweenness_exact_max_nodes=50, betweenness_samples=40, betweenness_min_samples=5)
    one = _generated(300, 4, _settings(betweenness_threads=1, **kw))
    two = _generated(300, 4, _settings(betweenness_threads=2, **kw))
    seen: list[int] = []
    a = betweenness(one)
    b = betweenness(two, progress=lambda done, total: seen.append(done))
    assert a.attrs["sample_size"] == b.attrs["sample_size"] == 40
    assert seen[-1] == 40 and len(seen) == 10
    # the same sources; only the order of the sums differs
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=1e-15)
    assert a.max() > 0


@pytest.mark.parametrize("k,steps", [(2, 10), (3, 10), (5, 10), (16, 10), (32, 10), (33, 10),
                                     (500, 10), (7, 2), (4, 1)])
def test_batches_cover_k_sources_in_even_batches_of_two_or_more(k: int, steps: int) -> None:
    sizes = _batches(k, steps)
    assert sum(sizes) == k and min(sizes) >= 2
    assert len(sizes) <= max(steps, 1) + 1
    assert sum(b % 2 for b in sizes) <= 1  # at most one odd batch (the remainder)
