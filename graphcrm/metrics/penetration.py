"""The penetration network (渗透网络) around a client, a family or an organization."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphcrm.errors import UnknownIdError
from graphcrm.graph import AnalysisGraph


@dataclass
class Penetration:
    """Nodes ``id, label, name, status, serving_agent, hop``; edges ``src, dst, type, kind,
    strength``; ``capped`` when more nodes were in reach than drawn."""

    nodes: pd.DataFrame
    edges: pd.DataFrame
    capped: bool


def penetration_network(ag: AnalysisGraph, center_ids: Sequence[str], hops: int = 2,
                        types: Sequence[str] | None = None, max_nodes: int | None = None
                        ) -> Penetration:
    """Everyone within ``hops`` ties of the centres, and the ties among them.

    Parameters
    ----------
    ag : AnalysisGraph
    center_ids : list of str
        One client, a family (several ids) or an organization.
    hops : int, default 2
    types : list of str, optional
        Only follow ties of these relationship types (e.g. ``["RELATIVE_OF", "WORKS_AT"]``).
    max_nodes : int, optional
        Default ``settings.app.max_network_nodes``; nearer nodes are kept first (then the
        stronger tie to the previous ring), and ``capped`` says whether anything was cut.

    Returns
    -------
    Penetration

    Raises
    ------
    UnknownIdError
        A centre is not in the graph.
    """
    max_nodes = ag.settings.app.max_network_nodes if max_nodes is None else int(max_nodes)
    c = ag.csr
    centers = []
    for cid in center_ids:
        p = c.index.get_indexer([cid])[0]
        if p < 0:
            raise UnknownIdError(cid)
        centers.append(int(p))
    w = c.strength
    # the ties of the chosen types: a look-up per tie read (each tie's type code, once per
    # graph), not a filtered copy of every tie of the graph per call (seconds at 10^6)
    codes, names = tie_type_codes(ag)
    ok = np.ones(len(names) + 1, dtype=bool)
    if types is not None:
        ok[:] = False
        ok[[i for i, n in enumerate(names) if n in set(types)]] = True
    hop = {p: 0 for p in centers}
    best = {p: 1.0 for p in centers}
    frontier = list(dict.fromkeys(centers))
    capped = False
    for h in range(1, hops + 1):
        ring: dict[int, float] = {}
        for u in frontier:
            lo, hi = w.indptr[u], w.indptr[u + 1]
            keep = ok[codes[lo:hi]]
            for v, s in zip(w.indices[lo:hi][keep], w.data[lo:hi][keep], strict=True):
                v = int(v)
                if v not in hop and s > ring.get(v, 0.0):
                    ring[v] = float(s)
        order = sorted(ring, key=lambda v: (-ring[v], c.ids[v]))
        room = max_nodes - len(hop)
        if len(order) > room:
            capped = True
            order = order[:max(room, 0)]
        for v in order:
            hop[v] = h
            best[v] = ring[v]
        frontier = order
        if capped:
            break
    pos = np.array(sorted(hop, key=lambda p: (hop[p], c.ids[p])), dtype=np.int64)
    ids = c.ids[pos]
    nodes = pd.DataFrame({
        "id": ids, "label": ag.nodes["label"].reindex(ids).to_numpy(),
        "name": ag.nodes["name"].reindex(ids).to_numpy(),
        "status": ag.clients["status"].reindex(ids).to_numpy(),
        "serving_agent": ag.serving.reindex(ids).to_numpy(),
        "hop": [hop[p] for p in pos],
    })
    nodes = nodes.astype(object).where(nodes.notna(), None)
    nodes["hop"] = nodes["hop"].astype(int)
    sub = w[pos][:, pos].tocoo()
    upper = sub.row < sub.col
    if types is not None:  # as if the other types' ties (and zero strengths) were not there
        upper &= sub.data != 0
    e = ag.edges
    epos = []
    for r, col in zip(sub.row[upper], sub.col[upper], strict=True):
        a, b = int(pos[r]), int(pos[col])
        lo, hi = c.strength.indptr[a], c.strength.indptr[a + 1]
        j = lo + int(np.searchsorted(c.strength.indices[lo:hi], b))
        if ok[codes[j]]:
            epos.append(int(c.edge_pos[j]))
    sel = e.iloc[epos]
    edges = pd.DataFrame({"src": sel["u"].to_numpy(), "dst": sel["v"].to_numpy(),
                          "type": sel["type"].to_numpy(), "kind": sel["kind"].to_numpy(),
                          "strength": sel["strength"].to_numpy(dtype=float)})
    return Penetration(nodes=nodes, edges=edges.reset_index(drop=True), capped=capped)


def tie_type_codes(ag: AnalysisGraph) -> tuple[np.ndarray, list[str]]:
    """The relationship type of every entry of ``ag.csr.strength`` as a small code, and the
    type names (code ``i`` is ``names[i]``; ``len(names)`` for a tie without a type). Cached on
    the graph, so the warm-up saves it.
    """
    if "tie_type_codes" not in ag._cache:
        c = ag.csr
        code, names = pd.factorize(ag.edges["type"], sort=True)
        code = np.where(code < 0, len(names), code).astype(np.int16)
        ag._cache["tie_type_codes"] = (code[c.edge_pos], [str(n) for n in names])
    return ag._cache["tie_type_codes"]


def tie_counts(ag: AnalysisGraph) -> pd.Series:
    """Every node's number of ties (its degree in ``ag.G``, a tie to itself counted twice), read
    from the CSR view: the NetworkX graph is never built (10^5 clients: seconds saved on the
    penetration page's first visit). Cached on the graph, so the warm-up saves it.

    Returns
    -------
    Series
        Index node id (the order of ``ag.nodes``), values int.
    """
    if "tie_counts" not in ag._cache:
        c = ag.csr
        n = len(c.ids)
        m = c.strength
        if not m.has_sorted_indices:
            m = m.sorted_indices()
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(m.indptr))
        cols = m.indices
        # distinct neighbours (a tie listed twice is one neighbour, as in a nx.Graph): within
        # a row the columns are sorted, so a repeat sits next to its first
        first = np.ones(len(cols), dtype=bool)
        first[1:] = (cols[1:] != cols[:-1]) | (rows[1:] != rows[:-1])
        r, col = rows[first], cols[first]
        deg = np.bincount(r, minlength=n) + np.bincount(r[r == col], minlength=n)
        ag._cache["tie_counts"] = pd.Series(deg.astype(np.int64), index=c.index)
    return ag._cache["tie_counts"]


def busiest_centres(ag: AnalysisGraph, kind: str, n: int = 50) -> list[str]:
    """The ``n`` centres with the most ties, most first (equal counts: in table order), so the
    penetration page opens on a rich view.

    Parameters
    ----------
    ag : AnalysisGraph
    kind : str
        ``organization`` for organizations; anything else (``client``, ``family``) for clients.
    n : int, default 50

    Returns
    -------
    list of str
    """
    pool_name = "organization" if kind == "organization" else "client"
    key = f"busiest_centres/{pool_name}/{n}"
    if key not in ag._cache:  # a pass over every client: once per graph (warmed)
        pool = ag.organizations.index if pool_name == "organization" else ag.clients.index
        deg = tie_counts(ag).reindex(pool).dropna()
        ag._cache[key] = list(deg.sort_values(ascending=False, kind="stable").index[:n])
    return list(ag._cache[key])
