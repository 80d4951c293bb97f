"""The operation map (作战地图) of one agent: everyone within reach, how warm, how valuable.

One row per client or prospect within ``settings.metrics.max_hops`` ties of the agent (and
every client of the agent's book, reachable or not), with the connection distance, warmth,
influence, the agent's trust level with the person, the ability x trust quadrant, value tier,
ABC class, the best first introducer and the operation stage (Hunt → Farm → Harvest →
Chain).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphcrm.errors import UnknownIdError
from graphcrm.graph import AnalysisGraph
from graphcrm.graph.strength import reference_date, trust_table
from graphcrm.metrics import tiers
from graphcrm.metrics.influence import influence_scores
from graphcrm.metrics.paths import connection_distances
from graphcrm.metrics.stages import operation_stages

COLUMNS = ["person_id", "name", "status", "distance", "warmth", "hops", "influence",
           "power_circle", "trust_level", "trust_evidence", "quadrant", "value_tier", "abc",
           "best_introducer", "best_introducer_name", "tie_type", "stage", "stage_evidence"]


def _cached(ag: AnalysisGraph, key: str, make: object) -> pd.DataFrame:
    if key not in ag._cache:
        ag._cache[key] = make()  # type: ignore[operator]
    return ag._cache[key]


def trust(ag: AnalysisGraph) -> pd.DataFrame:
    """Trust level of every agent–client pair (cached on the analysis graph)."""
    def make() -> pd.DataFrame:
        today = reference_date(ag.interactions, ag.policies, ag.settings.metrics)
        return trust_table(ag.interactions, ag.policies, ag.settings, today)
    return _cached(ag, "trust", make)


def in_index(index: pd.Index, ids: pd.Index) -> np.ndarray:
    """Which of ``ids`` are in ``index`` (a boolean mask): through the index's own hash table,
    which pandas builds once per index, where ``ids.isin(index)`` hashes all of ``index`` again
    on every call (10^5-10^6 client ids per operation map)."""
    if index.is_unique:
        return index.get_indexer(ids) >= 0
    return ids.isin(index)


def client_tiers(ag: AnalysisGraph) -> pd.DataFrame:
    """Quadrant, value tier and ABC class per client id (cached; empty columns on failure)."""
    def make() -> pd.DataFrame:
        clients = ag.clients.reset_index(drop=True)
        policies = ag.policies.reset_index(drop=True)
        t = trust(ag)
        infl = influence_scores(ag)["influence"]
        infl = infl[infl.index.isin(ag.clients.index)]
        departed = set(ag.agents.index[ag.agents["status"] == "departed"])
        q = tiers.quadrants(clients, t, ag.settings, serving=ag.serving,
                            departed=departed).set_index("client_id")["quadrant"]
        v = tiers.value_tiers(clients, policies, influence=infl, trust=t,
                              settings=ag.settings, serving=ag.serving,
                              departed=departed).set_index("client_id")["value_tier"]
        a = tiers.abc_classes(policies, clients, ag.settings).set_index("client_id")["abc"]
        return pd.DataFrame({"quadrant": q, "value_tier": v, "abc": a})
    return _cached(ag, "tiers", make)


def operation_map(ag: AnalysisGraph, agent_id: str, max_hops: int | None = None
                  ) -> pd.DataFrame:
    """The agent's operation map.

    Parameters
    ----------
    ag : AnalysisGraph
    agent_id : str
    max_hops : int, optional
        Default ``settings.metrics.max_hops``.

    Returns
    -------
    DataFrame
        Columns ``person_id, name, status (client/prospect), distance, warmth, hops,
        influence, power_circle, trust_level, trust_evidence, quadrant, value_tier, abc,
        best_introducer, best_introducer_name, tie_type, stage, stage_evidence``, warmest
        first (``stage``: hunt / farm / harvest / chain, :mod:`graphcrm.metrics.stages`).
        ``distance`` /
        ``warmth`` / ``hops`` are NaN for a book client the agent cannot reach (e.g. after a
        complaint); ``best_introducer`` is the first person on the best path (None when the
        tie is direct); ``tie_type`` is the type of the last tie of the best path.

    Raises
    ------
    UnknownIdError
        ``agent_id`` is not an agent.
    """
    if agent_id not in ag.agents.index:
        raise UnknownIdError(agent_id, "agent")
    cd = connection_distances(ag, agent_id, max_hops)
    cd = cd[in_index(ag.clients.index, cd.index)]
    book = pd.Index(ag.book(agent_id))
    people = cd.index.append(book[~in_index(cd.index, book)]).unique()
    # ordered by id, so a stable sort by distance below orders by (distance, id)
    people = people.sort_values()
    df = cd.reindex(people)
    out = pd.DataFrame({"person_id": people})
    out["name"] = ag.nodes["name"].reindex(people).to_numpy()
    out["status"] = ag.clients["status"].reindex(people).to_numpy()
    out["distance"] = df["distance"].to_numpy()
    out["warmth"] = df["warmth"].to_numpy()
    out["hops"] = df["hops"].to_numpy()
    scores = _cached(ag, "influence", lambda: influence_scores(ag))
    out["influence"] = scores["influence"].reindex(people).to_numpy()
    out["power_circle"] = scores["power_circle"].reindex(people).to_numpy()
    t = trust(ag)
    mine = t.loc[t["agent_id"] == agent_id].set_index("client_id")
    out["trust_level"] = mine["level"].reindex(people).fillna("none").to_numpy()
    out["trust_evidence"] = mine["evidence"].reindex(people).to_numpy()
    try:
        tiers = client_tiers(ag).reindex(people)
        for col in ("quadrant", "value_tier", "abc"):
            out[col] = tiers[col].to_numpy()
    except (ImportError, AttributeError):  # the tiers module is optional
        out["quadrant"] = out["value_tier"] = out["abc"] = None
    stages = operation_stages(ag, people).reindex(people)
    out["stage"] = stages["stage"].to_numpy()
    out["stage_evidence"] = stages["stage_evidence"].to_numpy()
    first = df["first"].to_numpy()
    direct = first == people.to_numpy()
    out["best_introducer"] = pd.Series(first).where(~direct & pd.notna(first), None).to_numpy()
    out["best_introducer_name"] = ag.nodes["name"].reindex(out["best_introducer"]).to_numpy()
    out["tie_type"] = df["tie_type"].to_numpy()
    numeric = ("distance", "warmth", "influence", "power_circle")
    for col in out.columns:  # missing values: None in text columns, NaN in numbers
        if col not in numeric:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif out[col].dtype == object:
            out[col] = pd.to_numeric(out[col].where(out[col].notna(), None))
    # people are in id order: a stable sort by distance (NaN last) orders by (distance, id)
    order = np.argsort(out["distance"].to_numpy(dtype=float), kind="stable")
    return out[COLUMNS].take(order).reset_index(drop=True)
