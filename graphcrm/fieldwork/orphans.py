"""Orphan clients (孤儿单): who they are, who takes each one and why, and what approval writes.

An **orphan** is a client holding an in-force policy (insured-only family members are looked
after through the holder) whose serving agent (the
SERVES tie with the latest start date, else the latest policy's servicing agent) has departed,
or who has no serving agent at all.

The **proposal** (:func:`propose`) hands out orphans one at a time, longest orphaned first:

1. the departed agent's supervisor's team (active agents with the same supervisor, else the
   same team); until ``orphans.team_deadline_days`` after the departure an orphan the team has
   no room for waits for the team;
2. after that deadline, active agents of the client's region (the departed agent's region when
   the client has none);
3. then the nearest regions, in the order of ``orphans.nearest_regions``.

At each step only agents with room count: at most ``orphans.cap_per_agent_month`` orphans per
agent in the month, counting those already received that month. Among them agents in their
first year (hired less than ``orphans.first_year_days`` before the assignment date) come first,
then the warmest existing connection to the client (connection distance through the graph's
client-to-client ties, at most ``orphans.connection_max_hops`` ties; departed agents and other
agents are never intermediaries), then the lighter book, then the agent id. Each line says
which rule placed it and through whom the agent knows the client.

**Applying** (:func:`assignment_ties`) writes one SERVES tie per line, dated the assignment date,
with ``approved_by = <who>`` and ``source = "orphans:<month>;from:<departed agent>;rule:<rule>"``.
The departed agent's tie stays: it is the history. A client with a new active serving agent is
no longer an orphan, so proposing again for the same month proposes nothing new and re-applying
writes nothing.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphcrm.config import Settings
from graphcrm.fieldwork import ASSIGNMENT_SOURCE
from graphcrm.graph import AnalysisGraph, ranges

ORPHAN_COLUMNS = ["client_id", "name", "region", "departed_agent", "departed_agent_name",
                  "supervisor_id", "team", "branch", "policies", "premium", "orphaned_since",
                  "days_orphaned"]

PROPOSAL_COLUMNS = ["client_id", "client_name", "region", "departed_agent", "supervisor_id",
                    "agent_id", "agent_name", "agent_region", "rule", "first_year", "hops",
                    "warmth", "book", "received_this_month", "connection", "reason", "via"]

#: proposal rules, in the order they are tried
RULES = ("team", "region", "nearest_region")


def _iso(d: object) -> str | None:
    if d is None or (isinstance(d, float) and np.isnan(d)) or d is pd.NaT:
        return None
    text = str(d)[:10]
    return text or None


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM``.

    Raises
    ------
    ValueError
        ``month`` is not ``YYYY-MM``.
    """
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from None
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def assignment_source(month: str, departed: str | None, rule: str) -> str:
    """The ``source`` text of a SERVES tie written by an approved orphan assignment (the
    approver has a column of its own, ``approved_by``; ties written before it existed carry
    ``approved:<who>`` in ``source``, which :func:`assignments` still reads)."""
    return f"{ASSIGNMENT_SOURCE}:{month};from:{departed or ''};rule:{rule}"


def parse_source(source: object) -> dict[str, str] | None:
    """The fields of an orphan-assignment ``source`` (month, approved, from, rule), else None."""
    if not isinstance(source, str) or not source.startswith(ASSIGNMENT_SOURCE + ":"):
        return None
    out: dict[str, str] = {}
    for part in source.split(";"):
        key, _, value = part.partition(":")
        out["month" if key == ASSIGNMENT_SOURCE else key] = value
    return out


def assignments(relationships: pd.DataFrame, month: str | None = None) -> pd.DataFrame:
    """SERVES ties written by approved orphan assignments (the follow-up list).

    Parameters
    ----------
    relationships : DataFrame
        The store's relationships (``ag.relationships`` or ``store.relationships(["SERVES"])``).
    month : str, optional
        ``YYYY-MM``: only that month's assignments.

    Returns
    -------
    DataFrame
        ``client_id, agent_id, assigned, month, approved_by, from_agent, rule``, sorted by
        assigned date, agent, client.
    """
    rels = relationships
    serves = rels.loc[(rels["type"] == "SERVES").to_numpy()]
    prefix = ASSIGNMENT_SOURCE + ":"
    mask = [isinstance(v, str) and v.startswith(prefix) for v in serves["source"].tolist()]
    serves = serves.loc[np.asarray(mask, dtype=bool)]
    rows = []
    approvers = (serves["approved_by"] if "approved_by" in serves.columns
                 else pd.Series(None, index=serves.index, dtype=object))
    for src, dst, start, source, by in zip(serves["src_id"], serves["dst_id"],
                                           serves["start_date"], serves["source"], approvers,
                                           strict=True):
        f = parse_source(source) or {}
        if month is not None and f.get("month") != month:
            continue
        approver = by if isinstance(by, str) and by else f.get("approved")
        rows.append({"client_id": dst, "agent_id": src, "assigned": _iso(start),
                     "month": f.get("month"), "approved_by": approver,
                     "from_agent": f.get("from") or None, "rule": f.get("rule")})
    out = pd.DataFrame(rows, columns=["client_id", "agent_id", "assigned", "month",
                                      "approved_by", "from_agent", "rule"])
    return out.sort_values(["assigned", "agent_id", "client_id"], kind="stable"
                           ).reset_index(drop=True)


def find_orphans(ag: AnalysisGraph, as_of: date, branch: str | None = None) -> pd.DataFrame:
    """Every holder of an in-force policy whose serving agent has departed or who has none.

    Parameters
    ----------
    ag : AnalysisGraph
    as_of : date
        ``days_orphaned`` counts from the departure date to this date.
    branch : str, optional
        Only orphans of departed agents of this branch (营业部).

    Returns
    -------
    DataFrame
        ``ORPHAN_COLUMNS``: the client, the departed agent (None when the client never had an
        agent) with name, supervisor, team and branch, in-force ``policies`` held and their
        annual ``premium``, ``orphaned_since`` (the departure date, ISO) and
        ``days_orphaned``; longest orphaned first, then client id.
    """
    clients = ag.clients
    pol = ag.policies
    inf = pol.loc[(pol["status"] == "in_force").to_numpy(), ["holder_id", "annual_premium"]]
    # holders only: a child insured on a parent's policy is looked after through the parent
    ids = pd.Index(inf["holder_id"].dropna().unique())
    ids = ids[clients.index.get_indexer(ids) >= 0]
    serving = ag.serving.reindex(ids).to_numpy()
    active = ag.agents.index[(ag.agents["status"] == "active").to_numpy()]
    has = pd.notna(serving)
    orphan = ~has
    orphan[has] = active.get_indexer(serving[has].astype(object)) < 0
    ids = ids[orphan]
    dep = pd.Series(serving[orphan], index=ids, dtype=object)
    dep = dep.where(dep.notna(), None)
    agents = ag.agents.reindex(dep.to_numpy())
    mine = inf.loc[inf["holder_id"].isin(ids).to_numpy()]
    counts = mine.groupby("holder_id").size()
    prem = pd.to_numeric(mine["annual_premium"], errors="coerce").groupby(mine["holder_id"]).sum()
    since = pd.to_datetime(agents["departure_date"], errors="coerce")
    days = (pd.Timestamp(as_of) - since).dt.days
    out = pd.DataFrame({
        "client_id": ids.to_numpy(),
        "name": clients["name"].reindex(ids).to_numpy(),
        "region": clients["region"].reindex(ids).to_numpy(),
        "departed_agent": dep.to_numpy(),
        "departed_agent_name": agents["name"].to_numpy(),
        "supervisor_id": agents["supervisor_id"].to_numpy(),
        "team": agents["team"].to_numpy(),
        "branch": agents["branch"].to_numpy(),
        "policies": counts.reindex(ids).fillna(0).astype(int).to_numpy(),
        "premium": prem.reindex(ids).fillna(0.0).to_numpy(dtype=float),
        "orphaned_since": since.dt.strftime("%Y-%m-%d").to_numpy(),
        "days_orphaned": days.to_numpy(),
    })
    if branch is not None:
        out = out.loc[out["branch"] == branch]
    out = out.astype(object).where(out.notna(), None)
    out["premium"] = out["premium"].astype(float)
    out["policies"] = out["policies"].astype(int)
    out = out.sort_values(["orphaned_since", "client_id"], na_position="first", kind="stable")
    return out[ORPHAN_COLUMNS].reset_index(drop=True)


# -- warmest connection --------------------------------------------------------------------
def _keep_columns(m: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """``m`` with only the entries whose column is marked in ``keep`` (zeros kept: a tie of
    strength 1 has distance 0)."""
    mask = keep[m.indices]
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))[mask]
    indptr = np.zeros(m.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m.shape[0]), out=indptr[1:])
    return sp.csr_matrix((m.data[mask], m.indices[mask], indptr), shape=m.shape)


def non_agent_ties(ag: AnalysisGraph) -> sp.csr_matrix:
    """The distance matrix without the ties to agents (cached on the graph)."""
    hit = ag._cache.get("fieldwork_non_agent_ties")
    if hit is None:
        c = ag.csr
        is_agent = ag.nodes["label"].reindex(c.ids).to_numpy() == "Agent"
        hit = _keep_columns(c.distance, ~is_agent)
        ag._cache["fieldwork_non_agent_ties"] = hit
    return hit


def agent_connections(ag: AnalysisGraph, client_ids: list[str], agent_ids: list[str],
                      max_hops: int = 3, *, path_tuples: bool = True) -> Any:
    """The warmest connection of each of ``agent_ids`` to each of ``client_ids``.

    Hop-bounded shortest connection distance (``-ln strength`` summed over the ties) over the
    analysis graph, where only clients and organizations may lie between the client and the
    agent: ``client - spouse - spouse's colleague - agent`` is three ties. Computed for all
    clients at once on the CSR view: a frontier of (client, node, distance, path) rows is
    expanded one hop at a time through the ties between non-agents, keeping the best way to
    each node per client, and each hop's frontier is joined with the ties to the agents.

    Parameters
    ----------
    ag : AnalysisGraph
    client_ids : list of str
    agent_ids : list of str
        The agents that may be reached (e.g. the active ones).
    max_hops : int
        Longest chain of ties (1 or more; each hop costs one expansion).

    path_tuples : bool
        False: return ``(frame, path_ids)`` where ``frame["path"]`` is the row of ``path_ids``
        (an object array, one row per pair, ``None`` past the path's end) instead of a tuple:
        building a tuple for every reached pair costs more than the search at 10^5 when only
        the chosen agent's path is read.

    Returns
    -------
    DataFrame
        ``client_id, agent_id, distance, hops, path`` (``path``: the ids strictly between the
        client and the agent, client side first, as a tuple), one row per reached pair.
    """
    cols = ["client_id", "agent_id", "distance", "hops", "path"]

    def empty() -> Any:
        frame = pd.DataFrame(columns=cols)
        return frame if path_tuples else (frame, np.empty((0, 0), dtype=object))

    c = ag.csr
    start = c.index.get_indexer(pd.Index(client_ids).unique())
    start = start[start >= 0]
    pool = c.index.get_indexer(pd.Index(agent_ids).unique())
    pool = pool[pool >= 0]
    if not len(start) or not len(pool) or not c.distance.nnz:
        return empty()
    ties = non_agent_ties(ag)
    width_n = np.int64(c.distance.shape[0])  # node positions < width_n: keys fit in int64
    in_pool = np.zeros(c.distance.shape[0], dtype=bool)
    in_pool[pool] = True
    to_agents = _keep_columns(c.distance, in_pool)  # node -> agent of the pool
    o = start.astype(np.int64)
    x = start.astype(np.int64)
    d = np.zeros(len(start))
    paths: list[np.ndarray] = []
    found: list[tuple[np.ndarray, ...]] = []
    for hop in range(1, max(1, max_hops) + 1):
        # ties to the agents from the current frontier
        ip = to_agents.indptr
        lens = ip[x + 1] - ip[x]
        if lens.sum():
            rep = np.repeat(np.arange(len(x)), lens)
            pos = ranges(ip[x], lens)
            found.append((o[rep], to_agents.indices[pos].astype(np.int64),
                          d[rep] + to_agents.data[pos],
                          np.full(len(rep), hop), *[p[rep] for p in paths]))
        if hop == max_hops:
            break
        ip = ties.indptr
        lens = ip[x + 1] - ip[x]
        if not lens.sum():
            break
        rep = np.repeat(np.arange(len(x)), lens)
        pos = ranges(ip[x], lens)
        y = ties.indices[pos].astype(np.int64)
        nd = d[rep] + ties.data[pos]
        no = o[rep]
        ok = y != no
        for p in paths:  # simple paths only
            ok &= y != p[rep]
        y, nd, no, rep = y[ok], nd[ok], no[ok], rep[ok]
        # best way to each node per client: one int64 key (client, node), then the distance
        key = no * width_n + y
        order = np.lexsort((nd, key))
        y, nd, no, rep, key = y[order], nd[order], no[order], rep[order], key[order]
        first = np.r_[True, key[1:] != key[:-1]]
        y, nd, no, rep = y[first], nd[first], no[first], rep[first]
        paths = [p[rep] for p in paths] + [y]
        o, x, d = no, y, nd
        if not len(x):
            break
    if not found:
        return empty()
    width = max(len(f) for f in found)
    fo = np.concatenate([f[0] for f in found])
    fa = np.concatenate([f[1] for f in found])
    fd = np.concatenate([f[2] for f in found])
    fh = np.concatenate([f[3] for f in found])
    fp = [np.concatenate([f[k] if k < len(f) else np.full(len(f[0]), -1) for f in found])
          for k in range(4, width)]
    pair = fo * width_n + fa  # (client, agent) as one int64 key
    order = np.lexsort((fh, fd, pair))
    fo, fa, fd, fh, pair = fo[order], fa[order], fd[order], fh[order], pair[order]
    fp = [p[order] for p in fp]
    first = np.r_[True, pair[1:] != pair[:-1]]
    fo, fa, fd, fh = fo[first], fa[first], fd[first], fh[first]
    fp = [p[first] for p in fp]
    ids = np.asarray(c.ids, dtype=object)
    if not path_tuples:
        matrix = np.full((len(fo), len(fp)), None, dtype=object)
        for k, p in enumerate(fp):
            ok = p >= 0
            matrix[ok, k] = ids[p[ok]]
        out = pd.DataFrame({"client_id": ids[fo], "agent_id": ids[fa], "distance": fd,
                            "hops": fh.astype(int), "path": np.arange(len(fo))}, columns=cols)
        return out, matrix
    path_col = [tuple(ids[q] for q in row if q >= 0) for row in zip(*fp, strict=True)] \
        if fp else [()] * len(fo)
    return pd.DataFrame({"client_id": ids[fo], "agent_id": ids[fa], "distance": fd,
                         "hops": fh.astype(int), "path": path_col}, columns=cols)


def tie_between(ag: AnalysisGraph, a: str, b: str) -> tuple[str, str | None] | None:
    """``(type, kind)`` of the tie between two nodes of the graph (None when there is none)."""
    c = ag.csr
    words = ag._cache.get("fieldwork_tie_words")
    if words is None:
        kinds = ag.edges["kind"].to_numpy(dtype=object)
        types = ag.edges["type"].to_numpy(dtype=object)
        words = (types, kinds)
        ag._cache["fieldwork_tie_words"] = words
    try:
        pa, pb = c.index.get_loc(a), c.index.get_loc(b)
    except KeyError:
        return None
    lo, hi = c.distance.indptr[pa], c.distance.indptr[pa + 1]
    where = np.flatnonzero(c.distance.indices[lo:hi] == pb)
    if not len(where):
        return None
    e = int(c.edge_pos[lo + where[0]])
    kind = words[1][e]
    return str(words[0][e]), (None if kind is None or pd.isna(kind) else str(kind))


def _tie_word(ag: AnalysisGraph, a: str, b: str) -> str:
    """The type (and kind) of the tie between two nodes, e.g. ``RELATIVE_OF:spouse``."""
    tie = tie_between(ag, a, b)
    if tie is None:
        return "?"
    return tie[0] if tie[1] is None else f"{tie[0]}:{tie[1]}"


def describe_connection(ag: AnalysisGraph, client_id: str, agent_id: str,
                        path: tuple[str, ...]) -> str:
    """``client -[tie]- person -[tie]- ... - agent`` with names, e.g.
    ``王芳 -[RELATIVE_OF:spouse]- 李四 -[COLLEAGUE_OF]- 赵敏 -[SERVES:perceived]- 业务员``."""
    chain = [client_id, *path, agent_id]
    parts = [ag.name(chain[0])]
    for a, b in itertools.pairwise(chain):
        parts.append(f"-[{_tie_word(ag, a, b)}]- {ag.name(b)}")
    return " ".join(parts)


# -- the proposal --------------------------------------------------------------------------
@dataclass
class _Agent:
    agent_id: str
    region: object
    first_year: bool
    book: int
    received: int


def _received_in_month(ag: AnalysisGraph, month: str) -> pd.Series:
    a = assignments(ag.relationships, month)
    return a.groupby("agent_id").size() if len(a) else pd.Series(dtype=int)


def propose(ag: AnalysisGraph, month: str, assign_date: date | None = None,
            branch: str | None = None) -> pd.DataFrame:
    """Propose a new serving agent for every orphan (the rules are in the module docstring).

    Parameters
    ----------
    ag : AnalysisGraph
    month : str
        ``YYYY-MM``: the month whose caps apply.
    assign_date : date, optional
        The assignment date T (first-year window, team deadline, the visit plan). Default:
        the first day of ``month``.
    branch : str, optional
        Only orphans of departed agents of this branch.

    Returns
    -------
    DataFrame
        ``PROPOSAL_COLUMNS``, one row per orphan in the order handed out. ``agent_id`` is None
        when no agent could take the orphan this month, and ``rule`` then says why
        (``waiting_for_team`` before the team deadline, ``no_room`` otherwise). ``hops`` /
        ``warmth`` describe the agent's existing connection to the client (None: a stranger),
        ``book`` and ``received_this_month`` are the agent's counts before this orphan,
        ``reason`` is the line a supervisor reads (English; :mod:`graphcrm.fieldwork.words`
        words it in either language) and ``via`` the ids strictly between the client and the
        agent on the warmest connection.
    """
    s: Settings = ag.settings
    o = s.orphans
    first, _last = month_bounds(month)
    t = assign_date or first
    orph = find_orphans(ag, t, branch)
    cols = PROPOSAL_COLUMNS
    if not len(orph):
        return pd.DataFrame(columns=cols)

    agents = ag.agents
    active = agents.loc[agents["status"] == "active"]
    hire = pd.to_datetime(active["hire_date"], errors="coerce")
    fy = (hire > pd.Timestamp(t - timedelta(days=o.first_year_days))).to_numpy()
    books = ag.serving.value_counts()
    received = _received_in_month(ag, month)
    pool: dict[str, _Agent] = {
        a: _Agent(a, r, bool(f), int(books.get(a, 0)), int(received.get(a, 0)))
        for a, r, f in zip(active.index, active["region"], fy, strict=True)
    }
    cap = o.cap_per_agent_month
    # teams: by supervisor, else by team name
    by_sup: dict[object, list[str]] = {}
    by_team: dict[object, list[str]] = {}
    for a, sup, team in zip(active.index, active["supervisor_id"], active["team"], strict=True):
        if isinstance(sup, str) and sup:
            by_sup.setdefault(sup, []).append(a)
        if isinstance(team, str) and team:
            by_team.setdefault(team, []).append(a)
    by_region: dict[object, list[tuple[int, int, str]]] = {}
    for a in pool.values():
        by_region.setdefault(a.region, []).append((int(not a.first_year), a.book, a.agent_id))
    for heap in by_region.values():
        heapq.heapify(heap)

    conn, path_ids = agent_connections(ag, orph["client_id"].tolist(), list(pool),
                                       o.connection_max_hops, path_tuples=False)
    # client -> agent -> (distance, hops, row of path_ids); the path tuple is built only for
    # the agent chosen (one per orphan), not for every reached pair
    warm: dict[str, dict[str, tuple[float, int, int]]] = {}
    for c, a, dist, h, p in zip(conn["client_id"].tolist(), conn["agent_id"].tolist(),
                                conn["distance"].tolist(), conn["hops"].tolist(),
                                conn["path"].tolist(), strict=True):
        warm.setdefault(c, {})[a] = (dist, h, p)

    def path_of(row: int) -> tuple[str, ...]:
        if not path_ids.shape[1]:
            return ()
        return tuple(x for x in path_ids[row] if x is not None)

    def room(a: str) -> bool:
        return pool[a].received < cap

    def key(a: str, w: dict[str, tuple[float, int, tuple[str, ...]]]) -> tuple:
        ag_ = pool[a]
        dist = w[a][0] if a in w else np.inf
        return (int(not ag_.first_year), dist, ag_.book, a)

    def best_in(members: list[str], w: dict) -> str | None:
        cands = [a for a in members if room(a)]
        return min(cands, key=lambda a: key(a, w)) if cands else None

    def best_in_region(region: object, w: dict) -> str | None:
        heap = by_region.get(region)
        if not heap:
            return None
        while heap:  # drop stale entries (book changed) and full agents
            _nf, book, a = heap[0]
            if not room(a) or book != pool[a].book:
                heapq.heappop(heap)  # an up-to-date entry was pushed when the book grew
                continue
            break
        top = heap[0][2] if heap else None
        warm_here = [a for a in w if a in pool and pool[a].region == region and room(a)]
        cands = warm_here + ([top] if top else [])
        return min(cands, key=lambda a: key(a, w)) if cands else None

    dep_region = agents["region"]
    rows = []
    for r in orph.itertuples(index=False):
        c = r.client_id
        w = warm.get(c, {})
        sup, team = r.supervisor_id, r.team
        members = by_sup.get(sup, []) if isinstance(sup, str) and sup else []
        if not members and isinstance(team, str):
            members = by_team.get(team, [])
        region = r.region if isinstance(r.region, str) and r.region else (
            dep_region.get(r.departed_agent) if r.departed_agent else None)
        deadline = None
        if r.orphaned_since:
            deadline = date.fromisoformat(r.orphaned_since) + timedelta(days=o.team_deadline_days)
        chosen, rule = best_in(members, w), "team"
        if chosen is None and members and deadline is not None and t < deadline:
            rule = "waiting_for_team"
        elif chosen is None:
            chosen, rule = best_in_region(region, w), "region"
            if chosen is None:
                for near in o.nearest_regions.get(str(region), []):
                    chosen = best_in_region(near, w)
                    if chosen is not None:
                        rule = "nearest_region"
                        break
            if chosen is None:
                rule = "no_room"
        line: dict[str, object] = {
            "client_id": c, "client_name": r.name, "region": region,
            "departed_agent": r.departed_agent, "supervisor_id": sup, "agent_id": chosen,
            "agent_name": None, "agent_region": None, "rule": rule, "first_year": None,
            "hops": None, "warmth": None, "book": None, "received_this_month": None,
            "connection": None, "via": None,
        }
        if chosen is None:
            line["reason"] = (f"waiting for the supervisor's team (full this month) until "
                              f"{deadline}" if rule == "waiting_for_team" else
                              "no agent with room in the team, the region or the nearest "
                              "regions this month")
            rows.append(line)
            continue
        a = pool[chosen]
        line.update(agent_name=ag.name(chosen), agent_region=a.region, first_year=a.first_year,
                    book=a.book, received_this_month=a.received)
        why = {"team": "supervisor's team", "region": f"region {region}",
               "nearest_region": f"nearest region {a.region} (region {region} full)"}[rule]
        parts = [why]
        if a.first_year:
            parts.append("first-year agent")
        if chosen in w:
            dist, hops, row = w[chosen]
            path = path_of(row)
            line.update(hops=hops, warmth=float(np.exp(-dist)), via=list(path),
                        connection=describe_connection(ag, c, chosen, path))
            parts.append(f"warmest connection ({hops} ties, warmth {np.exp(-dist):.2f}): "
                         f"{line['connection']}")
        else:
            parts.append("no existing connection")
        parts.append(f"book {a.book}, {a.received}/{cap} orphans this month")
        line["reason"] = "; ".join(parts)
        rows.append(line)
        a.received += 1
        a.book += 1
        if a.region in by_region:
            heapq.heappush(by_region[a.region], (int(not a.first_year), a.book, chosen))
    out = pd.DataFrame(rows, columns=cols)
    out = out.astype(object).where(out.notna(), None)
    for col in ("hops", "book", "received_this_month"):  # counts, not floats
        out[col] = pd.Series([None if v is None else int(v) for v in out[col]], dtype=object,
                             index=out.index)
    return out


def assignment_ties(proposal: pd.DataFrame, month: str, assign_date: date,
                    approver: str) -> pd.DataFrame:
    """The SERVES rows (template columns of ``relationships``) an approved proposal writes.

    Lines without an agent write nothing. ``start_date`` = the assignment date; ``source``
    names the month, the departed agent and the rule (:func:`parse_source`); ``approved_by``
    the approver.
    """
    got = proposal.loc[proposal["agent_id"].notna()]
    return pd.DataFrame({
        "src_id": got["agent_id"].to_numpy(dtype=object),
        "dst_id": got["client_id"].to_numpy(dtype=object),
        "type": "SERVES", "kind": None, "start_date": assign_date.isoformat(),
        "source": [assignment_source(month, d, r)
                   for d, r in zip(got["departed_agent"], got["rule"], strict=True)],
        "confidence": 1.0, "converted": None, "approved_by": approver,
    }, columns=["src_id", "dst_id", "type", "kind", "start_date", "source", "confidence",
                "converted", "approved_by"])


NOTICE_COLUMNS = ["recipient", "recipient_id", "name", "phone", "language", "message"]


def notices(assigned: pd.DataFrame, clients: pd.DataFrame, agents: pd.DataFrame, *,
            month: str, language: str, client_template: str, agent_template: str,
            first_visit_days: int, separator: str = ", ") -> pd.DataFrame:
    """The texts an approved assignment asks for: one per client (their new agent) and one per
    agent (the orphans received), for the SMS gateway (nothing is sent from here).

    Parameters
    ----------
    assigned : DataFrame
        :func:`assignments` of the month.
    clients, agents : DataFrame
        Node tables with ``client_id`` / ``agent_id``, ``name`` and ``phone``.
    month : str
    language : str
        ``zh`` or ``en``, written in the ``language`` column.
    client_template, agent_template : str
        ``str.format`` templates; the client one gets ``client, agent, agent_phone``, the
        agent one ``agent, month, count, clients, due`` (``due``: the first visit's due date
        of the earliest assignment).
    first_visit_days : int
        Days from the assignment to the first visit's due date.

    Returns
    -------
    DataFrame
        ``NOTICE_COLUMNS``: clients first (by client id), then agents (by agent id).
    """
    cl = clients.set_index("client_id")
    ag_ = agents.set_index("agent_id")

    def field(frame: pd.DataFrame, i: str, col: str) -> str:
        v = frame[col].get(i) if i in frame.index else None
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

    rows = []
    for r in assigned.sort_values("client_id", kind="stable").itertuples(index=False):
        rows.append({"recipient": "client", "recipient_id": r.client_id,
                     "name": field(cl, r.client_id, "name"),
                     "phone": field(cl, r.client_id, "phone"), "language": language,
                     "message": client_template.format(
                         client=field(cl, r.client_id, "name"),
                         agent=field(ag_, r.agent_id, "name"),
                         agent_phone=field(ag_, r.agent_id, "phone"))})
    for a, grp in assigned.groupby("agent_id", sort=True):
        first = min(date.fromisoformat(str(x)) for x in grp["assigned"])
        names = [f"{field(cl, c, 'name')} ({c})" for c in sorted(grp["client_id"])]
        rows.append({"recipient": "agent", "recipient_id": a, "name": field(ag_, a, "name"),
                     "phone": field(ag_, a, "phone"), "language": language,
                     "message": agent_template.format(
                         agent=field(ag_, a, "name"), month=month, count=len(grp),
                         clients=separator.join(names),
                         due=(first + timedelta(days=first_visit_days)).isoformat())})
    return pd.DataFrame(rows, columns=NOTICE_COLUMNS)
