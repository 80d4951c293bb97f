"""Trust level per agent-client tie (docs/metrics.md, trust).

Three levels, each set by observable evidence: perceived (keeps in touch: visits, calls,
likes), emotional (lets the agent into private life: private talk, family at a company event),
behavioural (acts on it: enquiries, purchases, and any policy the client bought from the agent:
the policy's writing agent, or its servicing agent when the writer is blank; a lapsed or
surrendered policy was still bought, ``settings.metrics.purchase_evidence_statuses``). The level
is the highest one the evidence supports. A complaint or a negative rating is a distrust signal:
the level is still reported, and the tie is flagged.

Trust belongs to the agent it concerns: every level and every distrust signal is per (agent,
client) tie. A client's own trust level (:func:`client_trust`, used by the tiers) is the one
with the agent who serves the client now; trust with a departed agent carries over to nobody,
so the clients of a departed agent (orphans) have no behavioural trust with the successor
until there is evidence (an interaction, or a policy the successor wrote).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from graphcrm.config import Settings
from graphcrm.model import InteractionType, PolicyStatus, TrustLevel

#: Levels in increasing order; the index is the rank.
LEVELS: tuple[str, ...] = tuple(level.value for level in TrustLevel)
RANK: dict[str, int] = {level: i for i, level in enumerate(LEVELS)}

TRUST_COLUMNS = ["agent_id", "client_id", "level", "evidence", "last_contact",
                 "interactions_recent", "distrust"]


def _iso(value: date | str | None) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def trust_levels(
    interactions: pd.DataFrame,
    policies: pd.DataFrame,
    settings: Settings | None = None,
    as_of: date | None = None,
) -> pd.DataFrame:
    """Trust level of every agent-client tie with the evidence that set it.

    Parameters
    ----------
    interactions : DataFrame
        The store's interactions (``agent_id, client_id, type, date, rating``; dates ISO text).
    policies : DataFrame
        The store's policies. A policy the client holds whose status is in
        ``purchase_evidence_statuses`` (in force, lapsed, surrendered) counts as behavioural
        evidence ("has bought") for its writing agent (the servicing agent when the writer is
        blank): a successor who only services it has no purchase evidence from it.
    settings : Settings, optional
        ``settings.metrics.trust_evidence`` maps interaction types to levels and
        ``settings.metrics.recent_days`` is the window of ``interactions_recent``.
    as_of : date, optional
        Evidence dated after ``as_of`` is ignored; the recent window ends here. Defaults to the
        latest date in the data (never the wall clock), so results are reproducible.

    Returns
    -------
    DataFrame
        One row per (agent_id, client_id) with ``level`` (none / perceived / emotional /
        behavioural), ``evidence`` (the latest event of each level reached, highest first,
        e.g. ``"purchase 2026-03-02; event_family 2025-12-01"``), ``last_contact`` (ISO date),
        ``interactions_recent`` (count within the recent window), ``distrust`` (bool: a
        complaint or a negative rating). Sorted by agent_id, client_id.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"agent_id": ["A1"], "client_id": ["C1"], "type": ["call"],
    ...                    "date": ["2025-01-02"], "rating": [None]})
    >>> pol = pd.DataFrame(columns=["holder_id", "servicing_agent_id", "writing_agent_id",
    ...                             "status", "start_date", "policy_id"])
    >>> trust_levels(ev, pol)["level"].tolist()
    ['perceived']
    """
    settings = settings or Settings()
    level_of = settings.metrics.trust_evidence
    cut = _iso(as_of)

    ev = interactions[["agent_id", "client_id", "type", "date", "rating"]].copy()
    ev["date"] = ev["date"].astype("string").str.slice(0, 10)
    if cut is not None:
        ev = ev[ev["date"].isna() | (ev["date"] <= cut)]
    ev["label"] = ev["type"].astype("string")
    rating = pd.to_numeric(ev["rating"], errors="coerce")
    ev["bad"] = (ev["type"] == InteractionType.COMPLAINT.value) | (rating < 0)

    pol = policies[policies["status"].isin(list(settings.metrics.purchase_evidence_statuses))]
    writer = (pol["writing_agent_id"] if "writing_agent_id" in pol
              else pd.Series(None, index=pol.index, dtype=object))
    agent = writer.where(writer.notna(), pol["servicing_agent_id"])
    in_force = (pol["status"] == PolicyStatus.IN_FORCE.value).to_numpy()
    pid = pol["policy_id"].astype("string")
    label = np.where(in_force, "holds " + pid,
                     "bought " + pid + " (" + pol["status"].astype("string") + ")")
    bought = pd.DataFrame({
        "agent_id": agent.to_numpy(), "client_id": pol["holder_id"].to_numpy(),
        "type": "purchase", "date": pol["start_date"].astype("string").str.slice(0, 10)
        .to_numpy(), "rating": np.nan,
        "label": label, "bad": False,
    })
    bought = bought[bought["agent_id"].notna()]
    if cut is not None:
        bought = bought[bought["date"].isna() | (bought["date"] <= cut)]
    allev = pd.concat([ev, bought], ignore_index=True) if len(bought) else ev
    if allev.empty:
        return pd.DataFrame(columns=TRUST_COLUMNS)
    allev["agent_id"] = allev["agent_id"].astype(str)
    allev["client_id"] = allev["client_id"].astype(str)
    ranks = {t: RANK.get(lv, 0) for t, lv in level_of.items()}
    allev["rank"] = allev["type"].map(ranks).fillna(0).astype("int8")
    end = cut or allev["date"].max()
    start = (pd.Timestamp(end) - pd.Timedelta(days=settings.metrics.recent_days)).date()
    is_interaction = allev.index < len(ev)
    allev["recent"] = is_interaction & (allev["date"] > start.isoformat()).to_numpy()

    keys = ["agent_id", "client_id"]
    # max over datetime64, not over ISO text: pandas has no compiled groupby max for strings
    # and falls back to one Python call per group (minutes at 10^6 clients)
    allev["when"] = pd.to_datetime(allev["date"], format="%Y-%m-%d", errors="coerce")
    g = allev.groupby(keys, sort=True)
    out = g.agg(rank=("rank", "max"), last_contact=("when", "max"),
                interactions_recent=("recent", "sum"), distrust=("bad", "any"))
    last = out["last_contact"]
    out["last_contact"] = last.dt.strftime("%Y-%m-%d").astype(object).where(last.notna(), None)

    # evidence: the latest event of each level reached, highest level first
    pos = allev[allev["rank"] > 0].sort_values([*keys, "rank", "date"],
                                               ascending=[True, True, False, False])
    pos = pos.drop_duplicates([*keys, "rank"])
    pos = pos.assign(text=pos["label"].astype(str) + " " + pos["date"].fillna("?").astype(str))
    neg = allev[allev["bad"]].sort_values([*keys, "date"], ascending=[True, True, False])
    neg = neg.drop_duplicates(keys)
    neg = neg.assign(text="distrust: " + neg["label"].astype(str) + " "
                     + neg["date"].fillna("?").astype(str))
    texts = pd.concat([pos[[*keys, "text"]], neg[[*keys, "text"]]], ignore_index=True)
    # "; ".join per tie without a Python call per group: at most one text per level plus one
    # distrust text, so spread them into columns and concatenate column-wise
    texts = texts.sort_values(keys, kind="stable")
    texts["k"] = texts.groupby(keys, sort=False).cumcount()
    wide = texts.set_index([*keys, "k"])["text"].unstack("k")
    evidence = wide[0].astype(object)
    for k in wide.columns[1:]:
        evidence = evidence + ("; " + wide[k].astype(object)).fillna("")
    out = out.join(evidence.rename("evidence"))
    out["evidence"] = out["evidence"].fillna("")
    out["level"] = np.asarray(LEVELS, dtype=object)[out["rank"].to_numpy()]
    out["interactions_recent"] = out["interactions_recent"].astype("int64")
    out["distrust"] = out["distrust"].astype(bool)
    return out.reset_index()[TRUST_COLUMNS]


def client_trust(trust: pd.DataFrame, serving: pd.Series | None = None,
                 departed: set[str] | None = None) -> pd.DataFrame:
    """Per client: the trust level with the agent who serves the client now, and whether that
    tie is distrusted.

    Parameters
    ----------
    trust : DataFrame
        Output of :func:`trust_levels`.
    serving : Series, optional
        The current serving agent by client id. A client with one uses only that agent's tie;
        a client without one uses the highest level (and any distrust) over the ties left.
        Without ``serving``, every client uses every tie left.
    departed : set of str, optional
        Departed agents: their ties concern nobody who can act and are left out (a complaint
        about a departed agent does not make the client distrust the successor; trust with
        the departed agent does not carry over either).

    Returns
    -------
    DataFrame
        Indexed by client_id with ``level`` and ``distrust``; clients with no tie left are
        absent (the callers read them as ``none``, not distrusted).
    """
    if departed:
        trust = trust.loc[~trust["agent_id"].isin(list(departed))]
    if serving is not None and len(trust):
        now = trust["client_id"].map(serving)
        trust = trust.loc[now.isna().to_numpy() | (now == trust["agent_id"]).to_numpy()]
    if trust.empty:
        return pd.DataFrame({"level": pd.Series(dtype=object),
                             "distrust": pd.Series(dtype=bool)},
                            index=pd.Index([], name="client_id"))
    rank = trust["level"].map(RANK).fillna(0).astype(int)
    g = pd.DataFrame({"client_id": trust["client_id"], "rank": rank,
                      "distrust": trust["distrust"].astype(bool)}).groupby("client_id")
    out = g.agg(rank=("rank", "max"), distrust=("distrust", "any"))
    out["level"] = np.asarray(LEVELS, dtype=object)[out["rank"].to_numpy()]
    return out[["level", "distrust"]]
