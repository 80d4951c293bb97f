"""Synthetic data for a Chinese life insurer: the six ingest files, deterministic for a seed.

``graphcrm generate OUT_DIR --clients N --seed S`` writes ``agents``, ``organizations``,
``clients``, ``policies``, ``relationships`` and ``interactions`` in the templates of
:data:`graphcrm.model.TABLES` (English headers, canonical enum values, ISO dates), so that the
output ingests with zero rejects.

What the data looks like:

* people live in households: singles, couples, young families (children 0-12), mature families
  (children 13-26) and retired couples; retired couples are the parents of adults elsewhere, so
  the family graph has spouses, parents, children and siblings; ages concentrate at 26-45;
* adults work at organizations with heavy-tailed sizes (WORKS_AT + COLLEAGUE_OF within an
  employer), have friends in their city, and some own businesses (BUSINESS_TIE);
* about two thirds of people hold policies that fit their life stage and income band; the rest are
  prospects; every household is served by one agent (SERVES);
* agents (one per ~220 people) sit in teams under supervisors, branches and regions; ~8% have
  departed, so their clients are orphans;
* referrals are heavy-tailed chains (a few referrers bring many, 1-5 levels), plus deliberate
  anomalies the reward rules must exclude: referrals dated after the referee's first policy,
  a referee who was already a client, and a three-person referral cycle;
* interactions cover the three trust levels (perceived, emotional, behavioural) plus complaints
  and negative ratings, over the two years before a fixed reference date (2026-11-01).

Everything is built column-wise with NumPy (names are drawn from Faker zh_CN's own word lists,
Faker is never called per row), so 10^6 clients take about a minute and well under 2 GB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphcrm.model import TABLES, TABLES_BY_NAME

Progress = Callable[[str, int, int], None]

#: Excel's row limit per sheet (including the header row).
XLSX_MAX_ROWS = 1_048_576
#: Largest client count the id format (C + 7 digits) allows.
MAX_CLIENTS = 9_999_999


@dataclass(frozen=True)
class GeneratorSpec:
    """The shape of the synthetic data (not a product setting, so not in config.py)."""

    reference_date: str = "2026-11-01"
    #: household types: single, couple, young_family, mature_family, retired
    household_mix: tuple[float, ...] = (0.22, 0.15, 0.33, 0.15, 0.15)
    people_per_agent: int = 220
    people_per_org: int = 50
    departed_agent_share: float = 0.08
    team_size: int = 8
    holder_share: float = 0.88  # adults holding at least one policy (before lapses)
    extra_policies_mean: float = 0.8  # Poisson mean of policies beyond the first
    works_share: float = 0.85
    friend_links_per_adult: float = 0.5
    referee_share: float = 0.15
    max_referral_depth: int = 5
    interactions_per_person: float = 0.9
    chunk_rows: int = 200_000


SPEC = GeneratorSpec()

HOUSEHOLD_TYPES = ("single", "couple", "young_family", "mature_family", "retired")
SINGLE, COUPLE, YOUNG, MATURE, RETIRED = range(5)

#: (city, region, resident-ID area code, weight)
CITIES: tuple[tuple[str, str, str, float], ...] = (
    ("北京", "华北", "110105", 9), ("上海", "华东", "310115", 9), ("广州", "华南", "440106", 7),
    ("深圳", "华南", "440305", 7), ("天津", "华北", "120101", 4), ("重庆", "西南", "500103", 5),
    ("成都", "西南", "510104", 6), ("杭州", "华东", "330106", 5), ("武汉", "华中", "420106", 5),
    ("南京", "华东", "320102", 4), ("西安", "西北", "610113", 4), ("苏州", "华东", "320505", 4),
    ("郑州", "华中", "410105", 4), ("长沙", "华中", "430104", 3), ("沈阳", "东北", "210102", 3),
    ("青岛", "华东", "370202", 3), ("济南", "华东", "370102", 3), ("哈尔滨", "东北", "230102", 3),
    ("合肥", "华东", "340104", 3), ("福州", "华东", "350102", 2), ("厦门", "华东", "350203", 2),
    ("昆明", "西南", "530102", 2), ("南宁", "华南", "450103", 2), ("石家庄", "华北", "130102", 2),
    ("太原", "华北", "140105", 2), ("长春", "东北", "220102", 2), ("南昌", "华中", "360102", 2),
    ("贵阳", "西南", "520102", 2), ("兰州", "西北", "620102", 1), ("乌鲁木齐", "西北", "650102", 1),
)
INDUSTRIES = ("制造业", "信息技术", "金融", "教育", "医疗卫生", "批发零售", "建筑", "房地产",
              "交通物流", "餐饮酒店", "政府机关", "文化传媒", "能源", "农业", "咨询服务")
CHANNELS = ("缘故", "陌拜", "网络", "活动", "电话营销", "孤儿单")
CHANNEL_P = (0.35, 0.15, 0.2, 0.15, 0.1, 0.05)
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "155", "156", "157", "158", "159", "166", "176", "177", "180", "181",
                   "182", "183", "186", "187", "188", "189", "198", "199")
CATEGORIES = ("critical_illness", "medical", "accident", "life", "annuity", "education", "savings")
#: category weights per household type (order of CATEGORIES)
CATEGORY_P: dict[int, tuple[float, ...]] = {
    SINGLE: (0.30, 0.25, 0.25, 0.05, 0.05, 0.0, 0.10),
    COUPLE: (0.30, 0.15, 0.15, 0.10, 0.10, 0.0, 0.20),
    YOUNG: (0.20, 0.15, 0.15, 0.15, 0.0, 0.25, 0.10),
    MATURE: (0.20, 0.25, 0.10, 0.05, 0.20, 0.0, 0.20),
    RETIRED: (0.0, 0.30, 0.10, 0.0, 0.35, 0.0, 0.25),
}
BASE_PREMIUM = np.array([6000, 800, 300, 5000, 20000, 10000, 15000], dtype=float)
INCOME_MULT = np.array([0.5, 1.0, 3.0])
BANDS = np.array(["low", "middle", "high"], dtype=object)
INTERACTION_TYPES = ("visit", "call", "message", "social_like", "social_comment", "share_post",
                     "event", "private_talk", "private_comment", "event_family", "enquiry",
                     "purchase", "complaint")
INTERACTION_P = (0.16, 0.16, 0.14, 0.10, 0.05, 0.04, 0.05, 0.07, 0.05, 0.04, 0.08, 0.045, 0.015)
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))


class GenerateError(ValueError):
    """Arguments the generator cannot honour."""


# --------------------------------------------------------------------------- helpers


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


#: "no date" in day-number arrays (days since 1970-01-01 may be negative)
NO_DATE = -10_000_000


def _dates(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 (int, NO_DATE = blank) -> ISO strings ('' for blanks)."""
    days = np.asarray(days)
    blank = days <= NO_DATE
    out = np.datetime_as_string(np.where(blank, 0, days).astype("datetime64[D]"), unit="D")
    out = out.astype(object)
    out[blank] = ""
    return out


def _choice(rng: np.random.Generator, values: Any, size: int, p: Any = None) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    if size == 0:
        return np.empty(0, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return arr[rng.choice(len(arr), size=size, p=p)]


def _names(rng: np.random.Generator, surnames: np.ndarray, male: np.ndarray) -> np.ndarray:
    from faker.providers.person.zh_CN import Provider

    n = len(surnames)
    fm = np.asarray(Provider.first_names_male, dtype=object)
    ff = np.asarray(Provider.first_names_female, dtype=object)
    # the provider's given names already come as one or two characters
    given = np.where(male, fm[rng.integers(0, len(fm), n)], ff[rng.integers(0, len(ff), n)])
    return surnames + given


def _surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    from faker.providers.person.zh_CN import Provider

    names = np.asarray(list(Provider.last_names.keys()), dtype=object)
    w = np.asarray(list(Provider.last_names.values()), dtype=float)
    return names[rng.choice(len(names), size=n, p=w / w.sum())]


def _phones(rng: np.random.Generator, index: np.ndarray) -> np.ndarray:
    """Unique mobiles: a random carrier prefix and an 8-digit bijection of the index."""
    prefix = np.asarray(MOBILE_PREFIXES, dtype=object)[rng.integers(0, len(MOBILE_PREFIXES),
                                                                     len(index))]
    suffix = (index.astype(np.int64) * 7_654_321 + 12_345_679) % 100_000_000
    return prefix + np.char.zfill(suffix.astype(str), 8).astype(object)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a resident ID number."""
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return str(ID_CHECK[total % 11])


def _id_numbers(area: np.ndarray, birth_days: np.ndarray, male: np.ndarray) -> np.ndarray:
    """18-character resident IDs, unique: the sequence number counts within area+date+sex."""
    frame = pd.DataFrame({"a": area, "d": birth_days, "m": male})
    k = frame.groupby(["a", "d", "m"], sort=False).cumcount().to_numpy()
    seq = (2 * (k % 500) + male.astype(int)).astype(np.int64)  # odd = male, even = female
    ymd = np.char.replace(np.datetime_as_string(birth_days.astype("datetime64[D]"), unit="D"),
                          "-", "")
    body = area.astype(str) + ymd.astype(str) + np.char.zfill(seq.astype(str), 3)
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17) - 48
    check = ID_CHECK[(digits.astype(np.int64) @ ID_WEIGHTS) % 11]
    return (body.astype(object) + check.astype(object))


def _rel(src: np.ndarray, dst: np.ndarray, rtype: str, kind: Any = "", start: Any = NO_DATE,
         source: Any = "", confidence: Any = np.nan, converted: Any = "") -> pd.DataFrame:
    n = len(src)

    def col(v: Any, dtype: Any = object) -> np.ndarray:
        if isinstance(v, np.ndarray):
            return v
        return np.full(n, v, dtype=dtype)

    return pd.DataFrame({
        "src_id": src, "dst_id": dst, "type": rtype, "kind": col(kind),
        "start_date": col(start, np.int64), "source": col(source),
        "confidence": col(confidence, float), "converted": col(converted),
    })


# --------------------------------------------------------------------------- the model


def build_tables(clients: int, seed: int = 7, progress: Progress | None = None,
                 spec: GeneratorSpec = SPEC) -> dict[str, pd.DataFrame]:
    """Build the six tables in memory.

    Parameters
    ----------
    clients
        Number of people (clients and prospects) in ``clients``.
    seed
        Seed of the NumPy generator; the same seed gives the same tables.
    progress
        Optional ``progress(stage, done, total)`` callback.
    spec
        Shape parameters.

    Returns
    -------
    dict
        Table name -> DataFrame whose columns are exactly the template's ``column_names``.
    """
    if clients < 10:
        raise GenerateError(f"--clients must be at least 10, got {clients}")
    if clients > MAX_CLIENTS:
        raise GenerateError(f"--clients must be at most {MAX_CLIENTS:,}, got {clients:,}")
    rng = np.random.default_rng(seed)
    ref = int(np.datetime64(spec.reference_date, "D").astype(np.int64))
    year = 365.25
    steps = 8

    def tick(i: int) -> None:
        if progress:
            progress("build", i, steps)

    # ---------------------------------------------------------------- households
    n = clients
    mean_size = 0.22 * 1 + 0.15 * 2 + 0.48 * 3.35 + 0.15 * 1.8
    hh_n = int(n / mean_size * 1.1) + 10
    htype = rng.choice(5, size=hh_n, p=np.asarray(spec.household_mix))
    kids = np.where(rng.random(hh_n) < 0.65, 1, 2)
    size = np.select([htype == SINGLE, htype == COUPLE, htype == RETIRED],
                     [1, 2, np.where(rng.random(hh_n) < 0.8, 2, 1)], 2 + kids)
    csum = np.cumsum(size)
    keep = int(np.searchsorted(csum, n, side="right"))
    htype, size = htype[:keep], size[:keep]
    rest = n - int(size.sum())
    htype = np.concatenate([htype, np.full(rest, SINGLE)])
    size = np.concatenate([size, np.ones(rest, dtype=size.dtype)])
    hh_n = len(size)
    hh = np.repeat(np.arange(hh_n), size)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    pos = np.arange(n) - start[hh]
    ptype = htype[hh]
    is_kid = pos >= 2
    is_spouse = pos == 1

    # ages (years, float) and genders
    head_age = np.select(
        [htype == SINGLE, htype == COUPLE, htype == YOUNG, htype == MATURE],
        [np.where(rng.random(hh_n) < 0.85, rng.normal(30, 5, hh_n), rng.uniform(45, 60, hh_n)),
         rng.normal(31, 4, hh_n), rng.normal(35, 4.5, hh_n), rng.normal(50, 5, hh_n)],
        rng.uniform(60, 82, hh_n))
    lo_hi = {SINGLE: (22, 60), COUPLE: (24, 45), YOUNG: (26, 48), MATURE: (42, 60),
             RETIRED: (60, 85)}
    for t, (lo, hi) in lo_hi.items():
        m = htype == t
        head_age[m] = np.clip(head_age[m], lo, hi)
    head_male = np.where(htype == SINGLE, rng.random(hh_n) < 0.5, rng.random(hh_n) < 0.92)
    age = head_age[hh].copy()
    male = head_male[hh].copy()
    age[is_spouse] = np.clip(age[is_spouse] + rng.normal(-2, 2, is_spouse.sum()), 22, 90)
    male[is_spouse] = ~male[is_spouse]
    mother_age = head_age  # the spouses are within a few years of each other
    kid_hi = np.where(htype == YOUNG, 12.99, 26.99)
    kid_lo = np.where(htype == YOUNG, 0.0, 13.0)
    kh = hh[is_kid]
    kid_hi_k = np.minimum(kid_hi[kh], mother_age[kh] - 22)
    kid_lo_k = np.minimum(kid_lo[kh], np.maximum(kid_hi_k - 1, 0))
    age[is_kid] = kid_lo_k + rng.random(is_kid.sum()) * np.maximum(kid_hi_k - kid_lo_k, 0.5)
    male[is_kid] = rng.random(is_kid.sum()) < 0.52
    birth = (ref - age * year).astype(np.int64)

    # cities: one per household
    city_idx_h = rng.choice(len(CITIES), size=hh_n,
                            p=np.array([c[3] for c in CITIES]) / sum(c[3] for c in CITIES))
    city_idx = city_idx_h[hh]
    city_names = np.array([c[0] for c in CITIES], dtype=object)
    city_regions = np.array([c[1] for c in CITIES], dtype=object)
    city_areas = np.array([c[2] for c in CITIES])
    tick(1)

    # ---------------------------------------------------------------- family ties
    client_ids = _ids("C", n, 7)
    surname = _surnames(rng, n)
    rel_frames: list[pd.DataFrame] = []
    spouse_src = start[(size >= 2) & (htype != SINGLE)]
    rel_frames.append(_rel(client_ids[spouse_src], client_ids[spouse_src + 1], "RELATIVE_OF",
                           "spouse", source="policy", confidence=1.0))
    kid_idx = np.flatnonzero(is_kid)
    for parent_pos in (0, 1):
        par = start[hh[kid_idx]] + parent_pos
        as_child = rng.random(len(kid_idx)) < 0.2  # some sources record the child's side
        src = np.where(as_child, kid_idx, par)
        dst = np.where(as_child, par, kid_idx)
        rel_frames.append(_rel(client_ids[src], client_ids[dst], "RELATIVE_OF",
                               np.where(as_child, "child", "parent").astype(object),
                               source="policy", confidence=1.0))
    sib = kid_idx[(pos[kid_idx] == 2) & (size[hh[kid_idx]] == 4)]
    rel_frames.append(_rel(client_ids[sib], client_ids[sib + 1], "RELATIVE_OF", "sibling",
                           source="agent_note", confidence=0.9))

    # retired couples are the parents of adults elsewhere
    adult = ~is_kid & (ptype != RETIRED) & (age >= 22)
    adult_idx = np.flatnonzero(adult)
    order = adult_idx[np.argsort(age[adult_idx], kind="stable")]
    sorted_age = age[order]
    ret_h = np.flatnonzero((htype == RETIRED) & (rng.random(hh_n) < 0.75))
    young_parent_age = np.minimum(head_age[ret_h], head_age[ret_h] - 2 * (size[ret_h] == 2))
    lo = np.searchsorted(sorted_age, young_parent_age - 40)
    hi = np.searchsorted(sorted_age, young_parent_age - 22)
    ok = hi > lo
    ret_h, lo, hi = ret_h[ok], lo[ok], hi[ok]
    n_children = np.where(rng.random(len(ret_h)) < 0.4, 2, 1)
    rh = np.repeat(ret_h, n_children)
    pick = order[np.repeat(lo, n_children) + (rng.random(len(rh))
                                              * np.repeat(hi - lo, n_children)).astype(int)]
    link = pd.DataFrame({"h": rh, "c": pick}).drop_duplicates("c", keep="first")
    rh, pick = link["h"].to_numpy(), link["c"].to_numpy()
    # a son carries his father's surname, and so do his children
    son = male[pick]
    surname[pick[son]] = surname[start[rh[son]]]
    for parent_pos in (0, 1):
        has = size[rh] > parent_pos
        par = start[rh[has]] + parent_pos
        rel_frames.append(_rel(client_ids[par], client_ids[pick[has]], "RELATIVE_OF", "parent",
                               source="agent_note", confidence=0.9))
    sib_pairs = link.groupby("h")["c"].agg(["first", "last", "size"])
    sib_pairs = sib_pairs[sib_pairs["size"] == 2]
    rel_frames.append(_rel(client_ids[sib_pairs["first"].to_numpy()],
                           client_ids[sib_pairs["last"].to_numpy()], "RELATIVE_OF", "sibling",
                           source="agent_note", confidence=0.85))
    surname[is_kid] = surname[start[hh[is_kid]]]
    names = _names(rng, surname, male)
    tick(2)

    # ---------------------------------------------------------------- people attributes
    city_tier = np.where(city_idx < 4, 2, np.where(city_idx < 14, 1, 0))
    inc_u = rng.random(n) + 0.12 * city_tier
    income = np.where(inc_u > 0.92, 2, np.where(inc_u > 0.5, 1, 0))
    income[is_kid & (age < 22)] = 0
    edu = np.clip(income + rng.choice([-1, 0, 0, 1], size=n), 0, 2)
    asset = np.clip(income + (age > 40) * rng.choice([0, 1], size=n) - (age < 30), 0, 2)
    from faker.providers.job.zh_CN import Provider as Jobs

    jobs = np.asarray(Jobs.jobs, dtype=object)
    occupation = jobs[rng.integers(0, len(jobs), n)]
    occupation[(age < 22)] = "学生"
    occupation[age < 6] = ""
    occupation[ptype == RETIRED] = "退休"
    stage = np.asarray(HOUSEHOLD_TYPES, dtype=object)[ptype]
    stage[is_kid] = ""
    has_phone = age >= 16
    phone = np.where(has_phone, _phones(rng, np.arange(n)), "").astype(object)
    id_number = _id_numbers(city_areas[city_idx], birth, male)
    channel = _choice(rng, CHANNELS, n, CHANNEL_P)
    channel[is_kid] = ""

    # ---------------------------------------------------------------- agents
    n_agents = max(3, round(n / spec.people_per_agent))
    agent_city = np.sort(rng.choice(len(CITIES), size=n_agents,
                                    p=np.bincount(city_idx, minlength=len(CITIES)) / n))
    agent_ids = _ids("A", n_agents, 6)
    a_pos_city = np.arange(n_agents) - np.searchsorted(agent_city, agent_city)
    team_no = a_pos_city // spec.team_size
    leader = a_pos_city % spec.team_size == 0
    a_idx = np.arange(n_agents)
    team_leader = a_idx - a_pos_city % spec.team_size
    city_head = a_idx - a_pos_city
    supervisor = np.where(leader, np.where(a_idx == city_head, -1, city_head), team_leader)
    branch_no = team_no // 4 + 1
    branch = (city_names[agent_city] + "第" + branch_no.astype(str).astype(object) + "营业部")
    team = branch + (team_no % 4 + 1).astype(str).astype(object) + "组"
    tenure = np.where(leader, rng.uniform(5, 18, n_agents), rng.exponential(3.5, n_agents) + 0.1)
    hire = (ref - np.minimum(tenure, 18) * year).astype(np.int64)
    departed = ~leader & (tenure > 1.2) & (rng.random(n_agents) < spec.departed_agent_share / 0.75)
    if not departed.any():
        cand = np.flatnonzero(~leader & (tenure > 1.2))
        if len(cand) == 0:
            cand = np.flatnonzero(~leader) if (~leader).any() else np.array([n_agents - 1])
            hire[cand[0]] = ref - 800
        departed[cand[0]] = True
        supervisor[cand[0]] = supervisor[cand[0]] if supervisor[cand[0]] >= 0 else 0
    dep_lo = np.maximum(hire + 90, ref - 700)
    departure = np.where(departed, dep_lo + (rng.random(n_agents) * np.maximum(ref - 10 - dep_lo,
                                                                               1)).astype(int),
                         NO_DATE)
    agent_end = np.where(departed, departure, ref)
    agent_surname = _surnames(rng, n_agents)
    agent_male = rng.random(n_agents) < 0.45
    agents = pd.DataFrame({
        "agent_id": agent_ids,
        "name": _names(rng, agent_surname, agent_male),
        "team": team, "branch": branch,
        "region": city_regions[agent_city],
        "hire_date": _dates(hire),
        "status": np.where(departed, "departed", "active").astype(object),
        "departure_date": _dates(departure),
        "supervisor_id": np.where(supervisor >= 0, agent_ids[np.maximum(supervisor, 0)], ""),
        "phone": _phones(rng, np.arange(n, n + n_agents)),
    })
    # one agent per household, from the household's city when the city has agents
    c_lo = np.searchsorted(agent_city, np.arange(len(CITIES)))
    c_hi = np.searchsorted(agent_city, np.arange(len(CITIES)), side="right")
    h_lo, h_hi = c_lo[city_idx_h], c_hi[city_idx_h]
    none = h_hi == h_lo
    h_lo[none], h_hi[none] = 0, n_agents
    hh_agent = h_lo + (rng.random(hh_n) * (h_hi - h_lo)).astype(int)
    person_agent = hh_agent[hh]
    tick(3)

    # ---------------------------------------------------------------- policies
    holder = (~is_kid | (age >= 24)) & (age >= 20) & (rng.random(n) < spec.holder_share)
    holder_idx = np.flatnonzero(holder)
    per = 1 + rng.poisson(spec.extra_policies_mean, len(holder_idx))
    p_holder = np.repeat(holder_idx, per)
    n_pol = len(p_holder)
    p_type = ptype[p_holder]
    cat = np.empty(n_pol, dtype=np.int64)
    for t, weights in CATEGORY_P.items():
        m = p_type == t
        cat[m] = rng.choice(len(CATEGORIES), size=int(m.sum()), p=np.asarray(weights))
    # insured: a child for education (and some accident), a spouse sometimes, else the holder
    p_hh = hh[p_holder]
    n_kids = np.maximum(size[p_hh] - 2, 0) * (htype[p_hh] != RETIRED) * (htype[p_hh] != SINGLE)
    for_kid = ((cat == 5) | ((cat == 2) & (rng.random(n_pol) < 0.4))) & (n_kids > 0)
    cat[(cat == 5) & (n_kids == 0)] = 6
    kid_pick = start[p_hh] + 2 + (rng.random(n_pol) * np.maximum(n_kids, 1)).astype(int)
    has_spouse = (size[p_hh] >= 2) & (htype[p_hh] != SINGLE) & (pos[p_holder] <= 1)
    for_spouse = ~for_kid & has_spouse & np.isin(cat, (0, 3)) & (rng.random(n_pol) < 0.15)
    spouse_of = start[p_hh] + 1 - pos[p_holder]
    insured = np.where(for_kid, kid_pick, np.where(for_spouse, spouse_of, -1))
    income_mult = INCOME_MULT[income[p_holder]]
    premium = np.round(BASE_PREMIUM[cat] * income_mult * rng.lognormal(0, 0.4, n_pol), -1)
    premium = np.maximum(premium, 100).astype(np.int64)
    si_mult = np.array([50, 2500, 1500, 20, 10, 10, 8])[cat]
    sum_insured = np.round(premium * si_mult, -3).astype(np.int64)
    p_agent = person_agent[p_holder]
    lo_d = np.maximum.reduce([hire[p_agent] + 1, birth[p_holder] + int(20 * year),
                              np.full(n_pol, ref - int(12 * year))])
    lo_d = np.where(insured >= 0, np.maximum(lo_d, birth[np.maximum(insured, 0)] + 30), lo_d)
    hi_d = agent_end[p_agent] - 1
    p_start = np.where(hi_d > lo_d, lo_d + (rng.random(n_pol) * (hi_d - lo_d)).astype(np.int64),
                       hi_d)
    # an agent who left before a child was born cannot have insured the child: the holder's own
    unborn = (insured >= 0) & (p_start < birth[np.maximum(insured, 0)])
    cat[unborn & (cat == 5)] = 6
    insured[unborn] = -1
    p_status = _choice(rng, ("in_force", "lapsed", "surrendered"), n_pol, (0.86, 0.09, 0.05))
    # the first policy of a holder is the earliest; sort so that policy ids follow holder, date
    porder = np.lexsort((p_start, p_holder))
    p_holder, cat, insured, premium, sum_insured = (p_holder[porder], cat[porder],
                                                    insured[porder], premium[porder],
                                                    sum_insured[porder])
    p_start, p_status, p_agent = p_start[porder], p_status[porder], p_agent[porder]
    first_row = np.concatenate([[True], p_holder[1:] != p_holder[:-1]])
    first_start = np.full(n, -1, dtype=np.int64)
    first_start[p_holder[first_row]] = p_start[first_row]
    second_start = np.full(n, -1, dtype=np.int64)
    sec_row = np.flatnonzero(~first_row)
    sec_row = sec_row[first_row[sec_row - 1]]
    second_start[p_holder[sec_row]] = p_start[sec_row]
    in_force = np.zeros(n, dtype=bool)
    in_force[p_holder[p_status == "in_force"]] = True
    tick(4)

    # ---------------------------------------------------------------- employers and friends
    n_orgs = max(5, n // spec.people_per_org)
    org_ids = _ids("O", n_orgs, 6)
    org_city = np.sort(rng.choice(len(CITIES), size=n_orgs,
                                  p=np.bincount(city_idx, minlength=len(CITIES)) / n))
    from faker.providers.company.zh_CN import Provider as Companies

    prefixes = np.asarray(Companies.company_prefixes, dtype=object)
    suffixes = np.asarray(Companies.company_suffixes, dtype=object)
    org_industry = _choice(rng, INDUSTRIES, n_orgs)
    org_names = (city_names[org_city] + prefixes[rng.integers(0, len(prefixes), n_orgs)]
                 + np.where(rng.random(n_orgs) < 0.5,
                            suffixes[rng.integers(0, len(suffixes), n_orgs)],
                            org_industry + "有限公司"))
    orgs = pd.DataFrame({"org_id": org_ids, "name": org_names, "industry": org_industry,
                         "city": city_names[org_city]})
    org_w = rng.pareto(1.1, n_orgs) + 0.05
    org_cw = np.cumsum(org_w)
    o_lo = np.searchsorted(org_city, np.arange(len(CITIES)))
    o_hi = np.searchsorted(org_city, np.arange(len(CITIES)), side="right")
    worker = np.flatnonzero(adult & (age < 60) & (rng.random(n) < spec.works_share))
    wl, wh = o_lo[city_idx[worker]], o_hi[city_idx[worker]]
    empty = wh == wl
    wl[empty], wh[empty] = 0, n_orgs
    base = np.where(wl > 0, org_cw[np.maximum(wl - 1, 0)], 0.0)
    u = base + rng.random(len(worker)) * (org_cw[wh - 1] - base)
    employer = np.minimum(np.searchsorted(org_cw, u, side="right"), n_orgs - 1)
    employer = np.clip(employer, wl, wh - 1)
    works_since = np.maximum(birth[worker] + int(22 * year),
                             ref - (rng.exponential(5, len(worker)) * year).astype(np.int64))
    rel_frames.append(_rel(client_ids[worker], org_ids[employer], "WORKS_AT",
                           start=works_since, source="agent_note", confidence=0.95))
    w_order = np.lexsort((rng.random(len(worker)), employer))
    ws, es = worker[w_order], employer[w_order]
    for gap, p in ((1, 0.6), (2, 0.15)):
        same = (es[gap:] == es[:-gap]) & (rng.random(max(len(ws) - gap, 0)) < p)
        rel_frames.append(_rel(client_ids[ws[:-gap][same]], client_ids[ws[gap:][same]],
                               "COLLEAGUE_OF", source="agent_note", confidence=0.8))
    # friends: adults in the same city, of similar age
    f_order = adult_idx[np.lexsort((rng.random(len(adult_idx)), (age[adult_idx] // 8),
                                    city_idx[adult_idx]))]
    k = len(f_order)
    for gap in (1, 3, 7):
        if k <= gap:
            continue
        a, b = f_order[:-gap], f_order[gap:]
        ok = (city_idx[a] == city_idx[b]) & (hh[a] != hh[b]) & (
            rng.random(k - gap) < spec.friend_links_per_adult / 3)
        rel_frames.append(_rel(client_ids[a[ok]], client_ids[b[ok]], "FRIEND_OF",
                               source="wechat", confidence=np.round(
                                   rng.uniform(0.5, 1.0, int(ok.sum())), 2)))
    # business ties: org-org within a city and business owners with organizations
    bt_n = n_orgs
    a = rng.integers(0, n_orgs, bt_n)
    b = np.clip(a + rng.integers(1, 30, bt_n), 0, n_orgs - 1)
    ok = (a != b) & ~pd.DataFrame({"a": a, "b": b}).duplicated().to_numpy()
    kinds = _choice(rng, ("customer", "supplier", "partner", "alliance"), bt_n,
                    (0.35, 0.35, 0.2, 0.1))
    rel_frames.append(_rel(org_ids[a[ok]], org_ids[b[ok]], "BUSINESS_TIE", kinds[ok],
                           source="agent_note", confidence=0.8))
    owners = adult_idx[(income[adult_idx] == 2) & (rng.random(len(adult_idx)) < 0.15)]
    rel_frames.append(_rel(client_ids[owners], org_ids[rng.integers(0, n_orgs, len(owners))],
                           "BUSINESS_TIE", _choice(rng, ("customer", "supplier", "partner"),
                                                   len(owners)),
                           source="agent_note", confidence=0.7))
    tick(5)

    # ---------------------------------------------------------------- referrals
    h_first = first_start >= 0
    book = np.flatnonzero(h_first)
    book = book[np.lexsort((book, first_start[book], person_agent[book]))]
    b_agent = person_agent[book]
    g_start = np.searchsorted(b_agent, b_agent)
    b_pos = np.arange(len(book)) - g_start
    is_ref = (b_pos >= 1) & (rng.random(len(book)) < spec.referee_share)
    r_pos = (b_pos[is_ref] * rng.random(int(is_ref.sum())) ** 3).astype(int)
    referee = book[is_ref]
    referrer = book[g_start[is_ref] + r_pos]
    # a third of referees were introduced by the previous referee of the same agent: chains
    prev_same = np.concatenate([[False], b_agent[is_ref][1:] == b_agent[is_ref][:-1]])
    chain = prev_same & (rng.random(len(referee)) < 0.35)
    referrer[chain] = referee[np.flatnonzero(chain) - 1]
    ok = hh[referee] != hh[referrer]
    referee, referrer = referee[ok], referrer[ok]
    # cap the chains at max_referral_depth levels
    parent = np.full(n, -1, dtype=np.int64)
    parent[referee] = referrer
    for _ in range(10):
        depth = np.zeros(n, dtype=np.int64)
        cur = np.arange(n)
        for _level in range(spec.max_referral_depth + 1):
            cur = np.where(cur >= 0, parent[np.maximum(cur, 0)], -1)
            depth += cur >= 0
        too_deep = depth > spec.max_referral_depth
        if not too_deep.any():
            break
        parent[too_deep] = -1
    referee = np.flatnonzero(parent >= 0)
    referrer = parent[referee]
    gap_days = np.minimum(120, first_start[referee] - first_start[referrer])
    r_date = first_start[referee] - (rng.random(len(referee)) * gap_days).astype(np.int64) - (
        gap_days > 1)
    converted = np.where(in_force[referee], "true", "false").astype(object)
    # anomalies the reward rules must exclude
    n_anom = max(1, len(referee) // 2000)
    if len(referee):
        late = rng.choice(len(referee), size=min(n_anom, len(referee)), replace=False)
        r_date[late] = first_start[referee[late]] + rng.integers(5, 40, len(late))
    used = np.zeros(n, dtype=bool)
    used[referee] = True
    used[referrer] = True
    extra_src: list[int] = []
    extra_dst: list[int] = []
    extra_date: list[int] = []
    # a referee who was already a client: referred between the first and second policy
    already = np.flatnonzero(~used & (second_start - first_start > 200))
    already = already[: max(1, n_anom)]
    roots = np.flatnonzero(h_first & ~used)
    for person in already:
        same_agent = roots[(person_agent[roots] == person_agent[person]) & (hh[roots] != hh[person])
                           & (roots != person)]
        if len(same_agent) == 0:
            continue
        extra_src.append(int(same_agent[0]))
        extra_dst.append(int(person))
        extra_date.append(int(first_start[person] + (second_start[person] - first_start[person])
                              // 2))
        used[person] = used[same_agent[0]] = True
    # a three-person referral cycle
    free = np.flatnonzero(h_first & ~used)
    if len(free) >= 3:
        trio = free[:3]
        for i in range(3):
            a_, b_ = int(trio[i]), int(trio[(i + 1) % 3])
            extra_src.append(a_)
            extra_dst.append(b_)
            extra_date.append(int(first_start[b_] - 10))
    # referrals of prospects (not converted yet)
    pro = adult_idx[~h_first[adult_idx] & (rng.random(len(adult_idx)) < 0.1)]
    pa = person_agent[pro]
    bl = np.searchsorted(b_agent, pa)
    bh = np.searchsorted(b_agent, pa, side="right")
    okp = bh > bl
    pro, bl, bh = pro[okp], bl[okp], bh[okp]
    pro_ref = book[bl + (rng.random(len(pro)) ** 2 * (bh - bl)).astype(int)]
    okp = hh[pro_ref] != hh[pro]
    pro, pro_ref = pro[okp], pro_ref[okp]
    pro_date = np.maximum(first_start[pro_ref] + 1, ref - rng.integers(1, 365, len(pro)))
    pro_date = np.minimum(pro_date, ref - 1)
    ex_src, ex_dst = np.asarray(extra_src, dtype=np.int64), np.asarray(extra_dst, dtype=np.int64)
    all_src = np.concatenate([referrer, ex_src, pro_ref])
    all_dst = np.concatenate([referee, ex_dst, pro])
    all_date = np.concatenate([r_date, np.asarray(extra_date, dtype=np.int64), pro_date])
    all_conv = np.concatenate([converted, np.full(len(ex_src), "true", dtype=object),
                               np.full(len(pro), "false", dtype=object)])
    rel_frames.append(_rel(client_ids[all_src], client_ids[all_dst], "REFERRED",
                           start=all_date, source="referral_form", confidence=1.0,
                           converted=all_conv))
    channel[all_dst] = "转介绍"
    tick(6)

    # ---------------------------------------------------------------- serves, clients table
    served = in_force | (adult & (rng.random(n) < 0.3)) | h_first
    s_idx = np.flatnonzero(served)
    s_start = np.where(first_start[s_idx] >= 0, first_start[s_idx],
                       np.maximum(hire[person_agent[s_idx]] + 1,
                                  agent_end[person_agent[s_idx]]
                                  - rng.integers(1, 700, len(s_idx))))
    serves = _rel(agent_ids[person_agent[s_idx]], client_ids[s_idx], "SERVES", start=s_start,
                  source="policy", confidence=1.0)
    rel_frames.insert(0, serves)
    rels = pd.concat(rel_frames, ignore_index=True)
    # safety net: the construction above makes neither self-ties nor duplicate keys
    keep_rows = (rels["src_id"] != rels["dst_id"]) & ~rels.duplicated(["type", "src_id", "dst_id"])
    if not keep_rows.all():
        rels = rels[keep_rows].reset_index(drop=True)
    rels["start_date"] = _dates(rels["start_date"].to_numpy())
    rels = rels.reindex(columns=list(TABLES_BY_NAME["relationships"].column_names))

    clients_df = pd.DataFrame({
        "client_id": client_ids, "name": names,
        "gender": np.where(male, "M", "F").astype(object),
        "birth_date": _dates(birth), "age": "",
        "phone": phone, "id_number": id_number,
        "city": city_names[city_idx], "region": city_regions[city_idx],
        "occupation": occupation,
        "income_band": BANDS[income], "education_band": BANDS[edu], "asset_band": BANDS[asset],
        "life_stage": stage, "source_channel": channel,
        "status": np.where(in_force, "client", "prospect").astype(object),
    })
    policies = pd.DataFrame({
        "policy_id": _ids("P", n_pol, 8),
        "holder_id": client_ids[p_holder],
        "insured_id": np.where(insured >= 0, client_ids[np.maximum(insured, 0)], ""),
        "category": np.asarray(CATEGORIES, dtype=object)[cat],
        "annual_premium": premium, "sum_insured": sum_insured,
        "start_date": _dates(p_start), "status": p_status,
        "writing_agent_id": agent_ids[p_agent], "servicing_agent_id": agent_ids[p_agent],
    })
    tick(7)

    # ---------------------------------------------------------------- interactions
    n_int = int(n * spec.interactions_per_person)
    pick = rng.integers(0, len(s_idx), n_int)
    i_client = s_idx[pick]
    i_agent = person_agent[i_client]
    i_type = rng.choice(len(INTERACTION_TYPES), size=n_int, p=np.asarray(INTERACTION_P))
    purchase = INTERACTION_TYPES.index("purchase")
    i_type[(i_type == purchase) & ~h_first[i_client]] = INTERACTION_TYPES.index("enquiry")
    window_lo = np.maximum(ref - 730, hire[i_agent] + 1)
    window_hi = agent_end[i_agent]
    i_date = window_lo + (rng.random(n_int) * np.maximum(window_hi - window_lo, 1)).astype(
        np.int64)
    i_order = np.lexsort((i_client, i_date))
    i_client, i_agent, i_type, i_date = (i_client[i_order], i_agent[i_order], i_type[i_order],
                                         i_date[i_order])
    types = np.asarray(INTERACTION_TYPES, dtype=object)[i_type]
    outcome = _choice(rng, ("顺利", "待跟进", "无回应"), n_int, (0.6, 0.3, 0.1))
    outcome[types == "purchase"] = "已成交"
    outcome[types == "complaint"] = "投诉待处理"
    rating = np.where(rng.random(n_int) < 0.25, rng.integers(5, 11, n_int), 0)
    negative = (types == "complaint") | ((types == "visit") & (rng.random(n_int) < 0.01))
    rating = np.where(negative, -rng.integers(1, 9, n_int), rating)
    interactions = pd.DataFrame({
        "interaction_id": _ids("I", n_int, 9),
        "agent_id": agent_ids[i_agent], "client_id": client_ids[i_client],
        "type": types, "date": _dates(i_date), "outcome": outcome,
        "rating": pd.array(np.where(rating != 0, rating, 0), dtype="Int64"),
        "note": None,
    })
    interactions.loc[rating == 0, "rating"] = pd.NA
    tick(8)
    tables = {"agents": agents, "organizations": orgs, "clients": clients_df,
              "policies": policies, "relationships": rels, "interactions": interactions}
    for name, frame in tables.items():
        expected = list(TABLES_BY_NAME[name].column_names)
        assert list(frame.columns) == expected, (name, list(frame.columns))
    return tables


def write_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path, fmt: str = "csv",
                 progress: Progress | None = None, chunk_rows: int = SPEC.chunk_rows
                 ) -> dict[str, Path]:
    """Write the tables as ``<name>.csv`` (UTF-8, ``\\n`` line ends) or ``<name>.xlsx``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for table in TABLES:
        frame = tables[table.name]
        if fmt == "xlsx":
            path = out / f"{table.name}.xlsx"
            frame.to_excel(path, index=False, sheet_name=table.name)
            if progress:
                progress(table.name, len(frame), len(frame))
        else:
            path = out / f"{table.name}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                if len(frame) == 0:
                    frame.to_csv(fh, index=False, lineterminator="\n")
                for i in range(0, len(frame), chunk_rows):
                    frame.iloc[i:i + chunk_rows].to_csv(fh, index=False, header=i == 0,
                                                        lineterminator="\n")
                    if progress:
                        progress(table.name, min(i + chunk_rows, len(frame)), len(frame))
        paths[table.name] = path
    return paths


def generate(out_dir: str | Path, clients: int, seed: int = 7, fmt: str = "csv",
             progress: Progress | None = None) -> dict[str, Path]:
    """Generate the six files for ``clients`` people into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing; existing files of the same names are replaced).
    clients
        Number of people in ``clients`` (clients and prospects), 10 to 9,999,999.
    seed
        Random seed; the same seed and count give byte-identical files.
    fmt
        ``"csv"`` (default) or ``"xlsx"`` (small data only: Excel holds 1,048,576 rows a sheet).
    progress
        Optional ``progress(stage, done, total)`` callback; stage is ``"build"`` or a file name.

    Returns
    -------
    dict
        Table name -> path written.

    Examples
    --------
    >>> paths = generate("/tmp/crm", 1000, seed=7)  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['agents', 'clients', 'interactions', 'organizations', 'policies', 'relationships']
    """
    if fmt not in ("csv", "xlsx"):
        raise GenerateError(f"format must be csv or xlsx, got {fmt!r}")
    tables = build_tables(clients, seed, progress)
    if fmt == "xlsx":
        too_big = {k: len(v) for k, v in tables.items() if len(v) + 1 > XLSX_MAX_ROWS}
        if too_big:
            name, rows = next(iter(too_big.items()))
            raise GenerateError(
                f"{name} would have {rows:,} rows, more than Excel's {XLSX_MAX_ROWS:,} rows per "
                f"sheet; use --format csv or fewer --clients")
    return write_tables(tables, out_dir, fmt, progress)
