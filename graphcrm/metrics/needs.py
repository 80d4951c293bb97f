"""Life stage and coverage gaps (docs/metrics.md, life stage and coverage gaps).

The life stage comes from the family subgraph: spouse edges (counted from their start date),
the household's children (``RELATIVE_OF`` kind ``parent`` from the parent, or ``child`` from
the child; the spouse's children count too) and their ages, and the client's own age against
the retirement age. The ``life_stage`` column is used only when the graph holds no spouse or
child of the client.

Coverage gaps compare the needs of the stage (ordered by the stage x income x education table,
:func:`needs_table`) with the in-force cover — each policy category covering the needs of
``NeedsSettings.need_categories`` (critical illness is not medical cover), a household child's
or parent's cover counting whoever in the household holds it — and give exactly one of the five
findings (0 when no one in the household has in-force cover) plus the reasons to visit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from graphcrm.config import NeedsSettings, Settings
from graphcrm.graph.strength import reference_date
from graphcrm.model import PolicyStatus, RelType

#: The five findings (docs/metrics.md), 0 = no in-force cover at all.
FINDINGS: dict[int, tuple[str, str]] = {
    0: ("no_cover", "no in-force cover in the household: every need of the stage is open"),
    1: ("fits_but_changed", "cover fits but needs have changed"),
    2: ("fits_unchanged", "cover fits and needs are unchanged"),
    3: ("wrong_products", "the chosen products do not meet the need"),
    4: ("too_low", "sum insured / premium too low"),
    5: ("large_but_other", "large cover, but for other needs"),
}

NEED_TEXT: dict[str, str] = {
    "accident": "accident cover", "critical_illness": "critical-illness cover",
    "medical": "medical (hospital) cover", "own_life": "life cover for the earner",
    "pension": "pension / annuity", "savings": "savings / investment",
    "parents_medical": "parents' medical cover", "parents_pension": "parents' pension",
    "child_health": "child's health cover", "child_accident": "child's accident cover",
    "education": "child's education fund", "grandchild_education": "grandchildren's education",
}

STAGE_COLUMNS = ["client_id", "life_stage", "stage_reason"]
GAP_COLUMNS = ["client_id", "life_stage", "stage_reason", "stage_then", "needs", "held",
               "missing", "finding", "finding_code", "protection_sum", "total_sum",
               "recommended_sum", "reasons"]


def _grouped(keys: pd.Series | np.ndarray, values: pd.Series | np.ndarray) -> pd.Series:
    """Values as one list per key, in their order (one array split, no Python call per group:
    pandas' ``groupby().agg(list)`` takes seconds at 10^5 groups)."""
    k = np.asarray(keys, dtype=object)
    v = np.asarray(values, dtype=object)
    if len(k) == 0:
        return pd.Series(dtype=object)
    order = np.argsort(k, kind="stable")
    k, v = k[order], v[order]
    uniq, start = np.unique(k, return_index=True)
    return pd.Series([p.tolist() for p in np.split(v, start[1:])], index=uniq, dtype=object)


def _rows_of(clients: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """The rows of ``clients`` whose ``client_id`` is in ``ids``, in ``clients``' order: looked
    up in the index when ``clients`` is indexed by client id (the analysis graph's frame; a
    hash look-up per id), else a scan of the column."""
    index = clients.index
    if index.dtype == object and index.is_unique:
        at = index.get_indexer(pd.Index(ids, dtype=object))
        rows = clients.iloc[np.sort(at[at >= 0])]
        if (rows["client_id"].astype(str).to_numpy() == rows.index.to_numpy()).all():
            return rows
    return clients[clients["client_id"].astype(str).isin(pd.Index(ids))]


def _ts(value: date | str | None) -> pd.Timestamp:
    return pd.Timestamp(value) if value is not None else pd.Timestamp.today().normalize()


def family_ties(relationships: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The family ties :func:`coverage_gaps` reads: (spouse pairs ``a, b, start``, both
    directions; ``parent, child`` pairs), from the ``RELATIVE_OF`` rows."""
    return _family(relationships)


def graph_gaps(ag: Any, client_ids: Iterable[str]) -> pd.DataFrame:
    """:func:`coverage_gaps` of ``client_ids`` on an analysis graph's frames, as of the data's
    reference date (:func:`graphcrm.graph.strength.reference_date`), with the family ties and
    that date read once per graph (cached on ``ag``; the post-ingest warm-up saves them): a
    book's gaps read only that book's rows, not every relationship, client and policy."""
    family, as_of = gaps_inputs(ag)
    return coverage_gaps(ag.clients, ag.policies, ag.relationships, as_of, ag.settings,
                         client_ids=client_ids, family=family)


def gaps_inputs(ag: Any) -> tuple[tuple[pd.DataFrame, pd.DataFrame], date]:
    """(:func:`family_ties`, reference date) of the analysis graph ``ag``, cached on it (ids and
    dates only, no names)."""
    hit = ag._cache.get(GAPS_INPUTS)
    if hit is None:
        hit = (_family(ag.relationships),
               reference_date(ag.interactions, ag.policies, ag.settings.metrics).date())
        ag._cache[GAPS_INPUTS] = hit
    return hit


#: key of ``AnalysisGraph._cache`` holding :func:`gaps_inputs`
GAPS_INPUTS = "gaps_inputs"


def _family(relationships: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(spouse pairs a, b, start) both directions; (parent, child) pairs."""
    rel = relationships[relationships["type"] == RelType.RELATIVE_OF.value]
    kind = rel["kind"].astype("string")
    sp = rel[kind == "spouse"]
    spouse = pd.DataFrame({
        "a": np.concatenate([sp["src_id"].to_numpy(), sp["dst_id"].to_numpy()]),
        "b": np.concatenate([sp["dst_id"].to_numpy(), sp["src_id"].to_numpy()]),
        "start": np.concatenate([sp["start_date"].to_numpy(), sp["start_date"].to_numpy()]),
    })
    par, chi = rel[kind == "parent"], rel[kind == "child"]
    pc = pd.DataFrame({
        "parent": np.concatenate([par["src_id"].to_numpy(), chi["dst_id"].to_numpy()]),
        "child": np.concatenate([par["dst_id"].to_numpy(), chi["src_id"].to_numpy()]),
    }).drop_duplicates()
    spouse["start"] = pd.to_datetime(spouse["start"], errors="coerce")
    return spouse.astype({"a": str, "b": str}), pc.astype(str)


def _ages(clients: pd.DataFrame, ref: pd.Series) -> pd.Series:
    """Age in whole years at ``ref`` (per row) from birth_date, else the age column."""
    birth = pd.to_datetime(clients["birth_date"], errors="coerce")
    years = ref.dt.year - birth.dt.year - (
        (ref.dt.month < birth.dt.month)
        | ((ref.dt.month == birth.dt.month) & (ref.dt.day < birth.dt.day))
    ).astype(int)
    return years.astype(float).fillna(pd.to_numeric(clients["age"], errors="coerce"))


def _stages(clients: pd.DataFrame, relationships: pd.DataFrame, ref: pd.Series,
            ns: NeedsSettings, family: tuple[pd.DataFrame, pd.DataFrame] | None = None,
            people: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stages with a reference date per client (``ref`` aligned to ``clients``).

    ``people`` (default ``clients``) is where the children's birth dates and ages are looked up.
    """
    clients = clients.reset_index(drop=True)
    ref = pd.Series(pd.to_datetime(ref.to_numpy()), index=clients.index)
    ids = clients["client_id"].astype(str)
    spouse, pc = family if family is not None else _family(relationships)
    ref_by_id = pd.Series(ref.to_numpy(), index=ids.to_numpy())
    age = _ages(clients, ref)

    # spouses married by the reference date (an undated spouse edge always counts)
    sp = spouse[spouse["a"].isin(ids)]
    sp = sp[sp["start"].isna() | (sp["start"] <= sp["a"].map(ref_by_id))]
    sp = sp.sort_values(["a", "b"]).drop_duplicates("a")
    spouse_of = pd.Series(sp["b"].to_numpy(), index=sp["a"].to_numpy())

    # the household's children born by the reference date, with their ages then: the
    # client's own children and those of the spouse at that date
    own_kids = pc[pc["parent"].isin(ids)]
    step = sp[["a", "b"]].merge(pc[pc["parent"].isin(sp["b"])], left_on="b", right_on="parent")
    step = pd.DataFrame({"parent": step["a"].to_numpy(), "child": step["child"].to_numpy()})
    kids = pd.concat([own_kids, step[step["child"] != step["parent"]]], ignore_index=True)
    kids = kids.drop_duplicates(["parent", "child"]).reset_index(drop=True)
    people = clients if people is None else people
    pids = people["client_id"].astype(str).to_numpy()
    all_birth = pd.to_datetime(pd.Series(people["birth_date"].to_numpy(), index=pids),
                               errors="coerce")
    kids["kref"] = kids["parent"].map(ref_by_id)
    kids["birth"] = kids["child"].map(all_birth)
    kids = kids[kids["birth"].isna() | (kids["birth"] <= kids["kref"])]
    kid_age = (kids["kref"].dt.year - kids["birth"].dt.year - (
        (kids["kref"].dt.month < kids["birth"].dt.month)
        | ((kids["kref"].dt.month == kids["birth"].dt.month)
           & (kids["kref"].dt.day < kids["birth"].dt.day))).astype(int)).astype(float)
    age_col = pd.to_numeric(pd.Series(people["age"].to_numpy(), index=pids), errors="coerce")
    kids["age"] = kid_age.fillna(kids["child"].map(age_col))
    kids = kids.sort_values(["parent", "age", "child"])
    kids["text"] = "child " + kids["child"] + np.where(
        kids["age"].notna(), " aged " + kids["age"].fillna(-1).astype(int).astype(str), "")
    kg = kids.groupby("parent")
    n_kids = ids.map(kg.size()).fillna(0).astype(int)
    youngest = ids.map(kg["age"].min())
    unknown_kid_age = ids.isin(kids.loc[kids["age"].isna(), "parent"])
    kid_text = ids.map(_grouped(kids["parent"], kids["text"]).map(", ".join)).fillna("")

    has_spouse = ids.isin(spouse_of.index)
    spouse_text = np.where(has_spouse, "spouse " + ids.map(spouse_of).fillna(""), "")
    col = clients["life_stage"].astype("string")
    retire = ns.retirement_age
    young = (youngest < ns.young_child_max_age) | unknown_kid_age
    given = col.notna() & col.isin(list(ns.stage_needs))
    conds = [
        age < ns.adult_age,
        age >= retire,
        (n_kids > 0) & young,
        n_kids > 0,
        has_spouse,
        given,
        age.notna(),
    ]
    stage = np.select(conds, ["dependent", "retired", "young_family", "mature_family", "couple",
                              col.fillna("unknown"), "single"], "unknown")
    age_txt = pd.Series(np.where(age.notna(), "age " + age.fillna(-1).astype(int).astype(str),
                                 "age unknown"), index=ids.index)
    fam = pd.Series(spouse_text, index=ids.index).str.cat(kid_text, sep="; ").str.strip("; ")
    fam = age_txt + "; " + fam
    reason = np.select(
        conds,
        [age_txt + f" < {ns.adult_age}: a dependent, covered through the parents",
         age_txt + f" >= retirement age {retire}",
         fam + f" (youngest under {ns.young_child_max_age})",
         fam + f" (all children {ns.young_child_max_age} or older)",
         fam + ", no children",
         age_txt + ", no spouse or children in the family graph: from the life_stage column",
         age_txt + ", no spouse or children in the family graph"],
        "no age, no family ties and no life_stage column",
    )
    return pd.DataFrame({"client_id": ids.to_numpy(), "life_stage": stage,
                         "stage_reason": reason})


def _household(family: tuple[pd.DataFrame, pd.DataFrame], ids: set[str]) -> pd.DataFrame:
    """The household ties of ``ids``: ``x`` (a client of ``ids``), ``y``, ``rel`` (spouse,
    child — the client's own or the spouse's —, parent), one row per (x, y)."""
    spouse, pc = family
    sp = spouse[spouse["a"].isin(ids)]
    # only the pairs that touch ``ids`` or their spouses (not every family of the graph)
    pc = pc[pc["parent"].isin(ids | set(sp["b"])) | pc["child"].isin(ids)]
    parts = [pd.DataFrame({"x": sp["a"], "y": sp["b"], "rel": "spouse"}),
             pd.DataFrame({"x": pc["parent"], "y": pc["child"], "rel": "child"}),
             pd.DataFrame({"x": pc["child"], "y": pc["parent"], "rel": "parent"})]
    step = sp[["a", "b"]].merge(pc, left_on="b", right_on="parent")
    parts.append(pd.DataFrame({"x": step["a"], "y": step["child"], "rel": "child"}))
    out = pd.concat(parts, ignore_index=True)
    out = out[out["x"].isin(ids) & (out["x"] != out["y"])]
    return out.drop_duplicates(["x", "y"]).reset_index(drop=True).astype(str)


def _held(pol: pd.DataFrame, pairs: pd.DataFrame, ids: set[str]) -> pd.Series:
    """What each client holds or is covered by, as sorted texts: the category of a policy
    insuring the client (``"critical_illness"``; ``"... (held by spouse W)"`` when another
    holds it), of a policy the client holds on another person (``"... (insures spouse W)"``)
    and of a policy on the client's household child or parent, whoever holds it (``"education
    (insures child K, held by spouse H)"``, ``"medical (parent G's own)"``)."""
    rel_of = pairs.set_index(["x", "y"])["rel"]

    def rel(x: pd.Series, y: pd.Series) -> pd.Series:
        r = pd.Series(pd.MultiIndex.from_arrays([x, y]).map(rel_of), index=x.index,
                      dtype=object)
        return r.fillna("other")

    own = pol[pol["insured"].isin(ids)]
    by_other = own["holder_id"] != own["insured"]
    t_own = own["category"].where(
        ~by_other, own["category"] + " (held by "
        + rel(own["insured"], own["holder_id"]) + " " + own["holder_id"] + ")")
    rows = [pd.DataFrame({"client_id": own["insured"], "text": t_own})]
    gave = pol[pol["holder_id"].isin(ids) & (pol["holder_id"] != pol["insured"])]
    rows.append(pd.DataFrame({"client_id": gave["holder_id"], "text": (
        gave["category"] + " (insures " + rel(gave["holder_id"], gave["insured"]) + " "
        + gave["insured"] + ")")}))
    fam = pairs[pairs["rel"].isin(["child", "parent"])].merge(
        pol[["insured", "holder_id", "category"]], left_on="y", right_on="insured")
    fam = fam[fam["holder_id"] != fam["x"]]
    theirs = fam["holder_id"] == fam["y"]
    rows.append(pd.DataFrame({"client_id": fam["x"], "text": np.where(
        theirs, fam["category"] + " (" + fam["rel"] + " " + fam["y"] + "'s own)",
        fam["category"] + " (insures " + fam["rel"] + " " + fam["y"] + ", held by "
        + rel(fam["x"], fam["holder_id"]) + " " + fam["holder_id"] + ")")}))
    held = pd.concat(rows, ignore_index=True).drop_duplicates()
    held = held.sort_values(["client_id", "text"])
    return _grouped(held["client_id"], held["text"])


def life_stages(clients: pd.DataFrame, relationships: pd.DataFrame, as_of: date,
                settings: Settings | None = None) -> pd.DataFrame:
    """Life stage of every client, inferred from the family subgraph and ages.

    Parameters
    ----------
    clients : DataFrame
        The store's clients (``client_id, birth_date, age, life_stage``).
    relationships : DataFrame
        The store's relationships; only ``RELATIVE_OF`` rows are used.
    as_of : date
        Ages are taken on this date; spouse edges starting and children born after it do not
        count.
    settings : Settings, optional
        ``needs.retirement_age`` and ``needs.young_child_max_age``.

    Returns
    -------
    DataFrame
        ``client_id, life_stage, stage_reason``. Rules, first match wins: age under
        ``adult_age`` → dependent (no needs of its own); age ≥ retirement age
        → retired; a household child (the client's or the current spouse's) under
        ``young_child_max_age`` (or of unknown age) → young_family; children, all older →
        mature_family; a spouse → couple; no family ties in the graph: the ``life_stage``
        column when given (the graph may just not hold the family), else single when the age
        is known, else ``unknown``.

    Examples
    --------
    >>> import pandas as pd
    >>> from datetime import date
    >>> c = pd.DataFrame({"client_id": ["a", "b"], "birth_date": ["1990-01-01", "1991-01-01"],
    ...                   "age": [None, None], "life_stage": [None, None]})
    >>> r = pd.DataFrame({"src_id": ["a"], "dst_id": ["b"], "type": ["RELATIVE_OF"],
    ...                   "kind": ["spouse"], "start_date": ["2020-05-01"]})
    >>> life_stages(c, r, date(2025, 1, 1))["life_stage"].tolist()
    ['couple', 'couple']
    """
    ns = (settings or Settings()).needs
    ref = pd.Series(_ts(as_of), index=clients.index)
    return _stages(clients, relationships, ref, ns)


def ordered_needs(stage: str, income_band: str | None, education_band: str | None,
                  settings: Settings | None = None) -> list[str]:
    """Priority needs of a stage, ordered for the client's income and education
    (the stage x income x education table, :func:`needs_table`).

    High income moves ``high_income_promote`` (savings/investment, parents' pension) right
    after the first need, adding parents' pension when the stage does not list it ("high income
    adds investment and parents' pension earlier"; a retired client's savings only); any other
    income (low, middle, unknown)
    puts the protection needs first, in stage order ("average income puts protection first").
    The education band does not change the order on its own: high education with average
    income still puts protection first.

    Examples
    --------
    >>> ordered_needs("single", "middle", "middle")
    ['accident', 'critical_illness', 'parents_medical', 'pension']
    >>> ordered_needs("single", "high", "middle")
    ['accident', 'savings', 'parents_pension', 'critical_illness', 'parents_medical', 'pension']
    >>> ordered_needs("single", "middle", "high")
    ['accident', 'critical_illness', 'parents_medical', 'pension']
    """
    ns = (settings or Settings()).needs
    base = list(ns.stage_needs.get(stage, []))
    if not base:
        return []
    if income_band == "high":
        promote = [n for n in ns.high_income_promote]
        if stage == "retired":  # a retired client's parents are past buying a pension
            promote = [n for n in promote if n in base]
        rest = [n for n in base[1:] if n not in promote]
        return [base[0], *[n for n in promote if n != base[0]], *rest]
    prot = [n for n in base if n in ns.protection_needs]
    return prot + [n for n in base if n not in ns.protection_needs]


def needs_table(settings: Settings | None = None) -> pd.DataFrame:
    """The stage x income x education table of ordered needs and core needs.

    Returns
    -------
    DataFrame
        One row per (life_stage, income_band, education_band) with ``needs`` (ordered, as
        :func:`ordered_needs`) and ``core`` (the first ``core_needs``).
    """
    s = settings or Settings()
    rows = []
    for stage in s.needs.stage_needs:
        for inc in ("low", "middle", "high"):
            for edu in ("low", "middle", "high"):
                n = ordered_needs(stage, inc, edu, s)
                rows.append((stage, inc, edu, n, n[: s.needs.core_needs]))
    return pd.DataFrame(rows, columns=["life_stage", "income_band", "education_band", "needs",
                                       "core"])


def coverage_gaps(
    clients: pd.DataFrame,
    policies: pd.DataFrame,
    relationships: pd.DataFrame,
    as_of: date,
    settings: Settings | None = None,
    client_ids: Iterable[str] | None = None,
    family: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Needs of the life stage against held cover, the finding and the reasons to visit.

    Parameters
    ----------
    clients, policies, relationships : DataFrame
        The store's frames (all of them: a child's or parent's policy counts for the family).
    as_of : date
        The reference date for stages and ages.
    settings : Settings, optional
        ``settings.needs``: stage needs, need → categories, income by band, the sum-insured
        multiple, the re-buy window.
    client_ids : iterable of str, optional
        Only these clients (e.g. an agent's book); all clients when omitted. Then only the
        rows of these clients, their households and their policies are read (``clients``
        indexed by client id is looked up, not scanned).
    family : tuple of DataFrame, optional
        :func:`family_ties` of ``relationships``, when the caller keeps them (the app: once per
        analysis graph, :func:`graph_gaps`).

    Returns
    -------
    DataFrame
        One row per client, sorted by client_id: ``client_id, life_stage, stage_reason,
        stage_then, needs, held, missing, finding, finding_code, protection_sum, total_sum,
        recommended_sum, reasons``. ``needs`` and
        ``missing`` are ordered lists of need codes; ``held`` the sorted in-force categories
        held by or insuring the client; ``stage_then`` the stage on the client's first policy
        start date (as holder or insured; None without a dated policy); ``reasons`` a list of
        ``{"code", "text"}`` (English; translation is the app's job), the finding first.

    Notes
    -----
    A need is covered when an in-force policy (started by ``as_of``) of one of its categories
    insures the right person (``need_categories``: self, a child, a parent, or any policy the
    client holds). ``protection_sum`` = sum insured of the client's own life / critical-illness
    / accident cover (``protection_categories``), ``total_sum`` = sum insured of all cover
    insuring the client, ``recommended_sum`` = income of the band ×
    ``sum_insured_income_multiple``. The core needs are the first ``core_needs`` of the
    ordered list. Exactly one finding, first match:

    0. no in-force cover in the household (the client, spouse, children, parents): nothing to
       compare (not one of the five; every need is a gap);
    1. **fits but needs have changed**: the stage moved since the first policy;
    2. **fits and unchanged**: core needs covered and protection sum ≥ recommended (also
       dependents and unknown stages, which have no needs of their own);
    4. **sum insured too low**: core needs covered, protection sum below the recommended sum;
    5. **large cover, other needs**: a core need missing although the total sum insured
       reaches the recommended sum;
    3. **products do not meet the need**: a core need missing and the cover is small.
    """
    s = settings or Settings()
    ns = s.needs
    ref_ts = _ts(as_of)
    sel = clients
    if client_ids is not None:
        sel = _rows_of(clients, [str(c) for c in client_ids])
    sel = sel.reset_index(drop=True)
    if sel.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    ids = sel["client_id"].astype(str)
    family = _family(relationships) if family is None else family
    idset = set(ids)
    pairs = _household(family, idset)
    people = clients  # where household members' birth dates and ages are looked up
    mine = policies
    if client_ids is not None:  # only these clients, their households and their policies
        near = idset | set(pairs["y"])
        people = _rows_of(clients, sorted(near))
        mine = policies[policies["holder_id"].isin(near) | policies["insured_id"].isin(near)]
    now = _stages(sel, relationships, pd.Series(ref_ts, index=sel.index), ns, family, people)

    pol = mine[mine["status"] == PolicyStatus.IN_FORCE.value].copy()
    pol["start"] = pd.to_datetime(pol["start_date"], errors="coerce")
    pol = pol[pol["start"].isna() | (pol["start"] <= ref_ts)]
    pol["holder_id"] = pol["holder_id"].astype(str)
    insured = pol["insured_id"].astype("string")
    pol["insured"] = insured.where(insured.notna() & (insured != ""),
                                   pol["holder_id"]).astype(str)
    pol["sum_insured"] = pd.to_numeric(pol["sum_insured"], errors="coerce").fillna(0.0)
    pol["category"] = pol["category"].astype(str)

    # the stage then: on the first policy's start date, as holder or insured
    mine_all = pd.concat([pol[["holder_id", "start"]].rename(columns={"holder_id": "cid"}),
                          pol[["insured", "start"]].rename(columns={"insured": "cid"})])
    first = mine_all.groupby("cid")["start"].min()
    first_c = ids.map(first)
    has_first = first_c.notna().to_numpy()
    stage_then = pd.Series(None, index=sel.index, dtype=object)
    if has_first.any():
        sub = sel[has_first]
        then = _stages(sub, relationships, first_c[has_first], ns, family, people)
        stage_then[has_first] = then["life_stage"].to_numpy()

    # who is covered by what: (client, whom, category); a child's or a parent's cover counts
    # whoever holds it (the spouse's policy on the household's child covers the child need)
    me = pd.concat([
        pd.DataFrame({"client_id": pol["insured"], "whom": "self", "category": pol["category"]}),
        pd.DataFrame({"client_id": pol["holder_id"], "whom": "any", "category": pol["category"]}),
    ])
    fam_cov = pairs[pairs["rel"].isin(["child", "parent"])].merge(
        pol[["insured", "category"]], left_on="y", right_on="insured")
    fam_cov = pd.DataFrame({"client_id": fam_cov["x"], "whom": fam_cov["rel"],
                            "category": fam_cov["category"]})
    cov = pd.concat([me, fam_cov], ignore_index=True)
    cov = cov[cov["client_id"].isin(idset)]
    key_codes, key_names = pd.factorize(cov["whom"] + ":" + cov["category"])
    cov_pos = pd.Index(ids).get_indexer(cov["client_id"])
    covered: dict[str, np.ndarray] = {}
    for need, spec in ns.need_categories.items():
        whom, cats = spec.split(":", 1)
        wanted = pd.Index(key_names).get_indexer([f"{whom}:{c}" for c in cats.split("|")])
        mask = np.isin(key_codes, wanted[wanted >= 0])
        hit = np.zeros(len(ids), dtype=bool)
        hit[cov_pos[mask]] = True
        covered[need] = hit

    held = ids.map(_held(pol, pairs, idset))
    # household cover: an in-force policy held by or insuring anyone of the household
    covered_people = set(pol["holder_id"]) | set(pol["insured"])
    hh = pairs.loc[pairs["y"].isin(covered_people), "x"]
    household_cover = (ids.isin(covered_people) | ids.isin(set(hh))).to_numpy()
    prot = pol[pol["category"].isin(ns.protection_categories)]
    prot_sum = ids.map(prot.groupby("insured")["sum_insured"].sum()).fillna(0.0)
    total_sum = ids.map(pol.groupby("insured")["sum_insured"].sum()).fillna(0.0)
    income = sel["income_band"].map(ns.income_by_band).fillna(ns.income_by_band["middle"])
    recommended = income * ns.sum_insured_income_multiple

    # lapsed or surrendered cover of the client: a reason to visit (reinstate / replace)
    gone = mine[mine["status"] != PolicyStatus.IN_FORCE.value]
    gone = gone[gone["holder_id"].astype(str).isin(idset)]
    gone_text = ("policy " + gone["policy_id"].astype(str) + " (" + gone["category"].astype(str)
                 + ") is " + gone["status"].astype(str))
    gone_by = ids.map(_grouped(gone["holder_id"].astype(str), gone_text).map("; ".join))

    # needs per (stage, income, education): few combinations
    combo = pd.DataFrame({"st": now["life_stage"], "inc": sel["income_band"].astype(object),
                          "edu": sel["education_band"].astype(object)})
    cache: dict[tuple[object, object, object], list[str]] = {}
    need_lists = []
    for st, inc, edu in combo.itertuples(index=False, name=None):
        key = (st, inc, edu)
        if key not in cache:
            cache[key] = ordered_needs(str(st), inc if isinstance(inc, str) else None,
                                       edu if isinstance(edu, str) else None, s)
        need_lists.append(cache[key])

    window = pd.DateOffset(years=ns.rebuy_window_years)
    recent_first = (first_c.notna() & (first_c + window >= ref_ts)).to_numpy()
    # plain lists: indexing them in the loop is several times cheaper than numpy scalars
    first_txt = first_c.dt.strftime("%Y-%m-%d").tolist()
    ids_a, st_now = ids.to_numpy(), now["life_stage"].to_numpy()
    st_then_a, held_a = stage_then.tolist(), held.tolist()
    ps_a, ts_a, rec_a = prot_sum.tolist(), total_sum.tolist(), recommended.tolist()
    gone_a, recent_l, st_now_l = gone_by.tolist(), recent_first.tolist(), st_now.tolist()
    cov_l = {n: c.tolist() for n, c in covered.items()}
    hh_l = household_cover.tolist()
    known = set(ns.stage_needs)
    rows = []
    for i in range(len(ids_a)):
        needs = need_lists[i]
        miss = [n for n in needs if not cov_l[n][i]]
        core_missing = [n for n in needs[: ns.core_needs] if n in miss]
        h = held_a[i] if isinstance(held_a[i], list) else []
        low = bool(needs) and ps_a[i] < rec_a[i]  # dependents have no needs of their own
        reasons: list[dict[str, str]] = []
        changed = (st_then_a[i] in known and st_now_l[i] in known and st_then_a[i] != st_now_l[i])
        if not h and not hh_l[i]:
            finding = 0
        elif changed:
            finding = 1
        elif not core_missing:
            finding = 4 if low else 2
        elif ts_a[i] >= rec_a[i]:
            finding = 5
        else:
            finding = 3
        code, text = FINDINGS[finding]
        if finding == 1:
            reasons.append({"code": "stage_changed",
                            "text": f"life stage moved from {st_then_a[i]} to {st_now_l[i]} "
                                    f"since the first policy of {first_txt[i]}"})
        elif finding == 3:
            holds = ", ".join(h) if h else "nothing (the household's cover is the others')"
            reasons.append({"code": code,
                            "text": f"{text}: holds {holds}, core needs "
                                    f"{', '.join(core_missing)} not covered"})
        elif finding == 5:
            reasons.append({"code": code,
                            "text": f"{text}: total sum insured {ts_a[i]:,.0f} in "
                                    f"{', '.join(h)}, but core needs "
                                    f"{', '.join(core_missing)} not covered"})
        elif finding in (0, 2):
            reasons.append({"code": code, "text": text})
        sum_low = {"code": "sum_too_low",
                   "text": f"protection sum insured {ps_a[i]:,.0f} is below "
                           f"{ns.sum_insured_income_multiple:g}x income "
                           f"({rec_a[i]:,.0f}): a larger sum insured is due"}
        if finding == 4:
            reasons.append(sum_low)
        if st_now_l[i] not in known and st_now_l[i] != "dependent":
            reasons.append({"code": "stage_unknown",
                            "text": "life stage unknown: record a birth date or family ties"})
        for n in miss:
            reasons.append({"code": f"missing_{n}", "text": f"no {NEED_TEXT.get(n, n)}"})
        if h and low and finding != 4:
            reasons.append(sum_low)
        if isinstance(gone_a[i], str):
            reasons.append({"code": "lapsed_cover", "text": f"{gone_a[i]}: reinstate or replace"})
        if recent_l[i]:
            reasons.append({"code": "rebuy_window",
                            "text": f"first policy {first_txt[i]} within "
                                    f"{ns.rebuy_window_years} years: clients usually buy again "
                                    "now"})
        rows.append((needs, h, miss, finding, code, reasons))
    out = pd.DataFrame(rows, columns=["needs", "held", "missing", "finding", "finding_code",
                                      "reasons"])
    out.insert(0, "client_id", ids_a)
    out.insert(1, "life_stage", st_now)
    out.insert(2, "stage_reason", now["stage_reason"].to_numpy())
    out.insert(3, "stage_then", st_then_a)
    out["finding"] = out["finding"].astype("int64")
    out["protection_sum"] = ps_a
    out["total_sum"] = ts_a
    out["recommended_sum"] = rec_a
    return out[GAP_COLUMNS].sort_values("client_id", ignore_index=True)


def agent_book(relationships: pd.DataFrame, agent_id: str,
               policies: pd.DataFrame | None = None) -> list[str]:
    """Client ids in the agent's book, sorted: the clients it is the serving agent of.

    The serving agent of a client is the source of its latest ``SERVES`` tie (by start date),
    else the servicing agent of its latest policy, the same rule as
    :meth:`graphcrm.graph.AnalysisGraph.book`: a client re-assigned to a new agent (an orphan)
    is in the new agent's book only.

    Parameters
    ----------
    relationships : DataFrame
        The store's relationships (``SERVES`` rows are used).
    agent_id : str
    policies : DataFrame, optional
        The store's policies, for clients without a SERVES tie.
    """
    is_serves = (relationships["type"] == RelType.SERVES.value).to_numpy()
    serves = relationships.loc[is_serves, ["src_id", "dst_id", "start_date"]]
    # only clients that this agent serves or serviced can be in its book
    cand = set(serves.loc[serves["src_id"].astype(str) == agent_id, "dst_id"])
    if policies is not None and len(policies):
        policies = policies[["holder_id", "servicing_agent_id", "start_date"]]
        cand |= set(policies.loc[policies["servicing_agent_id"].astype(str) == agent_id,
                                 "holder_id"])
        policies = policies[policies["holder_id"].isin(cand)]
    serves = serves[serves["dst_id"].isin(cand)]
    serves = serves.sort_values("start_date", na_position="first", kind="stable")
    serving = serves.drop_duplicates("dst_id", keep="last").set_index("dst_id")["src_id"]
    if policies is not None and len(policies):
        pol = policies.dropna(subset=["servicing_agent_id"]).sort_values(
            "start_date", na_position="first", kind="stable")
        fallback = pol.drop_duplicates("holder_id", keep="last").set_index("holder_id")[
            "servicing_agent_id"]
        serving = pd.concat([serving, fallback[~fallback.index.isin(serving.index)]])
    return sorted(str(c) for c in serving.index[serving.astype(str) == agent_id])
