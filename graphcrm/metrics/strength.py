"""Relationship strength, connection distance and agent–client trust ties (DESIGN.md).

Every tie of the analysis graph gets a strength ``s`` in ``(0, 1]`` and a distance
``d = -ln s``; the warmth of a path is the product of its strengths, ``exp(-sum d)``.

* Ordinary ties (family, friends, colleagues, employers, business, referrals): the base
  strength of the type (or ``TYPE:kind``) from ``settings.metrics.base_strength``, times
  ``confidence ** confidence_power``.
* Agent–client ties (SERVES, interactions, a policy's servicing agent): the higher of the
  SERVES base and the trust level's strength (``trust_strength``), plus ``interaction_bonus``
  per interaction within ``recent_days`` before the reference date, capped at
  ``max_strength``, then halved every ``decay_half_life_days`` since the last contact.
* Distrust (a complaint or a negative rating between the agent and the client) removes the tie.

Strengths are finally clipped to ``[min_strength, max_strength]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphcrm.config import MetricSettings, Settings

#: interaction type -> trust level it evidences (DOMAIN.md, 'Trust'); complaint = distrust
TRUST_EVIDENCE: dict[str, str] = {
    "visit": "perceived", "call": "perceived", "message": "perceived",
    "social_like": "perceived", "social_comment": "perceived", "share_post": "perceived",
    "event": "perceived", "private_talk": "emotional", "private_comment": "emotional",
    "event_family": "emotional", "enquiry": "behavioural", "purchase": "behavioural",
}
LEVELS: tuple[str, ...] = ("none", "perceived", "emotional", "behavioural")

EDGE_COLUMNS = ["u", "v", "strength", "distance", "type", "kind", "last_contact"]


def reference_date(interactions: pd.DataFrame, settings: MetricSettings) -> pd.Timestamp:
    """The 'today' of recency and decay: ``settings.as_of`` or the latest interaction date."""
    if settings.as_of:
        return pd.Timestamp(settings.as_of)
    if len(interactions) and "date" in interactions:
        latest = pd.to_datetime(interactions["date"], errors="coerce").max()
        if pd.notna(latest):
            return pd.Timestamp(latest)
    return pd.Timestamp.today().normalize()


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


def local_trust_levels(interactions: pd.DataFrame, policies: pd.DataFrame,
                       settings: Settings) -> pd.DataFrame:
    """Trust level per agent–client pair from interactions (used when metrics.trust is absent).

    Returns
    -------
    DataFrame
        ``agent_id, client_id, level, evidence, last_contact, distrust``.
    """
    cols = ["agent_id", "client_id", "level", "evidence", "last_contact", "distrust"]
    if interactions is None or not len(interactions):
        return pd.DataFrame(columns=cols)
    it = interactions[["agent_id", "client_id", "type", "date", "rating"]].copy()
    rank = it["type"].map(TRUST_EVIDENCE).map({lv: i for i, lv in enumerate(LEVELS)})
    it["rank"] = rank.fillna(0).astype(int)
    rating = pd.to_numeric(it["rating"], errors="coerce")
    it["bad"] = (it["type"] == "complaint") | (rating < 0)
    it["ev"] = it["type"].where(it["rank"] > 0)
    g = it.groupby(["agent_id", "client_id"], sort=False)
    out = g.agg(rank=("rank", "max"), last_contact=("date", "max"), distrust=("bad", "any"))
    best = it.sort_values("rank").drop_duplicates(["agent_id", "client_id"], keep="last")
    out["evidence"] = best.set_index(["agent_id", "client_id"])["ev"].reindex(out.index)
    out["level"] = [LEVELS[r] for r in out["rank"]]
    return out.reset_index()[cols]


def trust_table(interactions: pd.DataFrame, policies: pd.DataFrame,
                settings: Settings) -> pd.DataFrame:
    """Trust levels from :func:`graphcrm.metrics.trust.trust_levels` when present, else local."""
    try:
        from graphcrm.metrics.trust import trust_levels  # type: ignore[import-not-found]
    except ImportError:
        return local_trust_levels(interactions, policies, settings)
    return trust_levels(interactions, policies, settings)


def agent_client_ties(relationships: pd.DataFrame, interactions: pd.DataFrame,
                      policies: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Agent–client ties with strength from trust, recency bonus and time decay.

    Parameters
    ----------
    relationships : DataFrame
        All relationships (SERVES rows are used).
    interactions, policies : DataFrame
        Interactions (``agent_id, client_id, type, date, rating``) and policies
        (``holder_id, servicing_agent_id``).
    settings : Settings

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
    trust = trust_table(interactions, policies, settings)
    if len(trust):
        pairs.append(pd.DataFrame({"u": trust["agent_id"].to_numpy(),
                                   "v": trust["client_id"].to_numpy(), "serves": False,
                                   "conf": 1.0}))
    ties = pd.concat(pairs, ignore_index=True)
    if not len(ties):
        return pd.DataFrame(columns=["u", "v", "strength", "type", "kind", "last_contact",
                                     "distrust"])
    ties = ties.groupby(["u", "v"], sort=False).agg(serves=("serves", "max"),
                                                    conf=("conf", "max"))
    if len(trust):
        t = trust.set_index(["agent_id", "client_id"]).rename_axis(["u", "v"])
        ties = ties.join(t[["level", "last_contact", "distrust"]], how="left")
    else:
        ties["level"], ties["last_contact"], ties["distrust"] = None, None, False
    ties["level"] = ties["level"].fillna("none")
    ties["distrust"] = ties["distrust"].eq(True)
    today = reference_date(interactions if interactions is not None else pd.DataFrame(), m)
    s = ties["level"].map(m.trust_strength).astype(float)
    s = np.maximum(s, np.where(ties["serves"], m.base_strength.get("SERVES", 0.5), 0.0))
    if interactions is not None and len(interactions):
        dates = pd.to_datetime(interactions["date"], errors="coerce")
        recent = interactions.loc[(dates > today - pd.Timedelta(days=m.recent_days))
                                  & (dates <= today), ["agent_id", "client_id"]]
        n_recent = recent.groupby(["agent_id", "client_id"]).size()
        n_recent.index = n_recent.index.set_names(["u", "v"])
        s = s + m.interaction_bonus * n_recent.reindex(ties.index).fillna(0).to_numpy()
    s = np.minimum(s, m.max_strength)
    last = pd.to_datetime(ties["last_contact"], errors="coerce")
    days = ((today - last).dt.days.clip(lower=0)).fillna(0).to_numpy(dtype=float)
    s = s * 0.5 ** (days / m.decay_half_life_days)
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
               settings: Settings) -> pd.DataFrame:
    """The undirected, collapsed tie table of the analysis graph.

    Parallel ties between a pair (either direction, any type) collapse to the strongest;
    distrusted agent–client pairs and zero-strength ties are absent.

    Returns
    -------
    DataFrame
        ``u, v, strength, distance, type, kind, last_contact`` with ``u < v``.
    """
    rels = relationships.loc[relationships["type"] != "SERVES"]
    s = relationship_strength(rels, settings.metrics)
    ordinary = pd.DataFrame({
        "u": rels["src_id"].to_numpy(), "v": rels["dst_id"].to_numpy(), "strength": s.to_numpy(),
        "type": rels["type"].to_numpy(),
        "kind": (rels["kind"] if "kind" in rels else pd.Series(None, index=rels.index)
                 ).to_numpy(),
        "last_contact": None,
    })
    ac = agent_client_ties(relationships, interactions, policies, settings)
    distrusted = ac.loc[ac["distrust"].astype(bool), ["u", "v"]]
    ac = ac.loc[~ac["distrust"].astype(bool), ordinary.columns]
    edges = pd.concat([ordinary, ac], ignore_index=True)
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
