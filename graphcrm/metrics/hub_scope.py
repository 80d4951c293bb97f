"""Influence hubs by scope: the hubs, the influence histogram and the circle penetration of a
set of agents' books (a team, a branch, a region, a manager's teams), from one whole-graph pass.

The hubs page (影响力中心) shows, for the agents it is filtered to, the most influential
clients they serve, how influence spreads over their clients, and which circles (Louvain
communities) they reach. Computed directly, each visit re-reads every client (serving agent,
circle, influence): seconds at 10^5 clients, tens of seconds at 10^6. Here the whole-graph part
is :func:`hub_scope_index`, once per analysis graph (the post-ingest warm-up saves it in the
snapshot): per client of :func:`~graphcrm.metrics.influence.influence_table`, in its order
(influence, then id), the position of the row, a code of the serving agent and the circle,
plus each circle's client count and its two most influential clients. It holds numbers only
(no name, no id), so a scoped copy of the graph may carry it. :func:`hubs_in_scope` then
filters to the agents of a scope with array look-ups and returns small tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphcrm.graph import AnalysisGraph
from graphcrm.metrics.influence import influence_table

__all__ = ["HubsInScope", "hub_scope_index", "hubs_in_scope"]

#: key of ``AnalysisGraph._cache`` holding :func:`hub_scope_index` (saved with the snapshot)
INDEX_KEY = "hub_scope_index"
#: clients naming a circle (the circle's most influential ones)
CIRCLE_NAMERS = 2


def _table(ag: AnalysisGraph) -> pd.DataFrame:
    """The cached influence table itself (no copy: only read here)."""
    key = "influence_table/True"
    if key not in ag._cache:
        influence_table(ag)
    return ag._cache[key]


def hub_scope_index(ag: AnalysisGraph) -> dict[str, np.ndarray]:
    """The whole-graph pass behind :func:`hubs_in_scope`, cached on ``ag``.

    Returns
    -------
    dict of ndarray
        For the clients of the influence table, in its order: ``pos`` (row of the table),
        ``agent`` (position of the serving agent in ``ag.agents.index``, -1 for none or an id
        that is not an agent), ``circle`` (circle number, -1 for none); per circle number:
        ``circle_clients`` (clients in it) and ``circle_top`` (``CIRCLE_NAMERS`` columns of
        client positions in ``pos``, most influential first, -1 where the circle has fewer
        clients); ``agents`` (the agent ids the codes refer to).
    """
    hit = ag._cache.get(INDEX_KEY)
    if hit is not None:
        return hit
    table = _table(ag)
    pos = np.flatnonzero((table["label"] == "Client").to_numpy())
    ids = pd.Index(table["id"].to_numpy()[pos])
    agents = ag.agents.index
    serving = ag.serving.reindex(ids)
    agent = agents.get_indexer(serving.to_numpy()).astype(np.int32)  # NaN / unknown: -1
    circle = pd.to_numeric(pd.Series(table["circle"].to_numpy()[pos]), errors="coerce")
    circle = circle.fillna(-1).to_numpy(dtype=np.int64)
    has = np.flatnonzero(circle >= 0)
    n_circles = int(circle.max()) + 1 if len(has) else 0
    clients_in = np.bincount(circle[has], minlength=n_circles)
    # each circle's first clients in influence order: group by circle, keeping that order
    order = has[np.argsort(circle[has], kind="stable")]
    grouped = circle[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = grouped[1:] != grouped[:-1]
    starts = np.flatnonzero(first)
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.append(starts, len(order))))
    keep = rank < CIRCLE_NAMERS
    top = np.full((n_circles, CIRCLE_NAMERS), -1, dtype=np.int64)
    top[grouped[keep], rank[keep]] = order[keep]
    out = {"pos": pos.astype(np.int64), "agent": agent, "circle": circle.astype(np.int32),
           "circle_clients": clients_in.astype(np.int64), "circle_top": top,
           "agents": agents.to_numpy(dtype=object)}
    ag._cache[INDEX_KEY] = out
    return out


@dataclass(frozen=True)
class HubsInScope:
    """The hubs page's tables for one scope (:func:`hubs_in_scope`).

    ``hubs``: the ``top`` most influential clients served by the scope's agents, as
    :func:`~graphcrm.metrics.influence.hubs` rows (influence table columns plus ``status`` and
    ``serving_agent``). ``influence``: the influence of the scope's clients (every client when
    ``everyone``), for the histogram. ``circles``: the biggest circles by client count
    (``members``) with ``served`` (clients in it served by the scope's agents), indexed by
    circle number; only circles the scope serves unless ``everyone``. ``circle_top``: the
    clients naming each circle of ``hubs`` and ``circles`` (``id, name, label, influence,
    circle``), most influential first, names as in the influence table (hide them for the
    user before showing).
    """

    hubs: pd.DataFrame
    influence: np.ndarray
    circles: pd.DataFrame
    circle_top: pd.DataFrame


def hubs_in_scope(ag: AnalysisGraph, members: Iterable[str], everyone: bool = False,
                  top: int | None = None, circles: int = 10) -> HubsInScope:
    """The hubs, influence histogram values and circle penetration of the agents ``members``.

    Parameters
    ----------
    ag : AnalysisGraph
    members : iterable of str
        Agent ids whose books make the scope.
    everyone : bool
        The histogram counts every client and the circle table keeps circles the scope does
        not serve (the page's "all"); ``hubs`` and ``served`` still count ``members`` only.
    top : int, optional
        Hubs to return; default ``settings.metrics.hubs_top``.
    circles : int
        Circles to return, biggest first (ties: lower circle number first).

    Returns
    -------
    HubsInScope
        Equal to filtering :func:`~graphcrm.metrics.influence.hubs` (all clients) and the
        influence table to the clients ``members`` serve, with the work of a few array
        look-ups per client instead of a pass over the tables.
    """
    top = ag.settings.metrics.hubs_top if top is None else int(top)
    idx = hub_scope_index(ag)
    table = _table(ag)
    codes = pd.Index(idx["agents"]).get_indexer(pd.Index(list(members), dtype=object))
    allowed = np.zeros(len(idx["agents"]) + 1, dtype=bool)  # the last slot: no agent (-1)
    allowed[codes[codes >= 0]] = True
    served = allowed[idx["agent"]]
    rows = idx["pos"][np.flatnonzero(served)[:top]]
    hubs = table.iloc[rows].reset_index(drop=True)
    hubs["status"] = ag.clients["status"].reindex(hubs["id"]).to_numpy()
    hubs["serving_agent"] = ag.serving.reindex(hubs["id"]).to_numpy()
    influence = table["influence"].to_numpy()
    influence = influence[idx["pos"]] if everyone else influence[idx["pos"][served]]
    circle = idx["circle"]
    has = circle >= 0
    pen = pd.DataFrame({"members": idx["circle_clients"],
                        "served": np.bincount(circle[has & served],
                                              minlength=len(idx["circle_clients"]))},
                       index=pd.RangeIndex(len(idx["circle_clients"]), name="circle"))
    pen = pen.loc[pen["members"] > 0]
    if not everyone:
        pen = pen.loc[pen["served"] > 0]
    pen = pen.sort_values("members", ascending=False, kind="stable").head(circles)
    named = pd.to_numeric(hubs["circle"], errors="coerce").dropna().astype(np.int64)
    wanted = np.unique(np.concatenate([named.to_numpy(), pen.index.to_numpy(np.int64)]))
    at = idx["circle_top"][wanted].ravel() if len(wanted) else np.empty(0, np.int64)
    at = at[at >= 0]
    circle_top = table.iloc[idx["pos"][np.sort(at)]][
        ["id", "name", "label", "influence", "circle"]].reset_index(drop=True)
    return HubsInScope(hubs, influence, pen, circle_top)
