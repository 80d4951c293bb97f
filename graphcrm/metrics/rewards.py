"""Chain-referral rewards: the customer value evaluation (CVE) ledger (DESIGN.md, DOMAIN.md).

Rewards are **service points and experiences, never cash**: paying a client back part of a
premium is prohibited in many markets, China included.

Rules, per period ``YYYY-MM``:

* **Own points**: every policy starting in the period (status not in
  ``rewards.excluded_statuses``) earns its holder ``annual_premium × own_points_per_premium``
  (level 0).
* **Chain points**: when a referred person's *first* policy starts in the period, the referral
  chain above earns a share of that policy's points: ``level_shares[k-1]`` at level k
  (10% / 5% / 2% for the referrer, the referrer's referrer, and the next).
* **Cap**: at most ``cap_per_client_per_period`` points per earner per period; lines are
  applied in order (own first, then by level, start date, policy id) and the line that crosses
  the cap is cut, later ones pay 0, each marked ``capped``.
* **Rejected referrals** (listed in ``exclusions`` with the reason): self-referral; shared
  identity (same phone or id_number); undated; the referee was already a client (held a policy
  before the referral date and bought again after it); the referral is dated after the
  referee's policy; a referral on a cycle; a later referral of a referee who already has an
  earlier valid one (one referee, one referrer: the earliest valid one, ties by referrer id).

The ledger is a pure function of the data and the period: ``line_id`` =
``"{policy_id}:{level}"`` and running a period twice gives identical frames, so a policy never
pays twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graphcrm.config import Settings
from graphcrm.model import RelType

LINE_COLUMNS = ["line_id", "period", "earner_id", "source_policy_id", "referee_id", "level",
                "base_points", "share", "points", "capped", "reason"]
TOTAL_COLUMNS = ["earner_id", "period", "own_points", "referral_points", "points", "lines",
                 "capped_lines"]
EXCLUSION_COLUMNS = ["referrer_id", "referee_id", "referral_date", "code", "reason"]

NOT_CASH = ("Rewards are service points and experiences, never cash: rebating premium to a "
            "client is prohibited (DOMAIN.md, compliance).")

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Ledger:
    """The reward ledger of one period.

    Attributes
    ----------
    lines : DataFrame
        One row per (policy, level): ``line_id, period, earner_id, source_policy_id,
        referee_id, level, base_points, share, points, capped, reason``.
    totals : DataFrame
        Per earner: ``earner_id, period, own_points, referral_points, points, lines,
        capped_lines``.
    exclusions : DataFrame
        Every rejected referral: ``referrer_id, referee_id, referral_date, code, reason``.
    """

    lines: pd.DataFrame
    totals: pd.DataFrame
    exclusions: pd.DataFrame

    def to_csv(self, path: str | Path) -> None:
        """Write the lines as CSV in UTF-8 with a BOM (opens correctly in Excel)."""
        self.lines.to_csv(path, index=False, encoding="utf-8-sig")


def check_period(period: str) -> str:
    """Return ``period`` if it is ``YYYY-MM``; raise ValueError otherwise."""
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise ValueError(f"period '{period}' is not YYYY-MM (e.g. 2026-03)")
    return period


def _first_policies(policies: pd.DataFrame) -> pd.DataFrame:
    """Each holder's first policy (earliest start, ties by policy id) and last start date."""
    p = policies[["policy_id", "holder_id", "start_date"]].astype({"policy_id": str,
                                                                   "holder_id": str})
    p = p.assign(start=p["start_date"].astype("string").str.slice(0, 10))
    p = p.sort_values(["holder_id", "start", "policy_id"], na_position="last")
    first = p.drop_duplicates("holder_id").set_index("holder_id")
    last = p.groupby("holder_id")["start"].max()
    return pd.DataFrame({"first_policy": first["policy_id"], "first_start": first["start"],
                         "last_start": last})


def referral_decisions(clients: pd.DataFrame, policies: pd.DataFrame,
                       relationships: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split REFERRED edges into the accepted ones (one per referee) and the rejected ones.

    Parameters
    ----------
    clients, policies, relationships : DataFrame
        The store's frames (``clients`` needs ``client_id, phone, id_number``).

    Returns
    -------
    (accepted, exclusions) : tuple of DataFrame
        ``accepted``: ``referrer_id, referee_id, referral_date`` (at most one row per referee,
        acyclic). ``exclusions``: ``referrer_id, referee_id, referral_date, code, reason``
        with code in self_referral, shared_identity, undated, already_client,
        referral_after_policy, cycle, not_earliest.
    """
    rel = relationships[relationships["type"] == RelType.REFERRED.value]
    e = pd.DataFrame({
        "referrer_id": rel["src_id"].astype(str).to_numpy(),
        "referee_id": rel["dst_id"].astype(str).to_numpy(),
        "referral_date": rel["start_date"].astype("string").str.slice(0, 10).to_numpy(),
    })
    e = e.sort_values(["referee_id", "referral_date", "referrer_id"], na_position="last",
                      ignore_index=True)
    code = pd.Series(pd.NA, index=e.index, dtype="string")
    why = pd.Series(pd.NA, index=e.index, dtype="string")

    def reject(mask: pd.Series | np.ndarray, c: str, text: pd.Series | str) -> None:
        m = pd.Series(np.asarray(mask, dtype=bool), index=e.index) & code.isna()
        code[m] = c
        why[m] = text[m] if isinstance(text, pd.Series) else text

    reject(e["referrer_id"] == e["referee_id"], "self_referral", "self-referral: "
           + e["referrer_id"] + " referred themself")

    cl = clients.set_index(clients["client_id"].astype(str))
    for col in ("phone", "id_number"):
        vals = cl[col].astype("string").str.strip().replace("", pd.NA)
        a, b = e["referrer_id"].map(vals), e["referee_id"].map(vals)
        same = (a.notna() & b.notna() & (a == b)).fillna(False)
        reject(same, "shared_identity",
               "shared identity: referrer " + e["referrer_id"] + " and referee "
               + e["referee_id"] + f" have the same {col} " + a.fillna(""))
    reject(e["referral_date"].isna(), "undated",
           "referral has no date: cannot check that it came before the policy")

    fp = _first_policies(policies)
    first_start = e["referee_id"].map(fp["first_start"])
    last_start = e["referee_id"].map(fp["last_start"])
    first_pid = e["referee_id"].map(fp["first_policy"]).fillna("")
    before = (first_start.notna() & (first_start < e["referral_date"])).fillna(False)
    after = (last_start.notna() & (last_start >= e["referral_date"])).fillna(False)
    reject(before & after, "already_client",
           "already a client: " + e["referee_id"] + " held policy " + first_pid + " from "
           + first_start.fillna("") + ", before the referral of " + e["referral_date"].fillna(""))
    reject(before & ~after, "referral_after_policy",
           "referral dated " + e["referral_date"].fillna("") + " is after the referee's policy "
           + first_pid + " of " + first_start.fillna(""))

    # cycles: edges inside a strongly connected component of the remaining referral graph
    ok = code.isna().to_numpy()
    if ok.any():
        nodes, inv = np.unique(np.concatenate([e.loc[ok, "referrer_id"].to_numpy(),
                                               e.loc[ok, "referee_id"].to_numpy()]),
                               return_inverse=True)
        k = int(ok.sum())
        src, dst = inv[:k], inv[k:]
        graph = coo_matrix((np.ones(k), (src, dst)), shape=(len(nodes), len(nodes))).tocsr()
        _, comp = connected_components(graph, directed=True, connection="strong")
        size = np.bincount(comp)
        on_cycle = (comp[src] == comp[dst]) & (size[comp[src]] > 1)
        cyc = np.zeros(len(e), dtype=bool)
        cyc[np.flatnonzero(ok)[on_cycle]] = True
        members = pd.Series(nodes[np.argsort(comp, kind="stable")]).groupby(
            np.sort(comp, kind="stable")).agg(lambda s: ", ".join(sorted(s)))
        cyc_text = pd.Series("", index=e.index, dtype="string")
        if cyc.any():
            cyc_text[cyc] = ("referral cycle: " + e.loc[cyc, "referrer_id"] + " → "
                             + e.loc[cyc, "referee_id"] + " lies on a cycle among "
                             + pd.Series(members.reindex(comp[src[on_cycle]]).to_numpy(),
                                         index=e.index[cyc]))
        reject(cyc, "cycle", cyc_text)

    # one referee, one referrer: the earliest valid referral (already sorted)
    valid = code.isna()
    firsts = e[valid].drop_duplicates("referee_id")
    win_ref = firsts.set_index("referee_id")["referrer_id"]
    win_date = firsts.set_index("referee_id")["referral_date"]
    later = valid & ~e.index.isin(firsts.index)
    reject(later, "not_earliest",
           "one referee, one referrer: " + e["referee_id"] + " was referred earlier by "
           + e["referee_id"].map(win_ref).fillna("") + " on "
           + e["referee_id"].map(win_date).fillna(""))

    accepted = e[code.isna()].reset_index(drop=True)
    excl = e[code.notna()].assign(code=code[code.notna()], reason=why[code.notna()])
    excl = excl.sort_values(["referee_id", "referrer_id"], ignore_index=True)
    return accepted[["referrer_id", "referee_id", "referral_date"]], \
        excl[EXCLUSION_COLUMNS].astype(object)


def reward_ledger(clients: pd.DataFrame, policies: pd.DataFrame, relationships: pd.DataFrame,
                  period: str, settings: Settings | None = None) -> Ledger:
    """The chain-referral reward ledger of one period.

    Parameters
    ----------
    clients, policies, relationships : DataFrame
        The store's frames.
    period : str
        ``YYYY-MM``: policies whose start_date falls in this month earn points.
    settings : Settings, optional
        ``settings.rewards``: ``own_points_per_premium``, ``level_shares``,
        ``cap_per_client_per_period``, ``excluded_statuses``.

    Returns
    -------
    Ledger
        ``lines``, ``totals`` and ``exclusions`` (see :class:`Ledger` and the module notes).

    Raises
    ------
    ValueError
        If ``period`` is not ``YYYY-MM``.

    Examples
    --------
    >>> import pandas as pd
    >>> cl = pd.DataFrame({"client_id": ["a"], "phone": [None], "id_number": [None]})
    >>> pol = pd.DataFrame({"policy_id": ["P1"], "holder_id": ["a"], "category": ["life"],
    ...                     "annual_premium": [1000.0], "start_date": ["2026-03-02"],
    ...                     "status": ["in_force"]})
    >>> rel = pd.DataFrame(columns=["src_id", "dst_id", "type", "start_date"])
    >>> reward_ledger(cl, pol, rel, "2026-03").lines["points"].tolist()
    [10.0]
    """
    check_period(period)
    r = (settings or Settings()).rewards
    ppp = r.own_points_per_premium
    accepted, exclusions = referral_decisions(clients, policies, relationships)

    pol = policies.assign(
        policy_id=policies["policy_id"].astype(str), holder_id=policies["holder_id"].astype(str),
        start=policies["start_date"].astype("string").str.slice(0, 10),
        premium=pd.to_numeric(policies["annual_premium"], errors="coerce").fillna(0.0),
    )
    pol = pol[(pol["start"].str.slice(0, 7) == period)
              & ~pol["status"].isin(r.excluded_statuses)]
    pol = pol.assign(base=(pol["premium"] * ppp).round(2))

    own = pd.DataFrame({
        "earner_id": pol["holder_id"], "source_policy_id": pol["policy_id"],
        "referee_id": pol["holder_id"], "level": 0, "base_points": pol["base"], "share": 1.0,
        "start": pol["start"],
        "reason": ("own first-year premium " + pol["premium"].map("{:,.2f}".format)
                   + " of policy " + pol["policy_id"] + " (" + pol["category"].astype(str)
                   + ", started " + pol["start"] + f") × {ppp:g} points per unit"),
    })

    # referees whose first policy (ever) is one of this period's policies
    fp = _first_policies(policies)
    firsts = pol[pol["policy_id"].isin(set(fp["first_policy"]))]
    parent = accepted.set_index("referee_id")["referrer_id"]
    chain_frames = []
    cur = firsts["holder_id"]
    path = cur.copy()
    for level, share in enumerate(r.level_shares, start=1):
        cur = cur.map(parent)
        has = cur.notna()
        if not has.any():
            break
        path = cur.where(has) + " → " + path
        f = firsts[has.to_numpy()]
        chain_frames.append(pd.DataFrame({
            "earner_id": cur[has].to_numpy(), "source_policy_id": f["policy_id"].to_numpy(),
            "referee_id": f["holder_id"].to_numpy(), "level": level,
            "base_points": f["base"].to_numpy(), "share": float(share),
            "start": f["start"].to_numpy(),
            "reason": (f"level-{level} referral: chain " + path[has]
                       + " ; first policy " + f["policy_id"] + " started " + f["start"]
                       + f"; {share:.0%} of " + f["base"].map("{:,.2f}".format)
                       + " points").to_numpy(),
        }))
        cur, path = cur[has], path[has]
        firsts = f
    lines = pd.concat([own, *chain_frames], ignore_index=True)
    lines["level"] = lines["level"].astype("int64")
    lines = lines.sort_values(["earner_id", "level", "start", "source_policy_id"],
                              ignore_index=True)
    uncapped = (lines["base_points"] * lines["share"]).round(2)
    cap = float(r.cap_per_client_per_period)
    before = uncapped.groupby(lines["earner_id"]).cumsum() - uncapped
    points = np.minimum(uncapped, np.maximum(cap - before, 0.0)).round(2)
    lines["points"] = points
    lines["capped"] = points < uncapped
    lines.loc[lines["capped"], "reason"] = (
        lines.loc[lines["capped"], "reason"] + f"; capped at {cap:,.2f} points per client per "
        "period (uncapped " + uncapped[lines["capped"]].map("{:,.2f}".format) + ")")
    lines["line_id"] = lines["source_policy_id"] + ":" + lines["level"].astype(str)
    lines["period"] = period
    lines = lines.sort_values(["line_id"], ignore_index=True)[LINE_COLUMNS]

    g = lines.groupby("earner_id", sort=True)
    totals = pd.DataFrame({
        "own_points": lines["points"].where(lines["level"] == 0, 0.0).groupby(
            lines["earner_id"]).sum(),
        "referral_points": lines["points"].where(lines["level"] > 0, 0.0).groupby(
            lines["earner_id"]).sum(),
        "points": g["points"].sum(), "lines": g.size(), "capped_lines": g["capped"].sum(),
    }).round(2)
    totals = totals.rename_axis("earner_id").reset_index()
    totals["period"] = period
    totals["lines"] = totals["lines"].astype("int64")
    totals["capped_lines"] = totals["capped_lines"].astype("int64")
    totals = totals.sort_values(["points", "earner_id"], ascending=[False, True],
                                ignore_index=True)[TOTAL_COLUMNS]
    return Ledger(lines=lines, totals=totals, exclusions=exclusions)
