"""Influence: weighted PageRank, power circle (动力圈), referral reach, hubs, bridges, circles.

Definitions (docs/metrics.md):

* A client's influence is the client's own: it is measured on the **people graph**, the
  analysis graph without its agents (clients and organizations, tied by relatives,
  colleagues, friends, business ties and referrals). Agents and their SERVES ties are not paths
  of a client's influence: a client's agent's book is not the client's circle. Agents' own
  influence is reported separately, for managers (:func:`agent_influence`).
* **PageRank** of the undirected people graph weighted by tie strength — the same
  iteration as :func:`networkx.pagerank` (``weight='strength'``, uniform teleport, dangling
  nodes spread uniformly), run on the CSR view with SciPy so it scales to millions of ties.
* **Power circle** of ``v``: the strength-weighted reach within two hops,
  ``PC(v) = sum_{w ~ v} s(v,w) * (1 + sum_{u ~ w, u != v} s(w,u))`` — every direct contact
  counts with the tie's strength and every friend-of-a-friend with the warmth (product of
  strengths) of each two-hop path to them. In matrix form ``PC = d + W d - diag(W W)`` with
  ``d = W 1``, i.e. two sparse mat-vecs.
* **Referral reach** of ``v``: ``referral_descendants`` = number of people reachable from ``v``
  along REFERRED edges (:func:`networkx.descendants`; cycles and self-referrals never count
  ``v`` itself) and ``referral_premium`` = their in-force annual premium (as policy holders).
* **Influence score** in [0, 1]: the weighted mean of the percentile ranks of PageRank,
  power circle and referral premium (``settings.metrics.influence_weights``); a measure a
  person does not have (no tie in the people graph: PageRank is then only the teleport share;
  power circle 0; no referral) counts 0, not a rank. So a client with no ties of their own has
  influence 0, however large their agent's book.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphcrm.graph import AnalysisGraph
from graphcrm.metrics.bridges import betweenness

#: igraph's random number generator is process-wide; one seeded call at a time
_IGRAPH_RNG_LOCK = threading.Lock()

__all__ = [
    "agent_influence",
    "bridges",
    "circles",
    "hubs",
    "influence_scores",
    "influence_table",
    "pagerank",
    "people_graph",
    "power_circle",
    "referral_reach",
]


def people_graph(ag: AnalysisGraph) -> tuple[np.ndarray, sp.csr_matrix]:
    """The people graph: node ids and the symmetric strength matrix of the analysis graph
    without its agents (so without SERVES ties), cached on the analysis graph.

    Returns
    -------
    tuple
        ``(ids, strength)``: client and organization ids (analysis-graph order) and their
        ``len(ids) x len(ids)`` CSR strength matrix.
    """
    cached = ag._cache.get("people_graph")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    c = ag.csr
    labels = ag.nodes["label"].reindex(c.ids).to_numpy(dtype=object)
    keep = np.flatnonzero(labels != "Agent")
    out = (c.ids[keep], c.strength[keep][:, keep].tocsr())
    ag._cache["people_graph"] = out
    return out


def pagerank(ag: AnalysisGraph, alpha: float | None = None, tol: float | None = None,
             max_iter: int | None = None) -> pd.Series:
    """Strength-weighted PageRank of every person of the people graph (no agents).

    Parameters
    ----------
    ag : AnalysisGraph
    alpha, tol, max_iter : optional
        Default ``settings.metrics.pagerank_alpha``, ``pagerank_tol``, ``pagerank_max_iter``.

    Returns
    -------
    Series
        PageRank by client / organization id (sums to 1).

    Raises
    ------
    networkx.PowerIterationFailedConvergence
        If the iteration does not converge within ``max_iter``.

    Notes
    -----
    With ``settings.neo4j.use_gds`` on a Neo4j store the scores come from GDS
    (:func:`graphcrm.graph.apply_gds`, docs/scaling.md) when the defaults are asked for.
    Otherwise the iteration is exactly that of :func:`networkx.pagerank` (``x = alpha (x Q +
    dangling mass / N) + (1 - alpha) / N``, stop when ``||x - x_prev||_1 < N tol``), so the
    values equal ``nx.pagerank(ag.G.subgraph(people), alpha, weight='strength', tol=tol)``
    (``people`` = every node that is not an agent) to floating-point round-off.

    Examples
    --------
    >>> pr = pagerank(ag)  # doctest: +SKIP
    >>> pr.sort_values(ascending=False).head()  # doctest: +SKIP
    """
    m = ag.settings.metrics
    gds = ag._cache.get("gds_pagerank")
    if gds is not None and alpha is None and tol is None and max_iter is None:
        # computed by Neo4j GDS (settings.neo4j.use_gds, graphcrm.graph.apply_gds)
        return gds.reindex(people_graph(ag)[0]).fillna(0.0).rename("pagerank")
    ids, a = people_graph(ag)
    return _pagerank(ids, a, m.pagerank_alpha if alpha is None else alpha,
                     m.pagerank_tol if tol is None else tol,
                     m.pagerank_max_iter if max_iter is None else max_iter)


def _pagerank(ids: np.ndarray, a: sp.csr_matrix, alpha: float, tol: float, max_iter: int
              ) -> pd.Series:
    """networkx.pagerank's iteration on a symmetric CSR strength matrix."""
    n = a.shape[0]
    if n == 0:
        return pd.Series(dtype=float)
    out = np.asarray(a.sum(axis=1)).ravel()
    inv = np.zeros(n)
    nz = out != 0
    inv[nz] = 1.0 / out[nz]
    dangling = ~nz
    # x Q with Q = diag(inv) A  ==  A^T (x * inv);  A is symmetric, so A (x * inv)
    x = np.full(n, 1.0 / n)
    p = 1.0 / n
    for _ in range(max_iter):
        xlast = x
        x = alpha * (a @ (x * inv) + x[dangling].sum() / n) + (1 - alpha) * p
        if np.abs(x - xlast).sum() < n * tol:
            return pd.Series(x, index=ids, name="pagerank")
    raise nx.PowerIterationFailedConvergence(max_iter)


def power_circle(ag: AnalysisGraph) -> pd.Series:
    """Strength-weighted two-hop reach of every person in the people graph (no agents).

    Returns
    -------
    Series
        ``PC(v) = sum_w s(v,w) (1 + sum_{u ~ w, u != v} s(w,u))`` by client / organization
        id, over the people graph (module docstring).
    """
    ids, w = people_graph(ag)
    d = np.asarray(w.sum(axis=1)).ravel()
    sq = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    return pd.Series(d + w @ d - sq, index=ids, name="power_circle")


def client_premium(ag: AnalysisGraph) -> pd.Series:
    """In-force annual premium per policy holder."""
    p = ag.policies
    p = p.loc[p["status"] == "in_force"]
    return pd.to_numeric(p["annual_premium"], errors="coerce").groupby(p["holder_id"]).sum()


def referral_reach(ag: AnalysisGraph) -> pd.DataFrame:
    """Descendants of every referrer in the referral graph and their premium.

    Returns
    -------
    DataFrame
        Indexed by the ids of people who referred someone: ``referral_descendants`` (equal to
        ``len(nx.descendants(ag.referrals, v))``) and ``referral_premium`` (sum of the
        descendants' in-force annual premium).

    Notes
    -----
    The transitive closure ``R`` of the referral adjacency ``A`` is built level by level with
    sparse products (``F_{k+1} = (F_k A) \\ R``, ``R += F_{k+1}``), so each (ancestor,
    descendant) pair is found once, at its shortest depth, and a cycle ends the loop instead of
    repeating it. The diagonal (``v`` reaching itself through a cycle or a self-referral) is
    dropped; then ``referral_descendants`` is the row count of ``R`` and ``referral_premium`` is
    ``R @ premium``. The work is proportional to the number of ancestor–descendant pairs, as
    for per-node :func:`networkx.descendants`, but without a Python call per node.
    """
    r = ag.referrals
    cols = ["referral_descendants", "referral_premium"]
    if r.number_of_edges() == 0:
        return pd.DataFrame(columns=cols, dtype=float)
    ids = pd.Index(list(r.nodes))
    edges = np.asarray(list(r.edges()), dtype=object).reshape(-1, 2)
    src = ids.get_indexer(edges[:, 0])
    dst = ids.get_indexer(edges[:, 1])
    n = len(ids)
    # float, not a small int: path counts in F_k A must never wrap round to zero
    a = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    a.data[:] = 1.0  # parallel edges summed by the constructor
    reach = a.copy()
    frontier = a
    while frontier.nnz:
        step = frontier @ a
        step.data[:] = 1.0
        step = step - step.multiply(reach)  # pairs not reached before
        step.eliminate_zeros()
        reach = reach + step
        frontier = step
    rows = np.repeat(np.arange(n), np.diff(reach.indptr))
    off_diagonal = rows != reach.indices
    reach = sp.csr_matrix((np.ones(int(off_diagonal.sum())),
                           (rows[off_diagonal], reach.indices[off_diagonal])), shape=(n, n))
    referrers = np.flatnonzero(np.diff(a.indptr) > 0)
    pol = ag.policies.loc[ag.policies["status"] == "in_force"]
    holder = ids.get_indexer(pol["holder_id"])  # one hash pass; no groupby over all holders
    amount = pd.to_numeric(pol["annual_premium"], errors="coerce").fillna(0.0).to_numpy()
    premium = np.bincount(holder[holder >= 0], weights=amount[holder >= 0], minlength=n)
    counts = np.diff(reach.indptr)[referrers]
    totals = (reach @ premium)[referrers]
    return pd.DataFrame({cols[0]: counts.astype(np.int64), cols[1]: totals},
                        index=pd.Index(ids[referrers], name="id"))


def _pct(s: pd.Series, has: pd.Series | None = None) -> pd.Series:
    """Percentile rank; 0 where the person does not have the measure (``has`` False, or a
    value of 0)."""
    if not len(s):
        return s
    has = (s > 0) if has is None else (has & (s > 0))
    return s.rank(pct=True, method="average").where(has, 0.0)


def influence_scores(ag: AnalysisGraph) -> pd.DataFrame:
    """The influence pass: PageRank, power circle, referral reach and the combined score.

    Returns
    -------
    DataFrame
        Indexed by client / organization id (agents are not in it: :func:`agent_influence`):
        ``pagerank``, ``power_circle``, ``referral_descendants``, ``referral_premium``,
        ``influence``. A person without a tie in the people graph gets 0 for the PageRank
        and power-circle parts of ``influence``, whatever their (teleport-only) PageRank.
    """
    hit = ag._cache.get("influence")
    if hit is not None:
        return hit.copy()
    pr = pagerank(ag)
    df = pd.DataFrame({"pagerank": pr, "power_circle": power_circle(ag)})
    rr = referral_reach(ag).reindex(df.index)
    df["referral_descendants"] = rr["referral_descendants"].fillna(0).astype(np.int64)
    df["referral_premium"] = rr["referral_premium"].fillna(0.0).astype(float)
    _, w = people_graph(ag)
    tied = pd.Series(np.diff(w.indptr) > 0, index=df.index)
    weights = ag.settings.metrics.influence_weights
    total = sum(weights.values()) or 1.0
    score = sum(wt * _pct(df[col], tied if col in ("pagerank", "power_circle") else None)
                for col, wt in weights.items()) / total
    df["influence"] = score
    # cached (the operation map reads it on every first visit; the warm-up saves it)
    ag._cache["influence"] = df
    return df.copy()


def influence_table(ag: AnalysisGraph, with_circles: bool = True) -> pd.DataFrame:
    """Influence of every client and organization (agents: :func:`agent_influence`).

    Returns
    -------
    DataFrame
        Columns ``id, name, label, pagerank, power_circle, referral_descendants,
        referral_premium, influence, circle`` sorted by influence (highest first); ``circle`` is
        the Louvain community number (0 = largest) or None when ``with_circles`` is False.
    """
    key = f"influence_table/{with_circles}"
    if key in ag._cache:
        return ag._cache[key].copy()
    df = influence_scores(ag)
    df.insert(0, "label", ag.nodes["label"].reindex(df.index).to_numpy())
    df.insert(0, "name", ag.nodes["name"].reindex(df.index).to_numpy())
    df["circle"] = circles(ag).reindex(df.index).to_numpy() if with_circles else None
    df = df.rename_axis("id").reset_index()
    df = df.sort_values(["influence", "id"], ascending=[False, True], kind="stable"
                        ).reset_index(drop=True)
    ag._cache[key] = df  # a whole-graph pass: once per analysis graph (and its snapshot)
    return df.copy()


def agent_influence(ag: AnalysisGraph) -> pd.DataFrame:
    """Agents' own influence, for managers (kept apart from the clients' influence).

    Returns
    -------
    DataFrame
        One row per agent, highest ``influence`` first (ties by id): ``id, name, team,
        status, clients`` (people the agent SERVES), ``book_influence`` (sum of their clients'
        influence scores), ``book_referral_premium`` (in-force premium their clients brought in
        through referrals), ``pagerank`` (the agent's PageRank on the whole analysis graph,
        SERVES ties included) and ``influence`` (percentile rank of ``book_influence`` among
        agents; 0 for an agent whose clients have no influence of their own): the agent's
        influence is the reach of the relationships the agent holds.
    """
    hit = ag._cache.get("agent_influence")
    if hit is not None:
        return hit.copy()
    m = ag.settings.metrics
    c = ag.csr
    full = _pagerank(c.ids, c.strength, m.pagerank_alpha, m.pagerank_tol, m.pagerank_max_iter)
    people = influence_scores(ag)
    agents = ag.agents
    serving = ag.serving.dropna()
    book = pd.DataFrame({"agent": serving.to_numpy(),
                         "influence": people["influence"].reindex(serving.index).fillna(0.0)
                         .to_numpy(),
                         "ref": people["referral_premium"].reindex(serving.index).fillna(0.0)
                         .to_numpy()})
    by = book.groupby("agent")
    ids = agents.index
    pr = full.reindex(ids).fillna(0.0)
    df = pd.DataFrame({
        "id": ids.to_numpy(),
        "name": agents["name"].to_numpy(),
        "team": agents["team"].to_numpy() if "team" in agents else None,
        "status": agents["status"].to_numpy() if "status" in agents else None,
        "clients": by.size().reindex(ids).fillna(0).astype(np.int64).to_numpy(),
        "book_influence": by["influence"].sum().reindex(ids).fillna(0.0).to_numpy(),
        "book_referral_premium": by["ref"].sum().reindex(ids).fillna(0.0).to_numpy(),
        "pagerank": pr.to_numpy(),
    })
    df["influence"] = _pct(df["book_influence"]).to_numpy()
    df = df.sort_values(["influence", "id"], ascending=[False, True], kind="stable"
                        ).reset_index(drop=True)
    # a PageRank of the whole graph: once per analysis graph (the warm-up saves it; agents'
    # names only, which every role may see)
    ag._cache["agent_influence"] = df
    return df.copy()


def hubs(ag: AnalysisGraph, top: int | None = None, team: str | None = None,
         table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The most influential people (clients and prospects), optionally of one team's books.

    Parameters
    ----------
    ag : AnalysisGraph
    top : int, optional
        Default ``settings.metrics.hubs_top``.
    team : str, optional
        Only people served by agents of this team (``agents.team``).
    table : DataFrame, optional
        A precomputed :func:`influence_table`.

    Returns
    -------
    DataFrame
        :func:`influence_table` rows of clients plus ``status`` and ``serving_agent``.
    """
    top = ag.settings.metrics.hubs_top if top is None else int(top)
    df = influence_table(ag) if table is None else table
    df = df.loc[df["label"] == "Client"].copy()
    df["status"] = ag.clients["status"].reindex(df["id"]).to_numpy()
    df["serving_agent"] = ag.serving.reindex(df["id"]).to_numpy()
    if team is not None:
        team_agents = set(ag.agents.index[ag.agents["team"] == team])
        df = df.loc[df["serving_agent"].isin(team_agents)]
    return df.head(top).reset_index(drop=True)


def bridges(ag: AnalysisGraph, top: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """People who join otherwise separate circles: betweenness over connection distance.

    Computed in compiled code (:func:`graphcrm.metrics.bridges.betweenness`): exact (igraph) up
    to ``settings.metrics.betweenness_exact_max_nodes`` nodes, above that NetworKit's
    linear-scaling estimate from a seeded sample of sources sized by
    ``betweenness_work_budget``; cached on ``ag`` and saved in its snapshot
    (the post-ingest warm-up computes it).

    Parameters
    ----------
    ag : AnalysisGraph
    top : int, optional
        Default ``settings.metrics.hubs_top``.
    progress : callable, optional
        ``progress(done, total)`` sources, for a progress bar.

    Returns
    -------
    DataFrame
        Clients and prospects only: ``id, name, label, betweenness`` highest first;
        ``df.attrs['sample_size']`` is the number of sources used (= node count when exact).
    """
    m = ag.settings.metrics
    top = m.hubs_top if top is None else int(top)
    bc = betweenness(ag, progress=progress)
    df = pd.DataFrame({"id": bc.index.to_numpy(dtype=object), "betweenness": bc.to_numpy()})
    df.insert(1, "name", ag.nodes["name"].reindex(df["id"]).to_numpy())
    df.insert(2, "label", ag.nodes["label"].reindex(df["id"]).to_numpy())
    df = df.loc[df["label"] == "Client"]
    df = df.sort_values(["betweenness", "id"], ascending=[False, True], kind="stable")
    df = df.head(top).reset_index(drop=True)
    df.attrs["sample_size"] = bc.attrs["sample_size"]
    return df


def circles(ag: AnalysisGraph) -> pd.Series:
    """Louvain communities (fixed seed) of the strength-weighted graph.

    Returns
    -------
    Series
        Circle number by node id; circle 0 is the largest.

    Notes
    -----
    Louvain (Blondel et al. 2008) as implemented in C by igraph's ``community_multilevel``,
    with ``settings.metrics.community_resolution``, on the CSR view. NetworkX's
    :func:`~networkx.algorithms.community.louvain_communities` runs the same algorithm in pure
    Python and took ~100 s at 10^5 clients (minutes at 10^6); the partitions are of the same
    quality (tests compare the modularity). igraph draws its random node order from Python's
    ``random`` interface; it is given a ``random.Random(community_seed)`` for the call, so
    the circles are the same on every run.
    """
    import igraph as ig

    m = ag.settings.metrics
    cached = ag._cache.get("circles")
    if cached is not None:
        return cached
    c = ag.csr
    if len(c.ids) == 0:
        return pd.Series([], index=pd.Index([], dtype=object), dtype=np.int64, name="circle")
    upper = sp.triu(c.strength, k=1).tocoo()
    g = ig.Graph(n=len(c.ids), edges=np.column_stack([upper.row, upper.col]), directed=False)
    with _IGRAPH_RNG_LOCK:
        ig.set_random_number_generator(random.Random(m.community_seed))
        try:
            membership = np.asarray(g.community_multilevel(
                weights=upper.data, resolution=m.community_resolution).membership)
        finally:
            ig.set_random_number_generator(random)
    # number circles by size (largest first), ties by smallest member id, as documented
    sizes = np.bincount(membership)
    first_id = pd.Series(c.ids).groupby(membership).min()
    order = sorted(range(len(sizes)), key=lambda k: (-sizes[k], first_id[k]))
    rank = np.empty(len(sizes), dtype=np.int64)
    rank[order] = np.arange(len(sizes))
    out = pd.Series(rank[membership], index=c.ids, name="circle")
    ag._cache["circles"] = out
    return out
