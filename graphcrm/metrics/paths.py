"""Warm referral paths and connection distances (DESIGN.md, 'Connection distance').

The distance of a tie is ``-ln strength``; the distance of a path is the sum over its ties and
its warmth ``exp(-distance)`` is the product of the strengths. Paths are simple and have at most
``max_hops`` ties (``settings.metrics.max_hops``, default 4).

:func:`warm_paths` answers "how do I reach this person?" for one agent and one prospect. It
never looks at the whole graph: a node on a path of at most ``H`` hops is within ``a`` hops of
the source or ``H - a - 1`` of the target, so it grows those two balls from the CSR view (the
cheaper side a level at a time), drops the outer-shell nodes with no tie to the other ball's
shell, keeps the nodes ``v`` with ``hops(s, v) + hops(v, t) <= H`` and runs a best-first (A*)
enumeration of simple paths on that small subgraph, with the hop-bounded distance to the
target as an admissible heuristic. Paths therefore come out in order of increasing distance,
exactly as :func:`networkx.shortest_simple_paths` would list them when filtered to ``<= H``
hops.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import asdict, dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from graphcrm.errors import UnknownIdError
from graphcrm.graph import AnalysisGraph, ranges

__all__ = [
    "Hop",
    "UnknownIdError",
    "WarmPath",
    "connection_distances",
    "path_to_dict",
    "warm_paths",
]


@dataclass(frozen=True)
class Hop:
    """One step of a warm path: the person reached and the tie used to reach them."""

    person_id: str
    name: str
    label: str
    tie_type: str
    tie_kind: str | None
    strength: float
    last_contact: str | None
    serving_agent: str | None


@dataclass(frozen=True)
class WarmPath:
    """A path from the source: ``hops`` (one per tie), total ``distance`` and ``warmth``."""

    hops: list[Hop]
    distance: float
    warmth: float

    @property
    def ids(self) -> list[str]:
        return [h.person_id for h in self.hops]

    @property
    def first_introducer(self) -> str | None:
        """The first person after the source, None for a direct tie."""
        return self.hops[0].person_id if len(self.hops) > 1 else None


def path_to_dict(path: WarmPath) -> dict[str, Any]:
    """A warm path as plain data (the ``--json`` shape of ``graphcrm paths``)."""
    return {"distance": path.distance, "warmth": path.warmth, "hops": len(path.hops),
            "first_introducer": path.first_introducer,
            "steps": [asdict(h) for h in path.hops]}


class _Sub(NamedTuple):
    """A CSR subgraph as its three arrays (SciPy's constructor checks and converts index
    types: milliseconds per query for nothing here)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @property
    def n(self) -> int:
        return len(self.indptr) - 1


def _gather(csr: sp.csr_matrix | _Sub, rows: np.ndarray) -> np.ndarray:
    """Positions in ``csr.indices``/``csr.data`` of every entry of ``rows``, row after row
    (NumPy gather: SciPy's row fancy indexing builds a whole new matrix for it)."""
    starts = csr.indptr[rows]
    lens = csr.indptr[rows + 1] - starts
    return ranges(starts, lens)


def _distinct(values: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """``values`` without repeats (one occurrence of each kept, in no promised order), in
    O(len) with no sort (``scratch``: an int64 array as long as the node count; overwritten).

    Each position writes its own number at its value; whichever of a value's repeats wins the
    write (NumPy does not promise which) is the one occurrence kept."""
    if len(values) < 2:
        return values
    order = np.arange(len(values))
    scratch[values] = order
    return values[scratch[values] == order]


class _Bfs:
    """A breadth-first search from one node, grown one level at a time."""

    def __init__(self, csr: sp.csr_matrix, start: int) -> None:
        self.csr = csr
        self.seen = np.zeros(csr.shape[0], dtype=bool)
        self.seen[start] = True
        self.frontier = np.array([start], dtype=np.int64)
        self.depth = 0
        self.size = 1  # nodes seen
        self._scratch = np.empty(csr.shape[0], dtype=np.int64)

    def next_cost(self) -> int:
        """Ties the next level reads (the frontier's degrees)."""
        return _degree_sum(self.csr, self.frontier)

    def grow(self, levels: int = 1) -> _Bfs:
        for _ in range(levels):
            if not len(self.frontier):
                break
            nb = self.csr.indices[_gather(self.csr, self.frontier)]
            nb = _distinct(nb[~self.seen[nb]], self._scratch)
            self.seen[nb] = True
            self.frontier = nb
            self.depth += 1
            self.size += len(nb)
        return self


def _candidates(csr: sp.csr_matrix, s: int, t: int, hmax: int, max_nodes: int | None = None
                ) -> np.ndarray | None:
    """Every node on some path of at most ``hmax`` ties from ``s`` to ``t`` (and a few others);
    None as soon as the two balls hold more than ``max_nodes`` nodes.

    A node ``v`` on such a path has ``hops(s, v) + hops(v, t) <= hmax``, so for any split
    ``a + b = hmax - 1`` it is within ``a`` hops of ``s`` or within ``b`` of ``t`` (if
    ``hops(s, v) > a`` then ``hops(v, t) <= hmax - a - 1``). The two searches grow a level at
    a time, each time the side whose next level reads fewer ties: a best-connected target's
    ball stays one level smaller than a fixed half-and-half split would take it.

    The outer shells of the two balls are most of them, and most of a shell leads nowhere: a
    node exactly ``a`` hops from ``s`` and outside the target's ball is ``b + 1`` or more hops
    from ``t``, so it is on a path only if it has a neighbour exactly ``b`` hops from ``t`` (and
    the same the other way round). The ties between the two shells come from one gather of the
    cheaper shell's ties; every other shell node is dropped before the subgraph reads its ties.
    """
    fs, ft = _Bfs(csr, s), _Bfs(csr, t)
    for _ in range(max(hmax - 1, 0)):
        if not len(fs.frontier) and not len(ft.frontier):
            break
        grow_s = len(fs.frontier) and (not len(ft.frontier) or fs.next_cost() <= ft.next_cost())
        (fs if grow_s else ft).grow()
        if max_nodes is not None and fs.size + ft.size > max_nodes:
            return None
    keep = fs.seen | ft.seen
    if fs.depth + ft.depth == hmax - 1 and len(fs.frontier) and len(ft.frontier):
        # the ties between the two shells, gathered from the shell with fewer ties; a shell
        # node inside the other ball is within hmax - 1 hops of both ends and stays
        small, other = ((fs.frontier, ft.frontier) if fs.next_cost() <= ft.next_cost()
                        else (ft.frontier, fs.frontier))
        in_other = np.zeros(csr.shape[0], dtype=bool)
        in_other[other] = True
        nb = csr.indices[_gather(csr, small)]
        linked = in_other[nb]
        owner = np.repeat(small, csr.indptr[small + 1] - csr.indptr[small])
        keep[fs.frontier[~ft.seen[fs.frontier]]] = False
        keep[ft.frontier[~fs.seen[ft.frontier]]] = False
        keep[owner[linked]] = True
        keep[nb[linked]] = True
        keep[[s, t]] = True  # the search starts and ends there even when no path exists
    return np.flatnonzero(keep)


def _degree_sum(csr: sp.csr_matrix, rows: np.ndarray) -> int:
    return int((csr.indptr[rows + 1] - csr.indptr[rows]).sum())


def _subgraph(csr: sp.csr_matrix, nodes: np.ndarray) -> _Sub:
    """``csr[nodes][:, nodes]`` for sorted ``nodes``, by one gather and a position map (the
    columns stay sorted in each row because the map is increasing)."""
    starts = csr.indptr[nodes]
    lens = csr.indptr[nodes + 1] - starts
    pos = ranges(starts, lens)
    # position + 1 of each node of ``nodes``, 0 elsewhere: np.zeros is a fresh zeroed mapping
    # (no pass over 10^6 entries, as np.full(n, -1) would make); int32 halves the cache misses
    where = np.zeros(csr.shape[0], dtype=np.int32)
    where[nodes] = np.arange(1, len(nodes) + 1, dtype=np.int32)
    cols = where[csr.indices[pos]]
    inside = np.flatnonzero(cols)
    # ties kept per row from a running count (no row id per tie)
    kept = np.zeros(len(pos) + 1, dtype=np.int64)
    np.cumsum(cols > 0, out=kept[1:])
    ends = np.cumsum(lens)
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    np.cumsum(kept[ends] - kept[ends - lens], out=indptr[1:])
    return _Sub(indptr, cols[inside].astype(np.int64) - 1, csr.data[pos[inside]])


def _hops_from(sub: _Sub, start: int, depth: int) -> np.ndarray:
    """Hop counts from ``start`` within ``sub`` up to ``depth`` (inf beyond)."""
    hops = np.full(sub.n, np.inf)
    scratch = np.empty(sub.n, dtype=np.int64)
    hops[start] = 0
    frontier = np.array([start], dtype=np.int64)
    for level in range(1, depth + 1):
        if not len(frontier):
            break
        nb = sub.indices[_gather(sub, frontier)]
        nb = _distinct(nb[np.isinf(hops[nb])], scratch)
        hops[nb] = level
        frontier = nb
    return hops


#: above this many ties a node's children are filtered and sorted with NumPy (a call costs
#: more than a short Python loop; a hub's thousands of ties cost far less)
_NUMPY_CHILDREN = 32

_EDGE_COLUMNS = ("distance", "strength", "type", "kind", "last_contact")


def _edge_attrs(ag: AnalysisGraph, columns: dict[str, np.ndarray], a: int, b: int
                ) -> dict[str, Any]:
    """The tie a–b's values of ``columns`` (``ag.edges`` as NumPy arrays, taken once per
    query: a row of a DataFrame through ``iloc`` cost milliseconds, more than the search)."""
    c = ag.csr
    lo, hi = c.strength.indptr[a], c.strength.indptr[a + 1]
    j = lo + int(np.searchsorted(c.strength.indices[lo:hi], b))
    pos = int(c.edge_pos[j])
    return {col: values[pos] for col, values in columns.items()}


def _hop_bounded_to(sub: _Sub, target: int, hmax: int,
                    hops_from_source: np.ndarray | None = None) -> np.ndarray:
    """``D[r, v]``: the shortest distance from ``v`` to ``target`` over at most ``r`` ties
    (``r = 0..hmax``; inf when none): ``hmax`` rounds of Bellman–Ford on the (small, symmetric)
    candidate subgraph, one vectorised min-plus product each.

    It is the A* heuristic of :func:`warm_paths`: exact for the hop-bounded problem except that
    it allows a path to repeat a node, so a lower bound (admissible) and consistent
    (``D[r, v] <= d(v, w) + D[r-1, w]``). With it the search goes straight to the best path
    instead of exploring every cheap detour that the hop bound later rules out.

    With ``hops_from_source`` (hop counts from the search's source), ``D[r, v]`` is computed
    only where the search can read it, ``r <= hmax - hops(s, v)`` (a node reached after
    ``j >= hops(s, v)`` ties has ``hmax - j`` left), and elsewhere is a copy of the round before,
    not a bound. The rows such a node needs in the round before satisfy the same condition
    (``hops(s, w) <= hops(s, v) + 1``), so what is computed is exact; the last rounds shrink to
    the source's neighbourhood, which on a dense graph halves the work.
    """
    n = sub.n
    out = np.full((hmax + 1, n), np.inf)
    out[0, target] = 0.0
    indptr, indices, data = sub.indptr, sub.indices, sub.data
    scratch = np.empty(n, dtype=np.int64)
    changed = np.array([target], dtype=np.int64)
    for r in range(1, hmax + 1):
        prev = out[r - 1]
        best = prev.copy()
        if len(changed):
            # only a neighbour of a node that improved in the last round can improve now
            # (the others' candidates are those of the round before, already taken): the
            # rounds cost the frontier's ties, not the whole subgraph's
            rows = _distinct(indices[_gather(sub, changed)], scratch)
            if hops_from_source is not None:
                rows = rows[hops_from_source[rows] <= hmax - r]
            pos = _gather(sub, rows)
            lens = indptr[rows + 1] - indptr[rows]
            row_min = np.minimum.reduceat(data[pos] + prev[indices[pos]], np.cumsum(lens) - lens)
            was = prev[rows]
            best[rows] = np.minimum(was, row_min)
            changed = rows[row_min < was]
        out[r] = best
    return out


def _dijkstra_bound(distance: sp.csr_matrix, target: int, hmax: int) -> np.ndarray:
    """``B[r, v]``: the (unbounded) shortest distance from ``v`` to ``target`` where ``v`` is
    at most ``r`` ties from it, inf where it is farther: the A* heuristic of
    :func:`warm_paths` on a small graph.

    A lower bound of :func:`_hop_bounded_to` (the hop limit is dropped from the distance but
    kept as a reachability test, so the search never enters a node that cannot reach the
    target in the ties left) and consistent (Dijkstra distances obey the triangle
    inequality). Weaker on a large sparse graph, where the hop limit decides which detours are
    allowed, but one SciPy (C) Dijkstra costs less than ``hmax`` vectorised rounds when the
    candidate set is the whole graph."""
    from_target = dijkstra(distance, directed=True, indices=target)
    hops = _bfs_hops(distance, target)
    return np.where(hops[None, :] <= np.arange(hmax + 1)[:, None], from_target[None, :], np.inf)


def _bfs_hops(matrix: sp.csr_matrix, start: int) -> np.ndarray:
    """Hop counts from ``start`` (inf where unreachable): SciPy's breadth-first order (C) and
    depths by pointer jumping up the BFS tree, ``log2(depth)`` NumPy rounds (the level-by-level
    NumPy BFS costs a round per level over the whole of a small, dense graph)."""
    order, pred = breadth_first_order(matrix, start, directed=True, return_predecessors=True)
    depth = np.ones(len(order), dtype=np.int64)
    depth[0] = 0
    where = np.full(matrix.shape[0], -1, dtype=np.int64)
    where[order] = np.arange(len(order))
    parent = pred[order]
    parent[0] = start  # SciPy marks the root's parent -9999
    up = where[parent]  # each reached node's parent, as a position in ``order``
    while (up != 0).any():  # depth[i] counts the ties from i up to up[i]
        depth = depth + np.where(up != 0, depth[up], 0)
        up = up[up]
    hops = np.full(matrix.shape[0], np.inf)
    hops[order] = depth
    return hops


def _check(ag: AnalysisGraph, node_id: str, what: str) -> int:
    try:
        p = ag.csr.index.get_loc(node_id)  # microseconds; get_indexer([id]) builds an Index
    except (KeyError, TypeError):
        raise UnknownIdError(node_id, what) from None
    if not isinstance(p, int | np.integer):  # a repeated id would give a slice or mask
        raise UnknownIdError(node_id, what)
    return int(p)


def warm_paths(ag: AnalysisGraph, source: str, target: str, k: int | None = None,
               max_hops: int | None = None) -> list[WarmPath]:
    """Top-k warm paths from ``source`` (usually an agent) to ``target`` (a prospect).

    Parameters
    ----------
    ag : AnalysisGraph
    source, target : str
        Node ids (agent, client or organization).
    k : int, optional
        How many paths (default ``settings.metrics.top_k_paths``).
    max_hops : int, optional
        Longest path in ties (default ``settings.metrics.max_hops``).

    Returns
    -------
    list of WarmPath
        First the best path through each distinct first introducer, in order of distance, up
        to ``k``; if fewer introducers exist, the remaining places are filled with the next
        best paths in order of distance. An empty list means "no warm path within
        ``max_hops`` hops" — an answer, not an error.

    Raises
    ------
    UnknownIdError
        ``source`` or ``target`` is not in the graph.

    Notes
    -----
    Distrusted ties are not in the graph, so they are never on a path. The search stops after
    ``settings.metrics.path_max_expansions`` partial paths and returns the best found so far.
    """
    m = ag.settings.metrics
    k = m.top_k_paths if k is None else int(k)
    hmax = m.max_hops if max_hops is None else int(max_hops)
    s = _check(ag, source, "source")
    t = _check(ag, target, "target")
    if s == t or k <= 0 or hmax <= 0:
        return []
    c = ag.csr
    n = c.distance.shape[0]
    nodes = _candidates(c.strength, s, t, hmax, int(m.path_whole_graph_share * n)
                        if n <= m.path_whole_graph_max_nodes else None)
    if nodes is None:
        # a small, dense network: the balls would be most of the graph
        si, ti = s, t
        d = c.distance
        sub = _Sub(d.indptr, d.indices, d.data)
        bound = _dijkstra_bound(d, ti, hmax)
        if not np.isfinite(bound[hmax, si]):
            return []
    else:
        sub = _subgraph(c.distance, nodes)
        si = int(np.searchsorted(nodes, s))
        ti = int(np.searchsorted(nodes, t))
        hs = _hops_from(sub, si, hmax)
        # hop-bounded distances to the target (also its hop counts: the first finite round)
        bound = _hop_bounded_to(sub, ti, hmax, hs)
        ht = np.where(np.isfinite(bound[hmax]), np.argmax(np.isfinite(bound), axis=0), np.inf)
        off_bound = hs + ht > hmax
        if off_bound[ti]:
            return []
        # a node with hops(s, v) + hops(v, t) > max_hops lies on no path within the bound: an
        # infinite bound removes it from the search as surely as cutting it out of ``sub``
        # (which cost a second slicing), and the other nodes' bounds stay valid lower bounds
        bound[:, off_bound] = np.inf
    # bound[r, w] is a lower bound of the rest of a path at w with r ties left
    indptr, indices, data = sub.indptr, sub.indices, sub.data

    counter = itertools.count()
    # A heap entry is the next child not yet taken of a partial path; the children of a path
    # are sorted by their A* key once, and a child's next sibling enters the heap only when
    # the child leaves it (partial expansion). Paths leave the heap in the same order as with
    # every child pushed, but a hub's thousand ties cost one sort instead of a thousand pushes.
    heap: list[tuple[float, int, float, tuple[int, ...], int, list[int], list[float],
                     list[float]]] = []

    # A node's children, sorted by ``tie distance + bound of the rest``, depend only on the
    # node and the ties left, not on the path that reached it: a hub reached by many paths is
    # sorted once per number of ties left, and each later expansion pushes one entry.
    # Python lists, not NumPy: most expanded nodes have a dozen ties, where a NumPy call per
    # tie costs more than the loop; the bound is gathered for the node's ties only.
    children: dict[tuple[int, int], tuple[list[int], list[float], list[float]] | None] = {}

    def push_children(g: float, path: tuple[int, ...]) -> None:
        left = hmax - len(path)  # ties left after the next one
        if left < 0:
            return
        v = path[-1]
        got = children.get((v, left), False)
        if got is False:
            lo, hi = indptr[v], indptr[v + 1]
            nb = indices[lo:hi]
            got = None
            if hi - lo > _NUMPY_CHILDREN:  # a hub: one NumPy sort, not a Python one
                rest = bound[left][nb]
                ok = np.flatnonzero(rest != np.inf)
                if len(ok):
                    key = data[lo:hi][ok] + rest[ok]
                    order = ok[np.argsort(key, kind="stable")]  # equal keys keep tie order
                    got = (nb[order].tolist(), data[lo:hi][order].tolist(),
                           (data[lo:hi][order] + rest[order]).tolist())
            else:
                kids = [(d + r, w, d) for w, d, r in zip(nb.tolist(), data[lo:hi].tolist(),
                                                        bound[left][nb].tolist(), strict=True)
                        if r != math.inf]
                kids.sort(key=itemgetter(0))  # stable: equal keys keep the tie order
                if kids:
                    rks, ws, ds = (list(c) for c in zip(*kids, strict=True))
                    got = (ws, ds, rks)
            children[(v, left)] = got
        if got is None:
            return
        ws, ds, rks = got
        heapq.heappush(heap, (g + rks[0], next(counter), g, path, 0, ws, ds, rks))

    # First the best path through each first introducer: a partial path under an introducer
    # already chosen is set aside, not expanded. Only if the heap runs dry with fewer than k
    # introducers are the set-aside paths searched, in order, for the next best paths (a
    # hard query spent most of its expansions on a chosen introducer's detours).
    taken: set[int | None] = set()
    selected: list[tuple[float, tuple[int, ...]]] = []
    reserve: list[tuple[float, tuple[int, ...]]] = []
    set_aside: list[Any] = []
    filling = False
    expansions = 0
    if m.path_max_expansions > 0:
        expansions = 1
        push_children(0.0, (si,))
    while len(selected) + len(reserve) < k and expansions < m.path_max_expansions:
        if not heap:
            if filling or not set_aside:
                break
            heap, set_aside, filling = set_aside, [], True
            heapq.heapify(heap)
            continue
        entry = heapq.heappop(heap)
        _, _, g0, parent, i, ws, ds, rks = entry
        if not filling and len(parent) > 1 and parent[1] in taken:
            set_aside.append(entry)  # its later siblings stay with it
            continue
        if i + 1 < len(ws):
            heapq.heappush(heap, (g0 + rks[i + 1], next(counter), g0, parent, i + 1, ws, ds, rks))
        v = ws[i]
        if v in parent:
            continue
        g = g0 + ds[i]
        path = (*parent, v)
        if v == ti:
            if filling:
                reserve.append((g, path))
            else:  # the first path through this introducer (None: the direct tie)
                taken.add(path[1] if len(path) > 2 else None)
                selected.append((g, path))
            continue
        expansions += 1
        push_children(g, path)
    chosen = selected + reserve
    columns = {col: ag.edges[col].to_numpy() for col in _EDGE_COLUMNS}
    return [_explain(ag, list(p) if nodes is None else [int(nodes[i]) for i in p], g, columns)
            for g, p in chosen]


def _explain(ag: AnalysisGraph, path: list[int], distance: float,
             columns: dict[str, np.ndarray] | None = None) -> WarmPath:
    ids = ag.csr.ids
    if columns is None:
        columns = {col: ag.edges[col].to_numpy() for col in _EDGE_COLUMNS}
    # node attributes by position (``ag.nodes`` is in CSR order): ``.at`` per hop cost more
    # than the search on hard queries
    names, labels = ag.nodes["name"].to_numpy(), ag.nodes["label"].to_numpy()
    hops: list[Hop] = []
    dist = 0.0
    for a, b in itertools.pairwise(path):
        e = _edge_attrs(ag, columns, a, b)
        pid = str(ids[b])
        dist += float(e["distance"])
        lc = e["last_contact"]
        hops.append(Hop(
            person_id=pid, name=str(names[b]), label=str(labels[b]), tie_type=str(e["type"]),
            tie_kind=None if e["kind"] is None or pd.isna(e["kind"]) else str(e["kind"]),
            strength=float(e["strength"]),
            last_contact=None if lc is None or pd.isna(lc) else str(lc),
            serving_agent=ag.serving_agent(pid),
        ))
    return WarmPath(hops=hops, distance=dist, warmth=math.exp(-dist))


def connection_distances(ag: AnalysisGraph, source: str, max_hops: int | None = None
                         ) -> pd.DataFrame:
    """Shortest connection distance from ``source`` to every node within ``max_hops`` ties.

    Layered Bellman–Ford on the CSR view: after round ``h`` every node holds the least
    distance over walks of at most ``h`` ties (with non-negative distances the best such walk
    is a simple path), so the result is the hop-bounded shortest path distance.

    Parameters
    ----------
    ag : AnalysisGraph
    source : str
    max_hops : int, optional
        Default ``settings.metrics.max_hops``; ``0`` or negative means unbounded.

    Returns
    -------
    DataFrame
        Indexed by node id (source excluded, only reachable nodes): ``distance``, ``warmth``,
        ``hops`` (ties on the best path), ``first`` (first person after the source on the best
        path) and ``via`` (the node before the person) and ``tie_type`` (of the last tie).
    """
    c = ag.csr
    s = _check(ag, source, "source")
    n = c.distance.shape[0]
    hmax = ag.settings.metrics.max_hops if max_hops is None else int(max_hops)
    if hmax <= 0:
        hmax = n
    indptr, indices, data = c.distance.indptr, c.distance.indices, c.distance.data
    dist = np.full(n, np.inf)
    hops = np.full(n, -1, dtype=np.int64)
    first = np.full(n, -1, dtype=np.int64)
    via = np.full(n, -1, dtype=np.int64)
    edge = np.full(n, -1, dtype=np.int64)
    dist[s] = 0.0
    hops[s] = 0
    changed = np.array([s], dtype=np.int64)
    for _ in range(hmax):
        if not len(changed):
            break
        starts, ends = indptr[changed], indptr[changed + 1]
        lens = ends - starts
        if not lens.sum():
            break
        src = np.repeat(changed, lens)
        pos = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)]) \
            if len(changed) < 64 else ranges(starts, lens)
        dst = indices[pos]
        cand = dist[src] + data[pos]
        better = cand < dist[dst]
        if not better.any():
            break
        src, dst, cand, pos = src[better], dst[better], cand[better], pos[better]
        order = np.lexsort((cand, dst))
        dst, src, cand, pos = dst[order], src[order], cand[order], pos[order]
        firsts = np.r_[True, dst[1:] != dst[:-1]]
        dst, src, cand, pos = dst[firsts], src[firsts], cand[firsts], pos[firsts]
        prev_src_first = first[src]
        dist[dst] = cand
        hops[dst] = hops[src] + 1
        first[dst] = np.where(src == s, dst, prev_src_first)
        via[dst] = src
        edge[dst] = c.edge_pos[pos]
        changed = dst
    reach = np.flatnonzero(np.isfinite(dist))
    reach = reach[reach != s]
    types = ag.edges["type"].to_numpy()[edge[reach]]
    return pd.DataFrame({
        "distance": dist[reach], "warmth": np.exp(-dist[reach]), "hops": hops[reach],
        "first": c.ids[first[reach]], "via": c.ids[via[reach]], "tie_type": types,
    }, index=pd.Index(c.ids[reach], name="id"))
