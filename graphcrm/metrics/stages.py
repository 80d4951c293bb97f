"""Where each client stands in the operation cycle (Hunt → Farm → Harvest → Chain), and the
referral funnel per agent and team (DOMAIN.md, 'Client operation cycle and chain referrals').

Stage of a person, the first rule that holds, highest first:

* **chain** (连锁): has referred someone who converted (the REFERRED tie says ``converted``, or
  the referee holds or is insured by an in-force policy);
* **harvest** (收获): bought again or bought more: policies held that started on two or more
  different dates;
* **farm** (耕耘): a client (holds or is insured by an in-force policy) who bought once; the
  agent is delivering experiences;
* **hunt** (狩猎): a prospect being acquired (no in-force policy).

The evidence names the facts: the referees who bought, the purchase dates, the first policy and
how many experiences were recorded since, or the contacts so far.

The **referral funnel** (10:3:1 in the material) counts, per serving agent of the referrer:
names received (REFERRED ties from the agent's clients), contacted (the agent has any
interaction with the referee), met (a visit-type interaction whose outcome is not a failure,
``visits.visit_types`` and ``visits.outcomes`` other than ``success_outcomes``) and converted;
a later stage implies the earlier ones (a referee who bought was met even if no meeting was
recorded), so the funnel never widens.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from graphcrm.graph import AnalysisGraph

STAGES = ("hunt", "farm", "harvest", "chain")
FUNNEL_COLUMNS = ["received", "contacted", "met", "converted", "contact_rate", "meet_rate",
                  "convert_rate"]


def _converted_referrals(ag: AnalysisGraph) -> pd.DataFrame:
    """REFERRED ties ``src_id, dst_id`` with ``bought`` (converted, or the referee is a
    client); cached on the analysis graph."""
    hit = ag._cache.get("stages_referrals")
    if hit is not None:
        return hit
    rels = ag.relationships
    ref = rels.loc[rels["type"] == "REFERRED", ["src_id", "dst_id", "converted"]]
    conv = ref["converted"].astype("string").str.lower().isin(["1", "true", "1.0"]).to_numpy(
        dtype=bool)
    client = ag.clients["status"].reindex(ref["dst_id"]).to_numpy() == "client"
    out = ref[["src_id", "dst_id"]].assign(bought=conv | client).reset_index(drop=True)
    ag._cache["stages_referrals"] = out
    return out


def operation_stages(ag: AnalysisGraph, ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Operation stage of clients and prospects, with the evidence.

    Parameters
    ----------
    ag : AnalysisGraph
    ids : iterable of str, optional
        Only these people (non-clients are skipped); every client node when omitted.

    Returns
    -------
    DataFrame
        Indexed by client id: ``stage`` (hunt / farm / harvest / chain) and
        ``stage_evidence`` (text).
    """
    people = ag.clients.index if ids is None else pd.Index(list(ids))
    # the client index's own hash table (built once) instead of hashing every client id again
    known = (ag.clients.index.get_indexer(people) >= 0 if ag.clients.index.is_unique
             else people.isin(ag.clients.index))
    people = people[known].unique()
    whole = ag._cache.get("stages")
    if whole is not None:  # every client's stage, saved by the warm-up (stage_table)
        return whole.reindex(people)
    status = ag.clients["status"].reindex(people)
    pol = ag.policies.loc[ag.policies["holder_id"].isin(people),
                          ["holder_id", "start_date"]].dropna()
    dates = pol.assign(d=pol["start_date"].astype(str).str.slice(0, 10)).drop_duplicates(
        ["holder_id", "d"]).sort_values(["holder_id", "d"], kind="stable")
    by_holder: dict[str, list[str]] = {}
    for h, d in zip(dates["holder_id"].tolist(), dates["d"].tolist(), strict=True):
        by_holder.setdefault(h, []).append(d)
    ref = _converted_referrals(ag)
    ref = ref.loc[ref["src_id"].isin(people) & ref["bought"]].sort_values("dst_id")
    chain: dict[str, list[str]] = {}
    for src, dst in zip(ref["src_id"].tolist(), ref["dst_id"].tolist(), strict=True):
        chain.setdefault(src, []).append(dst)
    inter = ag.interactions
    mine = inter.loc[inter["client_id"].isin(people), ["client_id", "type", "date"]]
    contacts = mine.groupby("client_id").size().to_dict()
    exp_types = set(ag.settings.visits.attempt_types) | set(ag.settings.tiers.experiences)
    first_buy = pd.Series({h: d[0] for h, d in by_holder.items()}, dtype=object)
    since = mine.loc[mine["type"].isin(exp_types)]
    since = since.loc[since["date"].astype(str).str.slice(0, 10).to_numpy()
                      >= first_buy.reindex(since["client_id"]).fillna("9999").to_numpy()]
    experiences = since.groupby("client_id").size().to_dict()
    names = ag.nodes["name"]
    stages, evidence = [], []
    for p, st in zip(people, status.to_numpy(), strict=True):
        buys = by_holder.get(p, [])
        if p in chain:
            refs = chain[p]
            who = ", ".join(str(names.get(r, r)) for r in refs[:3]) + (
                " ..." if len(refs) > 3 else "")
            stages.append("chain")
            evidence.append(f"referred {len(refs)} who bought: {who}")
        elif len(buys) >= 2:
            stages.append("harvest")
            evidence.append("bought again: policies started " + ", ".join(buys[:4])
                            + (" ..." if len(buys) > 4 else ""))
        elif st == "client":
            if buys:
                evidence.append(f"bought once ({buys[0]}); {int(experiences.get(p, 0))} "
                                "experiences/contacts since")
            else:
                evidence.append("insured on a family member's policy; not yet a buyer")
            stages.append("farm")
        else:
            stages.append("hunt")
            evidence.append(f"prospect: {int(contacts.get(p, 0))} contacts so far, "
                            "no in-force policy")
    return pd.DataFrame({"stage": stages, "stage_evidence": evidence}, index=people)


def referral_funnel(ag: AnalysisGraph) -> dict[str, pd.DataFrame]:
    """The referral funnel per agent and per team.

    Returns
    -------
    dict
        ``{"agents": DataFrame, "teams": DataFrame}``: ``agent_id`` / ``team`` and
        ``FUNNEL_COLUMNS``; ``contact_rate`` = contacted / received, ``meet_rate`` = met /
        contacted, ``convert_rate`` = converted / met (None when the base is 0). Agents without
        any referral are left out.
    """
    v = ag.settings.visits
    ref = _converted_referrals(ag)
    agent = ag.serving.reindex(ref["src_id"]).to_numpy()
    f = pd.DataFrame({"agent_id": agent, "referee": ref["dst_id"].to_numpy(),
                      "bought": ref["bought"].to_numpy()})
    f = f.loc[f["agent_id"].notna()].drop_duplicates(["agent_id", "referee"])
    inter = ag.interactions
    pairs = pd.MultiIndex.from_arrays([inter["agent_id"], inter["client_id"]])
    fail = [o for o in v.outcomes if o not in v.success_outcomes]
    met_mask = inter["type"].isin(v.visit_types).to_numpy() & ~inter["outcome"].isin(
        fail).to_numpy()
    keys = pd.MultiIndex.from_arrays([f["agent_id"], f["referee"]])
    # a later stage implies the earlier ones (a referee who bought was met, recorded or not)
    f["converted"] = f["bought"].to_numpy(dtype=bool)
    f["met"] = keys.isin(pairs[met_mask]) | f["converted"].to_numpy()
    f["contacted"] = keys.isin(pairs) | f["met"].to_numpy()
    f["team"] = ag.agents["team"].reindex(f["agent_id"]).fillna("-").to_numpy()

    def agg(by: str) -> pd.DataFrame:
        if not len(f):
            return pd.DataFrame(columns=[by, *FUNNEL_COLUMNS])
        g = f.groupby(by, sort=True)
        out = pd.DataFrame({"received": g.size(), "contacted": g["contacted"].sum(),
                            "met": g["met"].sum(), "converted": g["converted"].sum()})
        for name, num, den in (("contact_rate", "contacted", "received"),
                               ("meet_rate", "met", "contacted"),
                               ("convert_rate", "converted", "met")):
            d = out[den].astype(float)
            out[name] = np.where(d > 0, out[num] / d.where(d > 0, 1.0), np.nan)
        out = out.reset_index()[[by, *FUNNEL_COLUMNS]]
        return out.astype(object).where(out.notna(), None)

    return {"agents": agg("agent_id"), "teams": agg("team")}


def stage_table(ag: AnalysisGraph) -> pd.DataFrame:
    """:func:`operation_stages` of every client, computed once and cached on the analysis graph
    (the warm-up saves it, so an operation map reads its people's stages instead of working
    them out on the first visit: about a second per agent at 10^5 clients).

    Returns
    -------
    DataFrame
        Indexed by client id: ``stage``, ``stage_evidence``.
    """
    whole = ag._cache.get("stages")
    if whole is None:
        whole = operation_stages(ag)
        ag._cache["stages"] = whole
    return whole
