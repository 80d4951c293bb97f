"""Client tiering (docs/metrics.md, tiers): ability x trust quadrant, value tiers, ABC.

* **Quadrant** (客户分层): ability = liquid-asset band (high / low), trust = the highest trust
  level of the client's ties (high = emotional or behavioural, without a distrust signal).
  high ability x low trust = cultivate 耕耘, high x high = pamper 宠爱, low x low = develop 开发,
  low x high = maintain 维系. Each quadrant has an experience plan (√ give, ☆ the key one,
  ◎ case by case, × not), kept as data in ``TierSettings.experience_plan``.
* **ABC** (Pareto): A = the clients that make up the top 80% of in-force annual premium, then B
  up to 95%, then C (and every client without in-force premium).
* **Value tiers**: MVC most valuable, MGC most growable, LVC low value, BZ below zero, from a
  weighted score of profit, influence, loyalty and potential (formula in :func:`value_tiers`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from graphcrm.config import Settings
from graphcrm.graph.trust import RANK, client_trust
from graphcrm.model import PolicyStatus

QUADRANTS: dict[tuple[str, str], str] = {
    ("high", "low"): "cultivate", ("high", "high"): "pamper",
    ("low", "low"): "develop", ("low", "high"): "maintain",
}
MARK_MEANING: dict[str, str] = {"√": "give", "☆": "key", "◎": "case by case", "×": "not"}


def experience_plan(quadrant: str, settings: Settings | None = None) -> dict[str, str]:
    """The experience plan of one quadrant: experience -> mark (√ ☆ ◎ ×).

    Parameters
    ----------
    quadrant : str
        cultivate, pamper, develop or maintain.
    settings : Settings, optional
        ``settings.tiers.experiences`` and ``experience_plan`` hold the experience table of
        docs/metrics.md.

    Returns
    -------
    dict
        Ordered ``{experience: mark}``.

    Examples
    --------
    >>> experience_plan("pamper")["tailor_made"]
    '☆'
    """
    t = (settings or Settings()).tiers
    marks = t.experience_plan[quadrant]
    return dict(zip(t.experiences, marks, strict=True))


def plan_table(settings: Settings | None = None) -> pd.DataFrame:
    """The whole experience table (docs/metrics.md): one row per quadrant plus the ``cost`` row."""
    t = (settings or Settings()).tiers
    rows = {q: list(t.experience_plan[q]) for q in ("develop", "maintain", "cultivate", "pamper")}
    rows["cost"] = list(t.experience_cost)
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(t.experiences))


def quadrants(clients: pd.DataFrame, trust: pd.DataFrame, settings: Settings | None = None,
              serving: pd.Series | None = None, departed: set[str] | None = None
              ) -> pd.DataFrame:
    """Ability x trust quadrant and experience plan of every client.

    Parameters
    ----------
    clients : DataFrame
        The store's clients (``client_id``, ``asset_band``).
    trust : DataFrame
        Output of :func:`graphcrm.graph.trust.trust_levels` (one row per agent-client tie).
    settings : Settings, optional
        ``tiers.high_ability_bands``, ``tiers.high_trust_levels`` and the plan table.
    serving, departed : optional
        The current serving agent by client id and the departed agents: the client's trust is
        the one with the current agent (:func:`graphcrm.graph.trust.client_trust`).

    Returns
    -------
    DataFrame
        ``client_id, ability (high/low), trust (high/low), quadrant, plan, key_experiences``:
        ``plan`` is ``{experience: mark}``; ``key_experiences`` the ☆ ones. A client whose
        tie with the current agent carries a distrust signal counts as low trust.
    """
    s = settings or Settings()
    t = s.tiers
    ct = client_trust(trust, serving, departed)
    level = clients["client_id"].map(ct["level"]).fillna("none")
    distrust = clients["client_id"].map(ct["distrust"]).eq(True)
    ability = np.where(clients["asset_band"].isin(t.high_ability_bands), "high", "low")
    high_trust = level.isin(t.high_trust_levels).to_numpy() & ~distrust.to_numpy()
    trust_hl = np.where(high_trust, "high", "low")
    quad = np.select(
        [(ability == "high") & ~high_trust, (ability == "high") & high_trust, ~high_trust],
        ["cultivate", "pamper", "develop"], "maintain",
    )
    plans = {q: experience_plan(q, s) for q in t.experience_plan}
    keys = {q: [e for e, m in p.items() if m == "☆"] for q, p in plans.items()}
    return pd.DataFrame({
        "client_id": clients["client_id"].to_numpy(),
        "ability": ability, "trust": trust_hl, "trust_level": level.to_numpy(),
        "quadrant": quad,
        "plan": [plans[q] for q in quad],
        "key_experiences": [keys[q] for q in quad],
    })


def _premium_by_client(policies: pd.DataFrame) -> pd.Series:
    inf = policies[policies["status"] == PolicyStatus.IN_FORCE.value]
    prem = pd.to_numeric(inf["annual_premium"], errors="coerce").fillna(0.0)
    return prem.groupby(inf["holder_id"].astype(str)).sum()


def abc_classes(policies: pd.DataFrame, clients: pd.DataFrame | None = None,
                settings: Settings | None = None) -> pd.DataFrame:
    """ABC (Pareto) class of every premium-paying client.

    Clients are sorted by in-force annual premium (highest first, ties by client_id). A client
    is A while the premium of the clients ranked above it is below ``abc_a_share`` (80%) of the
    total, i.e. A is the smallest top group that reaches 80%; then B up to ``abc_b_share``
    (95%); the rest are C. Clients without in-force premium are C.

    Parameters
    ----------
    policies : DataFrame
        The store's policies (``holder_id, annual_premium, status``).
    clients : DataFrame, optional
        When given, every client appears (those without premium as C with premium 0).
    settings : Settings, optional
        ``tiers.abc_a_share`` and ``tiers.abc_b_share``.

    Returns
    -------
    DataFrame
        ``client_id, premium, share, cum_share, abc`` sorted by premium descending.

    Examples
    --------
    >>> import pandas as pd
    >>> pol = pd.DataFrame({"holder_id": ["a", "b", "c"], "annual_premium": [70, 20, 10],
    ...                     "status": "in_force"})
    >>> abc_classes(pol)["abc"].tolist()  # a+b reach 90% >= 80%; c brings 90% -> 100%
    ['A', 'A', 'B']
    """
    t = (settings or Settings()).tiers
    prem = _premium_by_client(policies)
    if clients is not None:
        prem = prem.reindex(pd.Index(clients["client_id"].astype(str)).union(prem.index),
                            fill_value=0.0)
    frame = pd.DataFrame({"client_id": prem.index.to_numpy(), "premium": prem.to_numpy()})
    frame = frame.sort_values(["premium", "client_id"], ascending=[False, True],
                              ignore_index=True)
    total = float(frame["premium"].sum())
    share = frame["premium"] / total if total > 0 else frame["premium"] * 0.0
    cum = share.cumsum()
    before = cum - share
    eps = 1e-12
    abc = np.where(before < t.abc_a_share - eps, "A",
                   np.where(before < t.abc_b_share - eps, "B", "C"))
    abc = np.where(frame["premium"].to_numpy() > 0, abc, "C")
    frame["share"] = share
    frame["cum_share"] = cum
    frame["abc"] = abc
    return frame


def _pct(values: pd.Series) -> pd.Series:
    """Percentile rank in (0, 1]; zeros stay 0 (no contribution)."""
    r = values.rank(pct=True, method="average")
    return r.where(values > 0, 0.0).fillna(0.0)


def value_tiers(
    clients: pd.DataFrame,
    policies: pd.DataFrame,
    influence: pd.Series | None = None,
    trust: pd.DataFrame | None = None,
    settings: Settings | None = None,
    as_of: date | None = None,
    serving: pd.Series | None = None,
    departed: set[str] | None = None,
) -> pd.DataFrame:
    """Value score and value tier (MVC / MGC / LVC / BZ) of every client.

    Parameters
    ----------
    clients, policies : DataFrame
        The store's frames.
    influence : Series, optional
        Influence by client_id (e.g. the graph helper's influence score). Without it the
        influence weight is left out and the other weights renormalised.
    trust : DataFrame, optional
        Output of :func:`graphcrm.graph.trust.trust_levels`.
    settings : Settings, optional
        ``tiers.value_weights``, the percentiles, prime age band, ``premium_income_ratio``,
        ``tenure_full_years``; ``needs.income_by_band``.
    as_of : date, optional
        For ages and tenure; defaults to the latest policy start date in the data.
    serving, departed : optional
        As in :func:`quadrants`: trust and distrust are those with the current agent.

    Returns
    -------
    DataFrame
        ``client_id, value_score, value_tier, profit, influence, loyalty, potential, premium``.

    Notes
    -----
    Each component lies in [0, 1]:

    * profit = percentile rank of in-force annual premium (0 without premium);
    * influence = percentile rank of ``influence`` (0 where missing or 0);
    * loyalty = ½ · min(tenure / tenure_full_years, 1) + ½ · trust rank / 3, where tenure is
      the years since the first policy and the trust rank is 0-3 (none..behavioural);
    * potential = ½ · [age in 26-45] + ½ · headroom, headroom = max(0, 1 − premium /
      (premium_income_ratio · income of the income band)).

    value_score = Σ wᵢ · componentᵢ / Σ wᵢ. Tiers by the percentile rank p of the score:
    MVC p ≥ mvc_percentile (0.9), MGC p ≥ mgc_percentile (0.6) or potential ≥ 0.75 with
    p ≥ lvc_percentile, LVC p ≥ lvc_percentile (0.2), BZ below it; a client with a distrust
    signal towards the current agent and no in-force premium is BZ whatever the score (a
    complaint about a departed agent does not count).
    """
    s = settings or Settings()
    t = s.tiers
    ids = clients["client_id"].astype(str)
    prem = ids.map(_premium_by_client(policies)).fillna(0.0)
    profit = _pct(prem)

    weights = dict(t.value_weights)
    if influence is not None:
        infl = _pct(ids.map(influence).astype(float).fillna(0.0))
    else:
        infl = pd.Series(0.0, index=ids.index)
        weights.pop("influence", None)

    starts = pd.to_datetime(policies["start_date"], errors="coerce")
    ref = pd.Timestamp(as_of) if as_of is not None else (starts.max() if len(starts) else
                                                          pd.Timestamp("1970-01-01"))
    first = starts.groupby(policies["holder_id"].astype(str)).min()
    tenure_years = ((ref - ids.map(first)).dt.days / 365.25).fillna(0.0).clip(lower=0)
    tenure = (tenure_years / t.tenure_full_years).clip(upper=1.0)
    if trust is not None and not trust.empty:
        ct = client_trust(trust, serving, departed)
        trank = ids.map(ct["level"].map(RANK)).fillna(0).astype(float) / 3.0
        distrust = ids.map(ct["distrust"]).eq(True)
    else:
        trank = pd.Series(0.0, index=ids.index)
        distrust = pd.Series(False, index=ids.index)
    loyalty = 0.5 * tenure + 0.5 * trank

    birth = pd.to_datetime(clients["birth_date"], errors="coerce")
    age = ((ref - birth).dt.days / 365.25).fillna(pd.to_numeric(clients["age"],
                                                                errors="coerce"))
    prime = ((age >= t.prime_age_low) & (age <= t.prime_age_high)).astype(float)
    income = clients["income_band"].map(s.needs.income_by_band).astype(float)
    headroom = (1.0 - prem / (t.premium_income_ratio * income)).clip(0.0, 1.0).fillna(0.0)
    potential = 0.5 * prime + 0.5 * headroom

    comps = {"profit": profit, "influence": infl, "loyalty": loyalty, "potential": potential}
    total_w = sum(weights.values())
    score = sum(w * comps[k] for k, w in weights.items()) / (total_w or 1.0)
    p = score.rank(pct=True, method="max")
    tier = np.select(
        [p >= t.mvc_percentile,
         (p >= t.mgc_percentile) | ((potential >= 0.75) & (p >= t.lvc_percentile)),
         p >= t.lvc_percentile],
        ["MVC", "MGC", "LVC"], "BZ",
    )
    tier = np.where(distrust.to_numpy() & (prem.to_numpy() <= 0), "BZ", tier)
    return pd.DataFrame({
        "client_id": ids.to_numpy(), "value_score": score.round(6).to_numpy(),
        "value_tier": tier, "profit": profit.round(6).to_numpy(),
        "influence": infl.round(6).to_numpy(), "loyalty": loyalty.round(6).to_numpy(),
        "potential": potential.round(6).to_numpy(), "premium": prem.to_numpy(),
    })
