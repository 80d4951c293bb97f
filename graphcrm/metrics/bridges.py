"""Bridges (桥梁人物): betweenness over connection distance, in C (igraph), exact or sampled.

Definition (docs/metrics.md): the betweenness of ``v`` is the share of shortest paths (by tie
distance ``-ln strength``) between other pairs of people that pass through ``v`` — normalized as
:func:`networkx.betweenness_centrality` does (``2 / ((n-1)(n-2))`` on an undirected graph).

How it is computed:

* **Exact** (every node a source) up to ``settings.metrics.betweenness_exact_max_nodes`` nodes,
  with igraph's Brandes betweenness (C). Equal to NetworkX's exact values (tests).
* **Sampled sources** above: ``k`` sources drawn without replacement with
  ``community_seed``, igraph's subset betweenness from them to every target, scaled by ``n / k``
  (the estimator :func:`networkx.betweenness_centrality` uses with ``k``; unbiased). ``k`` is
  the work budget ``betweenness_work_budget`` (source × tie visits) divided by the number of
  ties, kept within ``[betweenness_min_samples, betweenness_samples]``, so the time grows about
  linearly with the graph instead of with its square.
* The sources are independent: above ``betweenness_parallel_min_work`` (sources × ties) their
  batches run on ``betweenness_processes`` worker processes (igraph holds the GIL, so threads
  do not help); the batches are summed in source order, so the result is the same bits.

Accuracy (measured, docs/benchmarks-metrics.md; tested in tests/test_bridges.py): on the real
email-Eu-core and bitcoin-otc networks and a generated 10^4-client graph, the top 100 by the
sampled estimate and by exact betweenness overlap in >= 80 of 100 and their Spearman rank
correlation over the exact top 100 is >= 0.9 at the sample sizes the budget gives there.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphcrm.graph import AnalysisGraph

__all__ = ["betweenness", "sample_size"]

#: igraph needs positive weights; a distance-0 tie (strength 1) counts as this much
_MIN_DISTANCE = 1e-9

#: progress callback: (sources done, sources in all)
Progress = Callable[[int, int], None]


def sample_size(ag: AnalysisGraph) -> int:
    """Number of sources the betweenness of ``ag`` uses (= node count when exact)."""
    m = ag.settings.metrics
    n = len(ag.csr.ids)
    if n <= m.betweenness_exact_max_nodes:
        return n
    ties = max(int(ag.csr.strength.nnz // 2), 1)
    k = int(m.betweenness_work_budget // ties)
    k = max(m.betweenness_min_samples, min(m.betweenness_samples, k))
    return min(k, n)


def betweenness(ag: AnalysisGraph, progress: Progress | None = None,
                sources: int | None = None) -> pd.Series:
    """Betweenness centrality of every node over tie distance (see the module docstring).

    Parameters
    ----------
    ag : AnalysisGraph
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch of sources (for the app's
        progress bar); ``total`` is the sample size.
    sources : int, optional
        Force this many sampled sources (default :func:`sample_size`); ``sources >= n`` is exact.
        A forced size is not cached.

    Returns
    -------
    Series
        Betweenness by node id (normalized like NetworkX), named ``betweenness``;
        ``s.attrs['sample_size']`` = sources used. Cached on ``ag`` (and so in its snapshot).

    Examples
    --------
    >>> bc = betweenness(ag)  # doctest: +SKIP
    >>> bc.nlargest(10)  # doctest: +SKIP
    """
    cached = ag._cache.get("betweenness") if sources is None else None
    if cached is not None:
        if progress is not None:
            progress(cached.attrs["sample_size"], cached.attrs["sample_size"])
        return cached
    c = ag.csr
    n = len(c.ids)
    k = sample_size(ag) if sources is None else min(int(sources), n)
    if n == 0:
        out = pd.Series([], index=pd.Index([], dtype=object), dtype=float, name="betweenness")
        out.attrs["sample_size"] = 0
        return out
    upper = sp.triu(c.distance, k=1).tocoo()
    edges = np.column_stack([upper.row, upper.col]).astype(np.int32)
    weights = np.maximum(upper.data, _MIN_DISTANCE)
    if k >= n:
        chosen = np.arange(n)
    else:
        chosen = np.sort(np.random.default_rng(ag.settings.metrics.community_seed)
                         .choice(n, size=k, replace=False))
    batch = max(1, len(chosen) // 50)  # ~50 progress steps; a batch costs one call into C
    parts = [chosen[i:i + batch].tolist() for i in range(0, len(chosen), batch)]
    m = ag.settings.metrics
    workers = max(1, int(m.betweenness_processes))
    if workers > 1 and len(chosen) * len(weights) >= m.betweenness_parallel_min_work:
        results = _in_processes(n, edges, weights, parts, workers, progress, len(chosen))
    else:
        import igraph as ig

        g = ig.Graph(n=n, edges=edges, directed=False)
        results = []
        for i, part in enumerate(parts):
            results.append(_from_sources(g, weights, part))
            if progress is not None:
                progress(min((i + 1) * batch, len(chosen)), len(chosen))
    total = np.zeros(n)
    for r in results:  # summed in source order whatever finished first: same bits every run
        total += r
    # igraph counts each unordered pair once (= NetworkX unnormalized); scale a sample by n/k
    if len(chosen) < n:
        total *= n / len(chosen)
    if n > 2:
        total *= 2.0 / ((n - 1) * (n - 2))
    out = pd.Series(total, index=c.ids, name="betweenness")
    out.attrs["sample_size"] = len(chosen)
    if sources is None:
        ag._cache["betweenness"] = out
    return out


# -- the work, in this process or in worker processes --------------------------------------

#: a worker process's graph (set by its initializer; never used in the calling process)
_GRAPH: dict[str, Any] = {}


def _init(n: int, edges: np.ndarray, weights: np.ndarray) -> None:
    """Build the igraph graph once per worker process (the pool's initializer)."""
    import igraph as ig

    _GRAPH["g"] = ig.Graph(n=n, edges=edges, directed=False)
    _GRAPH["w"] = weights


def _from_sources(g: Any, weights: np.ndarray, sources: list[int]) -> np.ndarray:
    """igraph's subset betweenness from ``sources`` to every target (C, holds the GIL)."""
    with warnings.catch_warnings():  # the clamp of 0 distances triggers igraph's tolerance note
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(g.betweenness(directed=False, weights=weights, sources=sources))


def _part(sources: list[int]) -> np.ndarray:
    """A worker's batch, on the graph its initializer built."""
    return _from_sources(_GRAPH["g"], _GRAPH["w"], sources)


def _in_processes(n: int, edges: np.ndarray, weights: np.ndarray, parts: list[list[int]],
                  workers: int, progress: Progress | None, total: int) -> list[np.ndarray]:
    """The source batches on ``workers`` processes (``forkserver``: no fork of a threaded
    server such as the app's); results come back in batch order."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("forkserver")
    results: list[np.ndarray | None] = [None] * len(parts)
    done = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init,
                             initargs=(n, edges, weights)) as pool:
        futures = {pool.submit(_part, part): i for i, part in enumerate(parts)}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            done += len(parts[i])
            if progress is not None:
                progress(done, total)
    return [r for r in results if r is not None]
