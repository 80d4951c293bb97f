"""Bridges (桥梁人物): betweenness over connection distance, in C/C++ (igraph, NetworKit).

Definition (docs/metrics.md): the betweenness of ``v`` is the share of shortest paths (by tie
distance ``-ln strength``) between other pairs of people that pass through ``v`` — normalized as
:func:`networkx.betweenness_centrality` does (``2 / ((n-1)(n-2))`` on an undirected graph).

How it is computed:

* **Exact** (every node a source) up to ``settings.metrics.betweenness_exact_max_nodes`` nodes,
  with igraph's Brandes betweenness (C). Equal to NetworkX's exact values (tests).
* **Sampled sources** above: NetworKit's ``EstimateBetweenness`` (C++), the linear-scaling
  estimator of Geisberger, Sanders and Schultes ("Better approximation of betweenness
  centrality", ALENEX 2008): ``k`` sources drawn uniformly (with replacement, seeded with
  ``community_seed``), one shortest-path tree each, and a pair ``(s, t)`` credits ``v`` on its
  shortest path with the share ``d(s, v) / d(s, t)`` of its dependency, counted from both
  ends; scaled by ``2n / k``. Unbiased like plain source sampling (``n / k``, NetworkX's ``k``
  estimator), but a node near a sampled source is no longer over-credited, which is what
  reorders the top of the list: at the same ``k`` its top 100 agree better with exact
  betweenness (measured, docs/benchmarks-metrics.md). ``k`` is the work budget
  ``betweenness_work_budget`` (source × tie visits) divided by the number of ties, kept within
  ``[betweenness_min_samples, betweenness_samples]``, so the time grows about linearly with
  the graph instead of with its square. The sources run on ``betweenness_threads`` OpenMP
  threads, in ``betweenness_progress_steps`` batches (one progress step each).

NetworKit 11 draws ``nSamples + 1`` sources and scales by ``2n / nSamples``: each batch of ``b``
sources is asked for ``b - 1`` and rescaled, so the estimate is over exactly ``k`` sources
(tested against exact values averaged over seeds).

Accuracy (measured, docs/benchmarks-metrics.md; tested in tests/test_bridges.py): on the real
email-Eu-core and bitcoin-otc networks and a generated 5,000-client graph, the top 100 by the
sampled estimate and by exact betweenness overlap in >= 80 of 100 and their Spearman rank
correlation over the exact top 100 is >= 0.9 at the sample sizes the budget gives there.
"""

from __future__ import annotations

import threading
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

#: NetworKit's seed and thread count are process-wide: one estimate at a time (two app sessions
#: computing at once would otherwise draw each other's sources)
_NK_LOCK = threading.Lock()

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
    weights = np.maximum(upper.data, _MIN_DISTANCE)
    m = ag.settings.metrics
    steps = max(1, int(m.betweenness_progress_steps))
    if k >= n:
        k = n
        total = _exact(n, upper, weights, steps, progress)
    else:
        k = max(k, 2)
        total = _estimate(n, upper, weights, k, m.community_seed,
                          max(1, int(m.betweenness_threads)), steps, progress)
    out = pd.Series(total, index=c.ids, name="betweenness")
    out.attrs["sample_size"] = k
    if sources is None:
        ag._cache["betweenness"] = out
    return out


def _exact(n: int, upper: Any, weights: np.ndarray, steps: int,
           progress: Progress | None) -> np.ndarray:
    """Exact betweenness from every source with igraph's Brandes (C), in ``steps`` batches of
    sources (one progress step each), normalized like NetworkX."""
    import igraph as ig

    g = ig.Graph(n=n, edges=np.column_stack([upper.row, upper.col]).astype(np.int32),
                 directed=False)
    total = np.zeros(n)
    done = 0
    for part in np.array_split(np.arange(n), max(1, min(steps, n))):
        with warnings.catch_warnings():  # a clamped 0 distance triggers igraph's tolerance note
            warnings.simplefilter("ignore", RuntimeWarning)
            # subset betweenness from these sources: over all batches each pair counts once
            total += np.asarray(g.betweenness(directed=False, weights=weights,
                                              sources=part.tolist()))
        done += len(part)
        if progress is not None:
            progress(done, n)
    if n > 2:
        total *= 2.0 / ((n - 1) * (n - 2))
    return total


def _estimate(n: int, upper: Any, weights: np.ndarray, k: int, seed: int, threads: int,
              steps: int, progress: Progress | None) -> np.ndarray:
    """NetworKit's linear-scaling estimate from ``k`` sampled sources (``k >= 2``), in batches
    of at least 2 sources (:func:`_batches`, one progress step each), normalized like NetworkX."""
    import networkit as nk

    g = nk.graph.GraphFromCoo((weights, (upper.row.astype(np.uint64),
                                         upper.col.astype(np.uint64))),
                              n=n, weighted=True, directed=False)
    sizes = _batches(k, steps)
    total = np.zeros(n)
    done = 0
    for i, b in enumerate(sizes):
        # NetworKit 11 draws nSamples + 1 sources and scales their sum by 2n / nSamples: ask
        # for b - 1 and take the normalized sum back (x (b - 1)); scaled by 1 / k at the end
        est = nk.centrality.EstimateBetweenness(g, b - 1, normalized=True,
                                                parallel=threads > 1)
        with _NK_LOCK:
            nk.setNumberOfThreads(threads)
            nk.setSeed(seed + i, False)  # sources drawn on this thread: same seed, same sources
            est.run()  # releases the GIL: the app's server keeps answering meanwhile
        total += np.asarray(est.scores()) * (b - 1)
        done += b
        if progress is not None:
            progress(done, k)
    return total / k


def _batches(k: int, steps: int) -> list[int]:
    """About ``steps`` batch sizes summing to ``k >= 2``, each >= 2 and even where possible (two
    threads split an even batch evenly; the sizes do not depend on the thread count, so
    neither do the sources)."""
    per = max(2, -(-k // steps))
    per += per % 2
    sizes = [per] * (k // per)
    rest = k % per
    if rest >= 2 or not sizes:
        sizes.append(rest)
    elif rest:
        sizes[-1] += rest
    return sizes
