"""Relationship strength, connection distance and agent–client trust ties (DESIGN.md).

Every tie of the analysis graph gets a strength ``s`` in ``(0, 1]`` and a distance
``d = -ln s``; the warmth of a path is the product of its strengths, ``exp(-sum d)``.

* Ordinary ties (family, friends, colleagues, employers, business, referrals): the base
  strength of the type (or ``TYPE:kind``) from ``settings.metrics.base_strength``, times
  ``confidence ** confidence_power``.
* Agent–client ties (SERVES, interactions, a policy's servicing agent): the higher of the
  SERVES base and the trust level's strength (``trust_strength``), plus ``interaction_bonus``
  per interaction within ``recent_days`` before the reference date, capped at
  ``max_strength``.
* One decay rule for every tie (:func:`decay_factor`): times ``0.5 ** (age /
  decay_half_life_days)``, never below ``decay_floor`` (a fully decayed tie), where the age is
  the days since the latest dated evidence of the tie: its interactions, the start dates of the
  client's policies with that agent, the relationship's ``start_date``. A tie with no dated
  evidence at all is fully decayed (``decay_floor``), or, when ``undated_age_days`` is 0 or
  more, as old as that: an undated tie is never warmer than the same tie with a recorded
  contact.
* Distrust (a complaint or a negative rating between the agent and the client) removes the tie.

Strengths are finally clipped to ``[min_strength, max_strength]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphcrm.config import MetricSettings, Settings
from graphcrm.graph.trust import trust_levels

EDGE_COLUMNS = ["u", "v", "strength", "distance", "type", "kind", "last_contact"]


def reference_date(interactions: pd.DataFrame, policies: pd.DataFrame | None,
                   settings: MetricSettings, relationships: pd.DataFrame | None = None
                   ) -> pd.Timestamp:
    """The 'today' of recency and decay: ``settings.as_of``, else the latest interaction or
    policy start date in the data (and relationship start date, when ``relationships`` are
    given: the tie decay counts them as evidence), never the wall clock, so results are
    reproducible."""
    if settings.as_of:
        return pd.Timestamp(settings.as_of)
    dates = []
    if relationships is not None and len(relationships) and "start_date" in relationships:
        dates.append(pd.to_datetime(relationships["start_date"], errors="coerce").max())
    if interactions is not None and len(interactions) and "date" in interactions:
        dates.append(pd.to_datetime(interactions["date"], errors="coerce").max())
    if policies is not None and len(policies) and "start_date" in policies:
        dates.append(pd.to_datetime(policies["start_date"], errors="coerce").max())
    dates = [d for d in dates if pd.notna(d)]
    return pd.Timestamp(max(dates)) if dates else pd.Timestamp("1970-01-01")


def decay_factor(last: pd.Series, today: pd.Timestamp, settings: MetricSettings
                 ) -> np.ndarray:
    """The decay of ties whose latest dated evidence is ``last`` (dates; NaT = undated).

    Parameters
    ----------
    last : Series
        Latest dated evidence per tie (anything :func:`pandas.to_datetime` reads).
    today : Timestamp
        The reference date.
    settings : MetricSettings
        ``decay_half_life_days``, ``decay_floor``, ``undated_age_days``.

    Returns
    -------
    ndarray
        ``max(0.5 ** (age_days / decay_half_life_days), decay_floor)`` per tie; evidence dated
        after ``today`` counts as age 0; an undated tie gets ``decay_floor``, or the factor of
        ``undated_age_days`` when that is 0 or more.

    Examples
    --------
    >>> s = pd.Series(["2025-12-01", "2023-12-01", None])
    >>> decay_factor(s, pd.Timestamp("2026-12-01"), MetricSettings()).round(3).tolist()
    [0.5, 0.25, 0.25]
    """
    when = pd.to_datetime(pd.Series(last).reset_index(drop=True), errors="coerce")
    days = (today - when).dt.days.clip(lower=0).to_numpy(dtype=float)
    if settings.undated_age_days >= 0:
        days = np.where(np.isnan(days), settings.undated_age_days, days)
    f = np.power(0.5, days / settings.decay_half_life_days)
    f = np.where(np.isnan(f), 0.0, f)
    return np.maximum(f, settings.decay_floor)


def relationship_strength(relationships: pd.DataFrame, settings: MetricSettings) -> pd.Series:
    """Strength of each relationship row from its type, kind and confidence (vectorised).

    Parameters
    ----------
    relationships : DataFrame
        Columns ``type``, ``kind`` (may be missing/None) and ``confidence`` (optional, 0..1).
    settings : MetricSettings
        ``base_strength``, ``confidence_power``, ``min_strength``, ``max_strength``.

    Returns
    -------
    Series
        Strength per row, same index; 0.0 where confidence is 0 (such rows carry no tie).

    Examples
    --------
    >>> rels = pd.DataFrame({"type": ["RELATIVE_OF", "FRIEND_OF"], "kind": ["spouse", None],
    ...                      "confidence": [1.0, 0.5]})
    >>> relationship_strength(rels, MetricSettings()).round(2).tolist()
    [0.95, 0.3]
    """
    base = settings.base_strength
    types = relationships["type"].astype(str)
    kinds = relationships["kind"] if "kind" in relationships else pd.Series(None, index=types.index)
    keyed = (types + ":" + kinds.fillna("").astype(str)).map(base)
    s = keyed.fillna(types.map(base)).fillna(settings.min_strength).astype(float)
    if "confidence" in relationships:
        conf = pd.to_numeric(relationships["confidence"], errors="coerce").fillna(1.0)
        s = s * conf.clip(0.0, 1.0) ** settings.confidence_power
    s = s.clip(upper=settings.max_strength)
    return s.where(s <= 0, s.clip(lower=settings.min_strength))


def trust_table(interactions: pd.DataFrame, policies: pd.DataFrame, settings: Settings,
                as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Trust level per agent–client pair: :func:`graphcrm.graph.trust.trust_levels`."""
    return trust_levels(interactions.reset_index(drop=True),
                        policies.reset_index(drop=True), settings,
                        as_of=None if as_of is None else as_of.date())


def agent_client_ties(relationships: pd.DataFrame, interactions: pd.DataFrame,
                      policies: pd.DataFrame, settings: Settings,
                      trust: pd.DataFrame | None = None) -> pd.DataFrame:
    """Agent–client ties with strength from trust, recency bonus and time decay.

    Parameters
    ----------
    relationships : DataFrame
        All relationships (SERVES rows are used).
    interactions, policies : DataFrame
        Interactions (``agent_id, client_id, type, date, rating``) and policies
        (``holder_id, servicing_agent_id``).
    settings : Settings
    trust : DataFrame, optional
        A precomputed :func:`trust_table` for the same data and reference date.

    Returns
    -------
    DataFrame
        ``u`` (agent), ``v`` (client), ``strength``, ``type`` = "SERVES", ``kind`` (the trust
        level), ``last_contact`` and ``distrust``; distrusted pairs are included with
        ``distrust=True`` so callers can report them, and must drop them from the graph.
    """
    m = settings.metrics
    serves = relationships.loc[relationships["type"] == "SERVES", ["src_id", "dst_id"]]
    conf = pd.Series(1.0, index=serves.index)
    if "confidence" in relationships:
        conf = pd.to_numeric(relationships.loc[serves.index, "confidence"],
                             errors="coerce").fillna(1.0)
    pairs = [pd.DataFrame({"u": serves["src_id"].to_numpy(), "v": serves["dst_id"].to_numpy(),
                           "serves": True, "conf": conf.to_numpy()})]
    if policies is not None and len(policies) and "servicing_agent_id" in policies:
        p = policies[["servicing_agent_id", "holder_id"]].dropna()
        pairs.append(pd.DataFrame({"u": p["servicing_agent_id"].to_numpy(),
                                   "v": p["holder_id"].to_numpy(), "serves": True, "conf": 1.0}))
    today = reference_date(interactions, policies, m, relationships)
    if trust is None:  # the trust levels' own reference date (interactions and policies)
        trust = trust_table(interactions, policies, settings,
                            reference_date(interactions, policies, m))
    if len(trust):
        pairs.append(pd.DataFrame({"u": trust["agent_id"].to_numpy(),
                                   "v": trust["client_id"].to_numpy(), "serves": False,
                                   "conf": 1.0}))
    # dated evidence of the tie besides the interactions: SERVES starts and policy starts
    dated = [pd.DataFrame({"u": serves["src_id"].to_numpy(), "v": serves["dst_id"].to_numpy(),
                           "when": (relationships.loc[serves.index, "start_date"]
                                    if "start_date" in relationships
                                    else pd.Series(None, index=serves.index)).to_numpy()})]
    if policies is not None and len(policies) and "servicing_agent_id" in policies:
        agent = policies["servicing_agent_id"].where(policies["servicing_agent_id"].notna(),
                                                     policies.get("writing_agent_id"))
        dated.append(pd.DataFrame({"u": agent.to_numpy(),
                                   "v": policies["holder_id"].to_numpy(),
                                   "when": policies["start_date"].to_numpy()}))
    dated_f = pd.concat(dated, ignore_index=True).dropna(subset=["u", "v"])
    dated_f["when"] = pd.to_datetime(dated_f["when"], errors="coerce")
    dated_f = dated_f.loc[dated_f["when"].notna() & (dated_f["when"] <= today)]
    latest = dated_f.groupby(["u", "v"], sort=False)["when"].max()
    ties = pd.concat(pairs, ignore_index=True)
    if not len(ties):
        return pd.DataFrame(columns=["u", "v", "strength", "type", "kind", "last_contact",
                                     "distrust"])
    ties = ties.groupby(["u", "v"], sort=False).agg(serves=("serves", "max"),
                                                    conf=("conf", "max"))
    if len(trust):
        t = trust.set_index(["agent_id", "client_id"]).rename_axis(["u", "v"])
        ties = ties.join(t[["level", "last_contact", "distrust", "interactions_recent"]],
                         how="left")
    else:
        ties["level"], ties["last_contact"], ties["distrust"] = None, None, False
        ties["interactions_recent"] = 0
    ties["level"] = ties["level"].fillna("none")
    ties["distrust"] = ties["distrust"].eq(True)
    s = ties["level"].map(m.trust_strength).astype(float)
    s = np.maximum(s, np.where(ties["serves"], m.base_strength.get("SERVES", 0.5), 0.0))
    s = s + m.interaction_bonus * ties["interactions_recent"].fillna(0).to_numpy(dtype=float)
    s = np.minimum(s, m.max_strength)
    last = pd.to_datetime(ties["last_contact"], errors="coerce")
    other = latest.reindex(ties.index)
    last = pd.Series(np.where(other.notna() & (last.isna() | (other > last)), other, last),
                     index=ties.index, dtype="datetime64[ns]")
    ties["last_contact"] = last.dt.strftime("%Y-%m-%d").astype(object).where(last.notna(),
                                                                             None)
    s = s * decay_factor(last, today, m)
    s = s * ties["conf"].clip(0, 1).to_numpy() ** m.confidence_power
    s = np.clip(s, m.min_strength, m.max_strength)
    out = ties.reset_index()
    return pd.DataFrame({
        "u": out["u"], "v": out["v"], "strength": np.asarray(s, dtype=float),
        "type": "SERVES", "kind": out["level"],
        "last_contact": out["last_contact"].where(out["last_contact"].notna(), None),
        "distrust": out["distrust"].to_numpy(),
    })


def edge_table(relationships: pd.DataFrame, interactions: pd.DataFrame, policies: pd.DataFrame,
               settings: Settings, trust: pd.DataFrame | None = None) -> pd.DataFrame:
    """The undirected, collapsed tie table of the analysis graph.

    Parallel ties between a pair (either direction, any type) collapse to the strongest;
    distrusted agent–client pairs and zero-strength ties are absent.

    Returns
    -------
    DataFrame
        ``u, v, strength, distance, type, kind, last_contact`` with ``u < v``.
    """
    rels = relationships.loc[relationships["type"] != "SERVES"]
    m = settings.metrics
    s = relationship_strength(rels, m)
    start = (rels["start_date"] if "start_date" in rels
             else pd.Series(None, index=rels.index, dtype=object))
    start = pd.to_datetime(start, errors="coerce")
    today = reference_date(interactions, policies, m, relationships)
    start = start.where(start <= today)  # evidence after an explicit as_of is not yet known
    decayed = s.to_numpy() * decay_factor(start, today, m)
    decayed = np.where(decayed > 0, np.clip(decayed, m.min_strength, m.max_strength), 0.0)
    ordinary = pd.DataFrame({
        "u": rels["src_id"].to_numpy(), "v": rels["dst_id"].to_numpy(), "strength": decayed,
        "type": rels["type"].to_numpy(),
        "kind": (rels["kind"] if "kind" in rels else pd.Series(None, index=rels.index)
                 ).to_numpy(),
        "last_contact": start.dt.strftime("%Y-%m-%d").astype(object).where(start.notna(), None)
        .to_numpy(),
    })
    ac = agent_client_ties(relationships, interactions, policies, settings, trust)
    distrusted = ac.loc[ac["distrust"].astype(bool), ["u", "v"]]
    ac = ac.loc[~ac["distrust"].astype(bool), ordinary.columns]
    edges = pd.DataFrame({
        col: np.concatenate([ordinary[col].to_numpy(dtype=object if col != "strength" else float),
                             ac[col].to_numpy(dtype=object if col != "strength" else float)])
        for col in ordinary.columns
    })
    edges = edges.loc[(edges["strength"] > 0) & (edges["u"] != edges["v"])]
    a, b = edges["u"].to_numpy(dtype=object), edges["v"].to_numpy(dtype=object)
    swap = a > b
    edges = edges.assign(u=np.where(swap, b, a), v=np.where(swap, a, b))
    if len(distrusted):  # distrust removes every tie of the pair, not only the SERVES one
        da, db = distrusted["u"].to_numpy(dtype=object), distrusted["v"].to_numpy(dtype=object)
        bad = pd.MultiIndex.from_arrays([np.where(da > db, db, da), np.where(da > db, da, db)])
        keep = ~pd.MultiIndex.from_arrays([edges["u"], edges["v"]]).isin(bad)
        edges = edges.loc[keep]
    edges = edges.sort_values("strength", ascending=False, kind="stable")
    edges = edges.drop_duplicates(["u", "v"], keep="first").reset_index(drop=True)
    edges["distance"] = -np.log(edges["strength"].to_numpy(dtype=float))
    edges["kind"] = edges["kind"].where(edges["kind"].notna(), None)
    return edges[EDGE_COLUMNS]
