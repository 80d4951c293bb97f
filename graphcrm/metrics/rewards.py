"""Chain-referral rewards: the customer value evaluation (CVE) ledger (rules: docs/metrics.md).

Rewards are **service points and experiences, never cash**: paying a client back part of a
premium is prohibited in many markets, China included.

Rules, per period ``YYYY-MM``:

* **Own points** (level 0): every policy whose ``start_date`` falls in the period earns its
  holder ``round(annual_premium × own_points_per_premium, 2)`` points: its first-year
  premium. A policy starts in exactly one month, so it belongs to exactly one period.
* **Policy status**: an in-force or lapsed policy was bought and earns (a later lapse does not
  undo the first-year premium); a policy whose status is in ``rewards.excluded_statuses``
  (``surrendered``, which is also how the templates record a policy cancelled in its cooling-
  off period, 退保) earns nothing and does not count as a purchase for the chain: it appears as
  a 0-point ``not_eligible`` line saying so. A client marked ``status=client`` in the file but
  holding no policy counts as a prospect: nothing to earn, and a referral to them pays when
  their first eligible policy starts.
* **Chain points** (levels 1..n): when a referred person's *first eligible* policy (earliest
  start, ties by policy id, excluded statuses left out) starts in the period, the accepted
  referral chain above earns
  ``round(base × level_shares[k-1], 2)`` at level k (10% / 5% / 2%: the referrer, the
  referrer's referrer, the next). The chain is taken as it stood on the policy's start date:
  it stops below a referral dated after it.
* **Cap**: at most ``cap_per_client_per_period`` points per earner per period; an earner's
  lines are applied in order (own first, then by level, start date, policy id): the line that
  crosses the cap is cut, later ones pay 0, each marked ``capped``.
* **Rejected referrals** (``Ledger.exclusions``, each with its reason), checked in this order:
  ``self_referral`` (the same id on both ends, after resolving merged ids through the store's
  aliases); ``shared_identity`` (same normalised phone, same ID number, or linked through a
  chain of them: :func:`identity_groups`); ``undated``; ``already_client`` (the referee held a
  policy that started before the referral date and bought again on or after it);
  ``referral_after_policy`` (every policy of the referee started before the referral date);
  ``cycle`` (the referral lies on a cycle of the remaining referral graph); ``not_earliest``
  (one referee, one referrer: the earliest valid referral wins, ties by referrer id).
* **Same person up the chain**: a chain earner who is the same person as the referee (shared
  identity across several levels) gets a 0-point line with status ``same_person``.
* **Settled once** (``settled``: the lines stored by ``graphcrm rewards --settle``): a chain
  line whose (earner, referee, level) — an own line whose (earner, policy) — was settled
  before, in any period, pays 0 with status ``already_settled``, whatever was corrected or
  back-filled since (a policy back-filled into an earlier period, a start date moved to the
  next month). When the points it is entitled to now differ from those settled (a corrected
  premium, a back-filled first policy), an ``adjustment`` line (``line_id`` + ``:adj``) pays
  the difference (negative when it went down), never a second payment.
* **Paid elsewhere**: ``line_id = "{policy_id}:{level}"``; lines already paid in *another*
  period of a ledger CSV given as ``paid`` are kept with 0 points and status ``already_paid``.
* **Every 0-point line says why** in its ``reason`` (``capped``, ``already_settled``,
  ``already_paid``, ``same_person``, ``not_eligible``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graphcrm.config import Settings
from graphcrm.graph import AnalysisGraph
from graphcrm.model import RelType
from graphcrm.privacy import neutralise_frame, unneutralise

LINE_COLUMNS = ["line_id", "period", "earner_id", "source_policy_id", "referee_id", "level",
                "base_points", "share", "points", "capped", "status", "reason"]
TOTAL_COLUMNS = ["earner_id", "period", "own_points", "referral_points", "points", "lines",
                 "capped_lines"]
EXCLUSION_COLUMNS = ["referrer_id", "referee_id", "referral_date", "code", "reason"]
EXCLUSION_CODES = ("self_referral", "shared_identity", "undated", "already_client",
                   "referral_after_policy", "cycle", "not_earliest")
#: line statuses: paid in full, cut by the cap, paid in an earlier ledger CSV, settled in the
#: store before, earner = referee, a policy that earns nothing, a correction of a settled line
LINE_STATUSES = ("paid", "capped", "already_paid", "already_settled", "same_person",
                 "not_eligible", "adjustment")
#: columns of the settled lines kept in the store (journal ``reward_settled``)
SETTLED_COLUMNS = ["line_id", "period", "earner_id", "source_policy_id", "referee_id", "level",
                   "points", "entitled"]

NOT_CASH = ("Rewards are service points and experiences, never cash: rebating premium to a "
            "client is prohibited (compliance rules: docs/metrics.md).")

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_FMT = "{:,.2f}".format


@dataclass(frozen=True)
class Ledger:
    """The reward ledger of one period.

    Attributes
    ----------
    lines : DataFrame
        One row per (policy, level): ``line_id, period, earner_id, source_policy_id,
        referee_id, level, base_points, share, points, capped, status, reason``; sorted by
        ``line_id``.
    totals : DataFrame
        Per earner: ``earner_id, period, own_points, referral_points, points, lines,
        capped_lines``; most points first.
    exclusions : DataFrame
        Every rejected referral: ``referrer_id, referee_id, referral_date, code, reason``.
    """

    lines: pd.DataFrame
    totals: pd.DataFrame
    exclusions: pd.DataFrame
    #: points each line is entitled to before the cap and before settlement (by line_id)
    entitled: pd.Series | None = None

    def settlement(self) -> list[dict[str, object]]:
        """The lines to store when this period is settled: every line that paid, was capped or
        adjusts a settled one (``SETTLED_COLUMNS``); nothing when all were settled before."""
        keep = self.lines["status"].isin(["paid", "capped", "adjustment"])
        out = self.lines.loc[keep, [c for c in SETTLED_COLUMNS if c != "entitled"]].copy()
        ent = self.entitled if self.entitled is not None else pd.Series(dtype=float)
        out["entitled"] = out["line_id"].map(ent).fillna(out["points"]).astype(float)
        out["level"] = out["level"].astype(int)
        return out.to_dict(orient="records")

    def to_csv(self, path: str | Path) -> None:
        """Write the lines as CSV in UTF-8 with a BOM (opens correctly in Excel); text cells that
        a spreadsheet would run as a formula get a leading apostrophe (:mod:`graphcrm.privacy`;
        :func:`read_paid` removes it again)."""
        neutralise_frame(self.lines).to_csv(path, index=False, encoding="utf-8-sig")


def check_period(period: str) -> str:
    """Return ``period`` if it is ``YYYY-MM``; raise ValueError otherwise.

    Examples
    --------
    >>> check_period("2026-03")
    '2026-03'
    """
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise ValueError(f"period '{period}' is not YYYY-MM with a month 01-12 (e.g. 2026-03)")
    return period


def _phone_key(values: pd.Series) -> pd.Series:
    """Digits only, the last 11 (``+86 138-0013-8000`` and ``13800138000`` are one phone)."""
    digits = values.astype("string").str.replace(r"\D", "", regex=True).str.slice(-11)
    return digits.mask(digits.str.len().fillna(0) < 7)


def _id_key(values: pd.Series) -> pd.Series:
    v = values.astype("string").str.strip().str.upper()
    return v.mask(v.str.len().fillna(0) == 0)


def identity_groups(clients: pd.DataFrame, aliases: Mapping[str, str] | None = None
                    ) -> pd.Series:
    """Group ids that are one person: same phone, same ID number, or merged aliases.

    Parameters
    ----------
    clients : DataFrame
        ``client_id, phone, id_number``. Phones compare on their last 11 digits, ID numbers
        case-insensitively; chains count (A shares a phone with B, B an ID number with C).
    aliases : mapping, optional
        The store's merged ids (``alias_id -> client_id``, :meth:`GraphStore.aliases`).

    Returns
    -------
    Series
        Indexed by every client id and alias id: the group's smallest id.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"client_id": ["a", "b", "c"], "phone": ["13800000001", None,
    ...                   "+86 138 0000 0001"], "id_number": [None, None, None]})
    >>> identity_groups(c).to_dict()
    {'a': 'a', 'b': 'b', 'c': 'a'}
    """
    ids = clients["client_id"].astype(str).to_numpy()
    al = dict(aliases or {})
    names = np.unique(np.concatenate([ids, np.asarray(list(al), dtype=object).astype(str),
                                      np.asarray(list(al.values()), dtype=object).astype(str)]))
    index = pd.Index(names)
    keys = []
    for col, norm in (("phone", _phone_key), ("id_number", _id_key)):
        if col in clients:
            v = norm(clients[col])
            ok = v.notna().to_numpy()
            keys.append(pd.DataFrame({"node": index.get_indexer(ids[ok]),
                                      "key": col + ":" + v[ok].astype(str).to_numpy()}))
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    if keys:
        kv = pd.concat(keys, ignore_index=True)
        first = kv.groupby("key")["node"].transform("min").to_numpy()
        src.append(kv["node"].to_numpy())
        dst.append(first)
    if al:
        src.append(index.get_indexer(list(al)))
        dst.append(index.get_indexer(list(al.values())))
    n = len(names)
    if src:
        s, d = np.concatenate(src), np.concatenate(dst)
        graph = coo_matrix((np.ones(len(s)), (s, d)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
    else:
        comp = np.arange(n)
    # representative = smallest id of the component (names are sorted, so the first one)
    rep_pos = pd.Series(np.arange(n)).groupby(comp).transform("min").to_numpy()
    return pd.Series(names[rep_pos], index=index)


def _first_policies(policies: pd.DataFrame, excluded: Iterable[str] = ()) -> pd.DataFrame:
    """Each holder's first policy (earliest start, ties by policy id) and latest start date,
    policies whose status is in ``excluded`` left out (they were never bought)."""
    if len(policies) and "status" in policies:
        policies = policies[~policies["status"].astype(str).isin(list(excluded))]
    p = pd.DataFrame({
        "policy_id": policies["policy_id"].astype(str).to_numpy(),
        "holder_id": policies["holder_id"].astype(str).to_numpy(),
        "start": policies["start_date"].astype(str).str.slice(0, 10).to_numpy(),
    })
    p = p[p["start"].str.match(r"^\d{4}-\d\d-\d\d$")]  # undated policies: no start, no claim
    p = p.sort_values(["holder_id", "start", "policy_id"])
    first = p.drop_duplicates("holder_id").set_index("holder_id")
    last = p.drop_duplicates("holder_id", keep="last").set_index("holder_id")["start"]
    return pd.DataFrame({"first_policy": first["policy_id"], "first_start": first["start"],
                         "last_start": last})


def referral_decisions(clients: pd.DataFrame, policies: pd.DataFrame,
                       relationships: pd.DataFrame, aliases: Mapping[str, str] | None = None,
                       *, _first: pd.DataFrame | None = None, _groups: pd.Series | None = None,
                       excluded_statuses: Iterable[str] = ("surrendered",)
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split REFERRED edges into the accepted ones (one per referee) and the rejected ones.

    Parameters
    ----------
    clients, policies, relationships : DataFrame
        The store's frames (``clients`` needs ``client_id, phone, id_number``).
    aliases : mapping, optional
        Merged id -> kept client id (the store's identity merges). Referral ends that name a
        merged id are resolved to the kept client first.

    Returns
    -------
    (accepted, exclusions) : tuple of DataFrame
        ``accepted``: ``referrer_id, referee_id, referral_date`` (at most one row per referee,
        acyclic). ``exclusions``: ``referrer_id, referee_id, referral_date, code, reason``
        with ``code`` in :data:`EXCLUSION_CODES` (the first rule that applies, in that order),
        sorted by referee, referrer.
    """
    al = {str(k): str(v) for k, v in (aliases or {}).items()}
    rel = relationships[relationships["type"] == RelType.REFERRED.value]
    raw_src = rel["src_id"].astype(str).to_numpy()
    raw_dst = rel["dst_id"].astype(str).to_numpy()
    e = pd.DataFrame({
        "referrer_id": pd.Series(raw_src).replace(al).to_numpy() if al else raw_src,
        "referee_id": pd.Series(raw_dst).replace(al).to_numpy() if al else raw_dst,
        "referral_date": rel["start_date"].astype("string").str.slice(0, 10).to_numpy(),
        "raw_src": raw_src, "raw_dst": raw_dst,
    })
    e = e.sort_values(["referee_id", "referral_date", "referrer_id"], na_position="last",
                      ignore_index=True)
    code = pd.Series(pd.NA, index=e.index, dtype="string")
    why = pd.Series(pd.NA, index=e.index, dtype="string")

    def reject(mask: pd.Series | np.ndarray, c: str, text: pd.Series | str) -> None:
        m = pd.Series(np.asarray(mask, dtype=bool), index=e.index) & code.isna()
        code[m] = c
        why[m] = text[m] if isinstance(text, pd.Series) else text

    # self-referral, naming the merged ids involved
    merged_into: dict[str, list[str]] = {}
    for a, k in sorted(al.items()):
        merged_into.setdefault(k, []).append(a)
    note = e["referee_id"].map(lambda k: "" if k not in merged_into else
                               f" (merged identity: {', '.join(merged_into[k])} → {k})"
                               ) if al else ""
    raw_pair = np.where((e["raw_src"] != e["referrer_id"]) | (e["raw_dst"] != e["referee_id"]),
                        " (recorded as " + e["raw_src"] + " → " + e["raw_dst"] + ")", "")
    reject(e["referrer_id"] == e["referee_id"], "self_referral",
           "self-referral: " + e["referrer_id"] + " referred themself" + raw_pair + note)

    cl = clients.assign(client_id=clients["client_id"].astype(str)).drop_duplicates("client_id")
    cl = cl.set_index("client_id")
    for col, norm in (("phone", _phone_key), ("id_number", _id_key)):
        if col not in cl:
            continue
        vals = norm(cl[col])
        a, b = e["referrer_id"].map(vals), e["referee_id"].map(vals)
        same = (a.notna() & b.notna() & (a == b)).fillna(False)
        reject(same, "shared_identity",
               "shared identity: referrer " + e["referrer_id"] + " and referee "
               + e["referee_id"] + f" have the same {col} " + a.fillna(""))
    groups = identity_groups(clients, al) if _groups is None else _groups
    ga, gb = e["referrer_id"].map(groups), e["referee_id"].map(groups)
    reject((ga.notna() & (ga == gb)).to_numpy(), "shared_identity",
           "shared identity: referrer " + e["referrer_id"] + " and referee " + e["referee_id"]
           + " are one person through a chain of shared phones / ID numbers (group "
           + ga.fillna("") + ")")
    reject(e["referral_date"].isna(), "undated",
           "referral has no date: cannot check that it came before the policy")

    fp = _first_policies(policies, excluded_statuses) if _first is None else _first
    first_start = e["referee_id"].map(fp["first_start"]).astype("string")
    last_start = e["referee_id"].map(fp["last_start"]).astype("string")
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
        if on_cycle.any():
            cyc = np.zeros(len(e), dtype=bool)
            cyc[np.flatnonzero(ok)[on_cycle]] = True
            cyc_comps = np.unique(comp[src[on_cycle]])
            members = {int(c): ", ".join(sorted(nodes[comp == c])) for c in cyc_comps}
            cyc_text = pd.Series("", index=e.index, dtype="string")
            cyc_text[cyc] = ("referral cycle: " + e.loc[cyc, "referrer_id"] + " → "
                             + e.loc[cyc, "referee_id"] + " lies on a cycle among "
                             + pd.Series([members[int(c)] for c in comp[src[on_cycle]]],
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
    return (accepted[["referrer_id", "referee_id", "referral_date"]],
            excl[EXCLUSION_COLUMNS].astype(object))


def read_paid(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Read earlier ledgers (CSV files written by ``--out``): the lines already paid.

    Parameters
    ----------
    paths : iterable of path
        Ledger CSVs (UTF-8, with or without BOM) with at least ``line_id, period, points``.

    Returns
    -------
    DataFrame
        ``line_id, period, points`` of every line with points > 0.

    Raises
    ------
    ValueError
        A file that is missing, unreadable or lacks one of the columns (the message names it).
    """
    frames = []
    for path in paths:
        p = Path(path)
        try:
            f = pd.read_csv(p, dtype={"line_id": str, "period": str}, encoding="utf-8-sig")
        except FileNotFoundError as exc:
            raise ValueError(f"paid ledger not found: {p}") from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ValueError(f"{p}: not a ledger CSV ({exc})") from exc
        f = f.map(unneutralise)
        f.columns = [unneutralise(c) for c in f.columns]
        missing = [c for c in ("line_id", "period", "points") if c not in f.columns]
        if missing:
            raise ValueError(f"{p}: not a ledger CSV, column(s) {', '.join(missing)} missing")
        f = f.assign(points=pd.to_numeric(f["points"], errors="coerce").fillna(0.0))
        frames.append(f.loc[f["points"] > 0, ["line_id", "period", "points"]])
    if not frames:
        return pd.DataFrame(columns=["line_id", "period", "points"])
    return pd.concat(frames, ignore_index=True)


def reward_ledger(clients: pd.DataFrame, policies: pd.DataFrame, relationships: pd.DataFrame,
                  period: str, settings: Settings | None = None,
                  aliases: Mapping[str, str] | None = None,
                  paid: pd.DataFrame | None = None,
                  settled: pd.DataFrame | None = None) -> Ledger:
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
    aliases : mapping, optional
        The store's merged ids (alias -> kept client id), for self-referral and identity checks.
    paid : DataFrame, optional
        Lines of earlier ledgers (``line_id, period, points``, e.g. :func:`read_paid`). A line
        already paid in a different period pays 0 now (status ``already_paid``); lines of this
        same period are a re-run and are recomputed.
    settled : DataFrame, optional
        Lines settled before (``SETTLED_COLUMNS``, the store's journal ``reward_settled``):
        their keys pay 0 (``already_settled``), a changed entitlement becomes an
        ``adjustment`` line (module notes).

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
    basis = reward_basis(clients, policies, relationships, settings, aliases)
    return period_ledger(basis, policies, period, settings, paid=paid, settled=settled)


@dataclass(frozen=True)
class RewardBasis:
    """What the ledger of every period shares, computed once for the whole store.

    Attributes
    ----------
    first : DataFrame
        Per holder: ``first_policy, first_start, last_start`` (excluded statuses left out).
    groups : Series
        :func:`identity_groups` of the clients and the store's aliases.
    accepted, exclusions : DataFrame
        :func:`referral_decisions`.
    by_month : dict
        ``YYYY-MM`` -> row positions (ascending) of the policies that start in that month.
    is_first : ndarray of bool
        Per policy row: it is its holder's first eligible policy (``first.first_policy``).
    excluded_statuses : tuple of str
        The ``rewards.excluded_statuses`` the basis was built with.
    aliases : dict
        The merged ids it was built with.
    """

    first: pd.DataFrame
    groups: pd.Series
    accepted: pd.DataFrame
    exclusions: pd.DataFrame
    by_month: dict[str, np.ndarray]
    is_first: np.ndarray
    excluded_statuses: tuple[str, ...]
    aliases: dict[str, str]


def reward_basis(clients: pd.DataFrame, policies: pd.DataFrame, relationships: pd.DataFrame,
                 settings: Settings | None = None,
                 aliases: Mapping[str, str] | None = None) -> RewardBasis:
    """The period-independent part of :func:`reward_ledger`: first policies, identity groups,
    referral decisions and the policies of each month.

    Parameters
    ----------
    clients, policies, relationships : DataFrame
        The store's frames, as for :func:`reward_ledger`; :func:`period_ledger` must be given
        the same ``policies`` (it takes rows by position).
    settings : Settings, optional
        ``settings.rewards.excluded_statuses`` is used.
    aliases : mapping, optional
        The store's merged ids (alias -> kept client id).

    Returns
    -------
    RewardBasis
    """
    excluded = tuple((settings or Settings()).rewards.excluded_statuses)
    al = {str(k): str(v) for k, v in (aliases or {}).items()}
    fp = _first_policies(policies, excluded)
    groups = identity_groups(clients, al)
    accepted, exclusions = referral_decisions(clients, policies, relationships, al,
                                              _first=fp, _groups=groups,
                                              excluded_statuses=excluded)
    month = policies["start_date"].astype(str).str.slice(0, 7).to_numpy()
    by_month = {str(m): np.asarray(pos, dtype=np.int64) for m, pos in
                pd.Series(np.arange(len(month))).groupby(month, sort=True).indices.items()}
    is_first = policies["policy_id"].astype(str).isin(set(fp["first_policy"])).to_numpy()
    return RewardBasis(first=fp, groups=groups, accepted=accepted, exclusions=exclusions,
                       by_month=by_month, is_first=is_first, excluded_statuses=excluded,
                       aliases=al)


#: key of ``AnalysisGraph._cache`` holding the whole store's :class:`RewardBasis`
BASIS_KEY = "reward_basis"


def graph_reward_basis(ag: AnalysisGraph, aliases: Mapping[str, str] | None = None
                       ) -> RewardBasis:
    """:func:`reward_basis` of the whole analysis graph, kept on it (and so in its snapshot:
    :func:`graphcrm.workspace.warm_graph` computes it after an ingest).

    ``ag`` must be the full graph, never a user's scoped copy (which blanks colleagues'
    phones and so changes the identity groups). ``aliases``: the store's merged ids at the
    graph's data version; a basis built with other aliases or settings is built again.
    """
    al = {str(k): str(v) for k, v in (aliases or {}).items()}
    hit = ag._cache.get(BASIS_KEY)
    if isinstance(hit, dict) and hit.get("aliases") == al \
            and hit.get("excluded_statuses") == tuple(ag.settings.rewards.excluded_statuses) \
            and set(hit) == {f.name for f in fields(RewardBasis)}:
        return RewardBasis(**hit)
    basis = reward_basis(ag.clients.reset_index(drop=True), ag.policies.reset_index(drop=True),
                         ag.relationships, ag.settings, al)
    # kept as a plain dict of pandas / NumPy values: a snapshot stays readable by a checkout
    # without this class (the app benchmark's baseline reads the same snapshot)
    ag._cache[BASIS_KEY] = {f.name: getattr(basis, f.name) for f in fields(RewardBasis)}
    return basis


def graph_ledger(ag: AnalysisGraph, period: str, aliases: Mapping[str, str] | None = None,
                 settled: pd.DataFrame | None = None) -> Ledger:
    """The ledger of ``period`` on the whole analysis graph (the app's rewards page): the same
    lines, totals and exclusions as :func:`reward_ledger` on the store's frames, with the
    period-independent part read from :func:`graph_reward_basis`."""
    return period_ledger(graph_reward_basis(ag, aliases), ag.policies, period, ag.settings,
                         settled=settled)


#: key of ``AnalysisGraph._cache`` holding the warm-up's ledger of the latest period
LEDGER_KEY = "reward_ledger_latest"


def warm_graph_ledger(ag: AnalysisGraph, aliases: Mapping[str, str] | None = None,
                      settled: pd.DataFrame | None = None) -> str | None:
    """Compute the ledger of the latest period (the rewards page's default) and keep it on
    ``ag`` for :func:`warmed_ledger`; ``aliases`` and ``settled`` must be the store's at the
    graph's data version. Returns the period, or None when no policy has a start date."""
    periods = graph_periods(ag)
    if not periods:
        return None
    ledger = graph_ledger(ag, periods[0], aliases, settled)
    ag._cache[LEDGER_KEY] = {"period": periods[0], "data_version": ag.data_version,
                             "lines": ledger.lines, "totals": ledger.totals,
                             "exclusions": ledger.exclusions, "entitled": ledger.entitled}
    return periods[0]


def warmed_ledger(ag: AnalysisGraph, period: str) -> Ledger | None:
    """The ledger of ``period`` kept by :func:`warm_graph_ledger` at the graph's data version,
    or None. Valid without re-reading the store's merged ids and settled lines: merging ids
    and settling a period each move the store's data version on (a new graph)."""
    hit = ag._cache.get(LEDGER_KEY)
    if not isinstance(hit, dict) or hit.get("period") != period \
            or hit.get("data_version") != ag.data_version:
        return None
    return Ledger(lines=hit["lines"], totals=hit["totals"], exclusions=hit["exclusions"],
                  entitled=hit["entitled"])


def graph_periods(ag: AnalysisGraph) -> list[str]:
    """The periods (``YYYY-MM``) with a policy start, latest first: from the months of the
    reward basis when the warm-up kept one on ``ag``, else one pass over the policies."""
    hit = ag._cache.get(BASIS_KEY)
    if isinstance(hit, dict) and isinstance(hit.get("by_month"), dict):
        months = list(hit["by_month"])
    else:
        months = ag.policies["start_date"].dropna().astype(str).str[:7].unique().tolist()
    return sorted((m for m in months if _PERIOD.match(m)), reverse=True)


def period_ledger(basis: RewardBasis, policies: pd.DataFrame, period: str,
                  settings: Settings | None = None, *, paid: pd.DataFrame | None = None,
                  settled: pd.DataFrame | None = None) -> Ledger:
    """The ledger of ``period`` from a :func:`reward_basis` of the same ``policies``: what
    :func:`reward_ledger` returns, without recomputing the period-independent part.

    Parameters
    ----------
    basis : RewardBasis
        Built from these ``policies`` with the same ``rewards.excluded_statuses``.
    policies : DataFrame
        The policies the basis was built from (rows are taken by position).
    period, settings, paid, settled
        As for :func:`reward_ledger`.

    Returns
    -------
    Ledger

    Raises
    ------
    ValueError
        If ``period`` is not ``YYYY-MM`` or the basis was built from other policies or with
        other excluded statuses.
    """
    check_period(period)
    r = (settings or Settings()).rewards
    if tuple(r.excluded_statuses) != basis.excluded_statuses:
        raise ValueError("the reward basis was built with other rewards.excluded_statuses "
                         f"({', '.join(basis.excluded_statuses)}): build it again")
    if len(basis.is_first) != len(policies):
        raise ValueError(f"the reward basis was built from {len(basis.is_first):,} policies, "
                         f"not these {len(policies):,}: build it again")
    ppp = r.own_points_per_premium
    groups = basis.groups
    accepted, exclusions = basis.accepted, basis.exclusions

    rows = basis.by_month.get(period, np.empty(0, dtype=np.int64))
    pol = policies.iloc[rows]
    start = pol["start_date"].astype(str).str.slice(0, 10)
    pol = pd.DataFrame({
        "policy_id": pol["policy_id"].astype(str).to_numpy(),
        "holder_id": pol["holder_id"].astype(str).to_numpy(),
        "start": start.to_numpy(),
        "premium": pd.to_numeric(pol["annual_premium"], errors="coerce").fillna(0.0).to_numpy(),
        "category": pol["category"].astype(str).to_numpy(),
        "status": pol["status"].astype(str).to_numpy(),
        "first": basis.is_first[rows],
    })
    not_eligible = pol[pol["status"].isin(r.excluded_statuses)].reset_index(drop=True)
    pol = pol[~pol["status"].isin(r.excluded_statuses)].reset_index(drop=True)
    pol["base"] = (pol["premium"] * ppp).round(2)
    ineligible = pd.DataFrame({
        "earner_id": not_eligible["holder_id"], "source_policy_id": not_eligible["policy_id"],
        "referee_id": not_eligible["holder_id"], "level": 0, "base_points": 0.0, "share": 1.0,
        "start": not_eligible["start"], "same": False,
        "reason": ("no points: policy " + not_eligible["policy_id"] + " ("
                   + not_eligible["category"] + ", started " + not_eligible["start"] + ") is "
                   + not_eligible["status"] + ", which earns nothing and is not a purchase "
                   "for the referral chain").astype(object),
    })

    own = pd.DataFrame({
        "earner_id": pol["holder_id"], "source_policy_id": pol["policy_id"],
        "referee_id": pol["holder_id"], "level": 0, "base_points": pol["base"], "share": 1.0,
        "start": pol["start"], "same": False,
        "reason": ("own first-year premium " + pol["premium"].map(_FMT).astype(object)
                   + " of policy " + pol["policy_id"] + " (" + pol["category"]
                   + ", started " + pol["start"] + f") × {ppp:g} points per unit = "
                   + pol["base"].map(_FMT).astype(object)),
    })

    # referees whose first policy (ever) is one of this period's policies
    firsts = pol[pol["first"].to_numpy(dtype=bool)]
    parent = accepted.set_index("referee_id")["referrer_id"]
    ref_date = accepted.set_index("referee_id")["referral_date"]
    chain_frames = []
    cur = firsts["holder_id"]
    path = cur.copy()
    referred = ("; " + cur + " referred by " + cur.map(parent).fillna("") + " on "
                + cur.map(ref_date).fillna(""))
    for level, share in enumerate(r.level_shares, start=1):
        nxt = cur.map(parent)
        # the chain as it stood when the policy started: an upper referral dated after the
        # policy did not bring this sale
        when = cur.map(ref_date)
        has = (nxt.notna() & (when.fillna("9999") <= firsts["start"])).to_numpy()
        if not has.any():
            break
        f = firsts[has]
        cur = nxt[has]
        path = cur + " → " + path[has]
        referred = referred[has]
        gi, gr = cur.map(groups), f["holder_id"].map(groups)
        same = (gi.notna() & (gi == gr)).to_numpy()
        chain_frames.append(pd.DataFrame({
            "earner_id": cur.to_numpy(), "source_policy_id": f["policy_id"].to_numpy(),
            "referee_id": f["holder_id"].to_numpy(), "level": level,
            "base_points": f["base"].to_numpy(), "share": float(share),
            "start": f["start"].to_numpy(), "same": same,
            "reason": (f"level-{level} referral: chain " + path + referred + "; first policy "
                       + f["policy_id"] + " started " + f["start"]
                       + f"; {share:.0%} of " + f["base"].map(_FMT).astype(object)
                       + " points").to_numpy(),
        }))
        firsts = f
    lines = pd.concat([own, *chain_frames], ignore_index=True)
    lines["level"] = lines["level"].astype("int64")
    lines["line_id"] = lines["source_policy_id"] + ":" + lines["level"].astype(str)
    lines["adj"] = False
    lines["inel"] = False
    lines = _settle(lines, settled, period)
    n_ineligible = len(ineligible)
    if n_ineligible:
        ineligible = ineligible.assign(level=0, adj=False, inel=True,
                                       line_id=ineligible["source_policy_id"] + ":0")
        lines = pd.concat([lines, ineligible], ignore_index=True)
    lines["level"] = lines["level"].astype("int64")
    lines = lines.sort_values(["earner_id", "adj", "level", "start", "source_policy_id"],
                              ignore_index=True)
    uncapped = (lines["base_points"] * lines["share"]).round(2)
    if "settled_pts" in lines:
        adj = lines["adj"].to_numpy(dtype=bool)
        uncapped[adj] = (uncapped[adj] - lines.loc[adj, "settled_pts"]).round(2)
    # what each line is entitled to before the cap (an adjustment: the difference), so that
    # the entitlements settled for one key always sum to its current entitlement
    entitled = pd.Series(uncapped.to_numpy(copy=True), index=lines["line_id"].to_numpy())
    status = pd.Series("paid", index=lines.index, dtype=object)
    status[lines["adj"].to_numpy(dtype=bool)] = "adjustment"
    status[lines["inel"].astype(bool).to_numpy()] = "not_eligible"

    same = lines["same"].to_numpy(dtype=bool)
    if same.any():
        uncapped[same] = 0.0
        status[same] = "same_person"
        lines.loc[same, "reason"] = (lines.loc[same, "reason"] + "; no points: earner "
                                     + lines.loc[same, "earner_id"] + " is the same person as "
                                     "referee " + lines.loc[same, "referee_id"]
                                     + " (shared phone / ID number / merged id)")
    if paid is not None and not paid.empty:
        earlier = paid[paid["period"].astype(str) != period]
        earlier = earlier.drop_duplicates("line_id").set_index("line_id")["period"].astype(str)
        done = lines["line_id"].map(earlier)
        hit = done.notna().to_numpy() & ~same & (status != "not_eligible").to_numpy()
        if hit.any():
            uncapped[hit] = 0.0
            status[hit] = "already_paid"
            lines.loc[hit, "reason"] = (lines.loc[hit, "reason"] + "; no points: line "
                                        + lines.loc[hit, "line_id"]
                                        + " was already paid in period " + done[hit])

    if "settled_in" in lines:
        hit = lines["settled_in"].notna().to_numpy() & ~lines["adj"].to_numpy(dtype=bool) \
            & (status == "paid").to_numpy()
        if hit.any():
            uncapped[hit] = 0.0
            status[hit] = "already_settled"
            lines.loc[hit, "reason"] = (lines.loc[hit, "reason"] + "; no points: "
                                        + lines.loc[hit, "settled_what"]
                                        + " was settled in period " + lines.loc[hit, "settled_in"])
    cap = float(r.cap_per_client_per_period)
    before = uncapped.groupby(lines["earner_id"]).cumsum() - uncapped
    points = np.minimum(uncapped, np.maximum(cap - before, 0.0)).round(2)
    lines["points"] = points
    lines["capped"] = (points < uncapped).to_numpy() & (uncapped > 0).to_numpy()
    status[lines["capped"].to_numpy()] = "capped"
    lines["status"] = status
    capped = lines["capped"].to_numpy()
    lines.loc[capped, "reason"] = (
        lines.loc[capped, "reason"] + f"; capped at {cap:,.2f} points per client per period "
        "(" + before[capped].clip(upper=cap).map(_FMT).astype(object) + " already earned; uncapped "
        + uncapped[capped].map(_FMT).astype(object) + ")")
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
    return Ledger(lines=lines, totals=totals, exclusions=exclusions, entitled=entitled)


def _settle(lines: pd.DataFrame, settled: pd.DataFrame | None, period: str) -> pd.DataFrame:
    """Mark the lines whose key was settled before (columns ``settled_in``, ``settled_what``,
    ``settled_pts``) and add an adjustment line where the entitlement changed."""
    if settled is None or settled.empty:
        return lines
    st = settled.copy()
    st["level"] = pd.to_numeric(st["level"]).astype("int64")
    st["entitled"] = pd.to_numeric(st["entitled"], errors="coerce").fillna(
        pd.to_numeric(st["points"], errors="coerce")).fillna(0.0)

    def keys(f: pd.DataFrame) -> pd.Series:
        own = f["level"] == 0
        return pd.Series(np.where(
            own, "own|" + f["earner_id"].astype(str) + "|" + f["source_policy_id"].astype(str),
            "chain|" + f["earner_id"].astype(str) + "|" + f["referee_id"].astype(str) + "|"
            + f["level"].astype(str)), index=f.index)

    st["key"] = keys(st)
    by = st.groupby("key", sort=False)
    when = by["period"].agg(lambda p: ", ".join(sorted(set(map(str, p)))))
    total = by["entitled"].sum().round(2)
    k = keys(lines)
    lines = lines.assign(settled_in=k.map(when), settled_pts=k.map(total))
    what = np.where(lines["level"] == 0,
                    "own line of " + lines["earner_id"] + " for policy "
                    + lines["source_policy_id"],
                    "(" + lines["earner_id"] + ", " + lines["referee_id"] + ", level "
                    + lines["level"].astype(str) + ")")
    lines["settled_what"] = what
    now = (lines["base_points"] * lines["share"]).round(2)
    changed = (lines["settled_in"].notna() & ~lines["same"].astype(bool)
               & ((now - lines["settled_pts"]).abs() >= 0.005))
    if changed.any():
        adj = lines[changed].copy()
        adj["adj"] = True
        adj["line_id"] = adj["line_id"] + ":adj"
        adj["reason"] = ("adjustment of a settled line: " + adj["settled_what"] + " settled "
                         + adj["settled_pts"].map(_FMT).astype(object) + " points in period "
                         + adj["settled_in"] + "; entitled now to "
                         + now[changed].map(_FMT).astype(object) + " (" + adj["reason"] + ")")
        lines = pd.concat([lines, adj], ignore_index=True)
    return lines
