"""An agent's weekly visit calendar (拜访计划), planned the way the material says.

The week's visit slots (``calendar.workdays`` days x ``calendar.visit_times``) are filled in
this order, each client at most once:

1. **quadrant I A clients at fixed times** (pamper, ABC class A): each client's day and time
   come from its id (``h`` = the first 8 hex digits of sha1(id) as an integer: day
   ``h mod workdays``, time ``(h div workdays) mod len(visit_times)``; the next free time when
   two collide), so they are the same every week; highlighted;
2. **missed visits of last week first** among the rest: a visit planned last week (by these
   same rules) with no interaction of the agent with that client during last week;
3. **orphan visits due**: the three-visit plan's open visits due by the week's end, overdue
   first;
4. **quadrant III A clients 2-3 days before a company event** of their region (or an event
   without a region), from the events table (date, name, region);
5. **quadrant II A/B clients grouped by region per day**: the biggest region first, one region
   per day, spilling to the next day;
6. **quadrant IV A/B clients at a fixed weekly contact time** (a call or message of
   ``calendar.contact_minutes`` between ``contact_time`` and ``contact_until``, on a working day
   fixed per client by its id like quadrant I's, the next day when that one is full): they do
   not use visit slots.

Quadrant numbers (I = pamper, II = cultivate, III = develop, IV = maintain) and the ABC classes
planned per quadrant are settings. Each slot names the client, the reason and the experience
the client's quadrant gets (the ☆ key experiences of the experience matrix, else the √ ones).
Clients that found no free slot are returned too, with ``planned`` False.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import scipy.sparse as sp
from icalendar import Calendar, Event

from graphcrm.config import Settings
from graphcrm.errors import UnknownIdError
from graphcrm.fieldwork.orphans import non_agent_ties
from graphcrm.fieldwork.visits import iso_week
from graphcrm.graph import AnalysisGraph, ranges
from graphcrm.metrics.needs import FINDINGS, coverage_gaps
from graphcrm.metrics.opmap import client_tiers
from graphcrm.metrics.tiers import MARK_MEANING, experience_plan

SLOT_COLUMNS = ["day", "start", "end", "kind", "client_id", "client_name", "region",
                "quadrant", "abc", "reason", "experience", "highlight", "planned",
                "reason_code", "reason_args", "gap"]

#: ``reason_code`` of a slot: why it is in the week (``reason_args`` holds its values; the
#: readable sentence in each language is built by :mod:`graphcrm.fieldwork.words`)
REASON_CODES = ("q1_fixed", "carried_over", "orphan_visit", "before_event", "q2_region",
                "q4_contact", "q4_no_room")

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _stable(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16)


def quadrant_experience(quadrant: str, settings: Settings) -> str:
    """What a quadrant gets: its ☆ key experiences, else the √ ones (``a, b``)."""
    plan = experience_plan(quadrant, settings)
    key = [e for e, m in plan.items() if m == "☆"]
    give = [e for e, m in plan.items() if m == "√"]
    chosen = key or give
    return ", ".join(chosen) + (f" ({MARK_MEANING['☆']})" if key else "")


def _family_index(ag: AnalysisGraph) -> dict[str, object]:
    """Cached lookups for :func:`_family_frames`: RELATIVE_OF ties as a symmetric CSR matrix over
    the client positions, and each person's policy rows (as holder or insured)."""
    hit = ag._cache.get("fieldwork_family")
    if hit is not None:
        return hit
    people = pd.Index(ag.clients.index)
    r = ag.relationships
    fam = r.loc[(r["type"] == "RELATIVE_OF").to_numpy()].reset_index(drop=True)
    a = people.get_indexer(fam["src_id"])
    b = people.get_indexer(fam["dst_id"])
    ok = (a >= 0) & (b >= 0)
    n = len(people)
    adj = sp.csr_matrix((np.ones(2 * int(ok.sum())), (np.r_[a[ok], b[ok]], np.r_[b[ok], a[ok]])),
                        shape=(n, n))
    pol = ag.policies
    who = np.r_[people.get_indexer(pol["holder_id"]), people.get_indexer(pol["insured_id"])]
    rows = np.r_[np.arange(len(pol)), np.arange(len(pol))]
    keep = who >= 0
    by_person = sp.csr_matrix((np.ones(int(keep.sum())), (who[keep], rows[keep])),
                              shape=(n, len(pol)))
    hit = {"people": people, "fam": fam, "adj": adj, "by_person": by_person, "src": a,
           "dst": b}
    ag._cache["fieldwork_family"] = hit
    return hit


def _family_frames(ag: AnalysisGraph, client_ids: list[str]
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clients, policies and RELATIVE_OF ties of ``client_ids`` and their relatives up to two
    ties away: all that the life stage and the family's cover of those clients depend on, so
    the gaps of a book are computed on a few hundred rows instead of the whole store."""
    idx = _family_index(ag)
    people: pd.Index = idx["people"]  # type: ignore[assignment]
    adj: sp.csr_matrix = idx["adj"]  # type: ignore[assignment]
    pos = people.get_indexer(pd.Index(client_ids))
    pos = np.unique(pos[pos >= 0])
    near = pos
    for _ in range(2):
        nb = adj.indices[ranges(adj.indptr[near], adj.indptr[near + 1] - adj.indptr[near])]
        near = np.union1d(near, nb)
    by_person: sp.csr_matrix = idx["by_person"]  # type: ignore[assignment]
    pol_rows = np.unique(by_person[near].indices)
    clients = ag.clients.iloc[near].reset_index(drop=True)
    policies = ag.policies.iloc[pol_rows].reset_index(drop=True)
    fam: pd.DataFrame = idx["fam"]  # type: ignore[assignment]
    inside = np.zeros(len(people) + 1, dtype=bool)  # the last entry: an id not a client
    inside[near] = True
    src: np.ndarray = idx["src"]  # type: ignore[assignment]
    dst: np.ndarray = idx["dst"]  # type: ignore[assignment]
    rels = fam.loc[inside[src] & inside[dst]]
    return clients, policies, rels


def gap_findings(ag: AnalysisGraph, client_ids: list[str], as_of: date) -> dict[str, str]:
    """The coverage-gap finding of each client that has one (graphcrm.metrics.needs), as the
    reason to visit added to a slot; clients whose cover fits unchanged needs are left out.
    Computed on the clients' families only (:func:`_family_frames`)."""
    if not client_ids:
        return {}
    clients, policies, rels = _family_frames(ag, client_ids)
    gaps = coverage_gaps(clients, policies, rels, as_of, ag.settings, client_ids=client_ids)
    keep = gaps.loc[gaps["finding"] != 2]  # 2: cover fits and needs are unchanged
    return {c: FINDINGS[int(f)][1] for c, f in zip(keep["client_id"], keep["finding"],
                                                   strict=True)}


def add_findings(plan: pd.DataFrame, findings: dict[str, str]) -> pd.DataFrame:
    """``plan`` with each client's coverage-gap finding appended to the slot's reason."""
    out = plan.copy()
    out["reason"] = [r if c not in findings else f"{r}; coverage gap: {findings[c]}"
                     for c, r in zip(out["client_id"], out["reason"], strict=True)]
    codes = {text: code for code, text in FINDINGS.values()}
    out["gap"] = [codes.get(findings[c], findings[c]) if c in findings else None
                  for c in out["client_id"]]
    return out


def _interactions_of(ag: AnalysisGraph, agent_id: str) -> pd.DataFrame:
    """The agent's interactions, through a cached agent -> row positions lookup (comparing the
    whole interactions column with one id cost a pass over 10^6 rows on every plan)."""
    rows = ag._cache.get("fieldwork_interactions_by_agent")
    if rows is None:
        inter = ag.interactions
        rows = (pd.Series(np.arange(len(inter)), dtype=np.int64)
                .groupby(inter["agent_id"].to_numpy(), sort=False).indices if len(inter) else {})
        ag._cache["fieldwork_interactions_by_agent"] = rows
    return ag.interactions.iloc[rows.get(agent_id, np.zeros(0, dtype=np.int64))]


def warm(ag: AnalysisGraph) -> None:
    """Build the lookups the calendar and the orphan proposal use, so the first call after an
    ingest (and the snapshot) has them."""
    _family_index(ag)
    non_agent_ties(ag)
    _interactions_of(ag, "")


def read_events(path: str) -> pd.DataFrame:
    """A small events file (CSV or XLSX): ``date, name, region`` (or 日期, 名称, 区域).

    Raises
    ------
    ValueError
        A missing column or a bad date, naming the file and row.
    """
    p = str(path)
    frame = pd.read_excel(p, dtype=str) if p.lower().endswith((".xlsx", ".xls")) else \
        pd.read_csv(p, dtype=str, encoding="utf-8-sig")
    frame = frame.rename(columns={"日期": "date", "名称": "name", "活动": "name",
                                  "区域": "region"})
    for col in ("date", "name"):
        if col not in frame:
            raise ValueError(f"{p}: missing column {col!r} (date, name, region)")
    if "region" not in frame:
        frame["region"] = None
    days = []
    for i, text in enumerate(frame["date"], start=2):
        try:
            days.append(date.fromisoformat(str(text).strip()).isoformat())
        except ValueError:
            raise ValueError(f"{p}: row {i}, column date: {text!r} is not a date "
                             "(YYYY-MM-DD)") from None
    frame["date"] = days
    frame["region"] = frame["region"].where(frame["region"].notna(), None)
    return frame[["date", "name", "region"]]


class _Grid:
    """Free visit slots of the week."""

    def __init__(self, days: list[date], times: tuple[str, ...]) -> None:
        self.days = days
        self.times = times
        self.taken: dict[tuple[int, int], bool] = {}

    def take(self, day: int, slot: int | None = None) -> tuple[int, int] | None:
        """The first free slot of ``day`` from ``slot`` on (then from the start), or None."""
        order = list(range(len(self.times)))
        if slot is not None:
            order = order[slot:] + order[:slot]
        for s in order:
            if not self.taken.get((day, s)):
                self.taken[(day, s)] = True
                return day, s
        return None

    def first_free(self, days: list[int]) -> tuple[int, int] | None:
        for d in days:
            got = self.take(d)
            if got is not None:
                return got
        return None


def _end(start: str, minutes: int) -> str:
    t = datetime.strptime(start, "%H:%M") + timedelta(minutes=minutes)
    return t.strftime("%H:%M")


def week_plan(ag: AnalysisGraph, agent_id: str, week: str, *,
              events: pd.DataFrame | None = None, due: pd.DataFrame | None = None,
              carry_over: bool = True, _book: tuple[pd.Index, pd.DataFrame] | None = None
              ) -> pd.DataFrame:
    """Plan one agent's week.

    Parameters
    ----------
    ag : AnalysisGraph
    agent_id : str
    week : str
        ``YYYY-Www``.
    events : DataFrame, optional
        ``date, name, region`` (:func:`read_events`).
    due : DataFrame, optional
        The agent's open orphan visits (:func:`graphcrm.fieldwork.visits.visit_status` rows
        with status ``due`` / ``overdue`` / ``planned``), any week; those due by the week's
        end are planned.
    carry_over : bool
        Plan last week too and put its missed visits first.

    Returns
    -------
    DataFrame
        ``SLOT_COLUMNS``, by day and start (unplanned clients last): ``kind`` is ``visit`` or
        ``contact``; ``quadrant`` the roman numeral; ``highlight`` marks quadrant I;
        ``reason`` is English, ``reason_code`` / ``reason_args`` the same reason as a code of
        :data:`REASON_CODES` and its values (worded in either language by
        :mod:`graphcrm.fieldwork.words`); ``gap`` is filled by :func:`add_findings`.

    Raises
    ------
    graphcrm.metrics.UnknownIdError
        ``agent_id`` is not an agent.
    ValueError
        ``week`` is not ``YYYY-Www``.
    """
    if agent_id not in ag.agents.index:
        raise UnknownIdError(agent_id, "agent")
    s = ag.settings
    c = s.calendar
    monday, sunday = iso_week(week)
    days = [monday + timedelta(days=i) for i in range(max(1, min(7, c.workdays)))]
    grid = _Grid(days, tuple(c.visit_times))
    if _book is None:  # the agent's clients with quadrant and ABC (shared with last week's plan)
        book = pd.Index(ag.book(agent_id))
        book = book[ag.clients.index.get_indexer(book) >= 0]  # the index's own hash table
        _book = (book, client_tiers(ag).reindex(book))
    book, tiers = _book
    qnum = tiers["quadrant"].map(c.quadrant_numbers)
    abc = tiers["abc"]
    regions = ag.clients["region"].reindex(book)
    names = ag.clients["name"].reindex(book)
    rows: list[dict[str, object]] = []
    done: set[str] = set()

    def wants(q: int) -> pd.Index:
        classes = c.abc_per_quadrant.get(str(q), [])
        return book[(qnum == q).to_numpy() & abc.isin(classes).to_numpy()].sort_values()

    def add(cid: str, where: tuple[int, int] | None, reason: str, experience: str,
            q: int | None, kind: str = "visit", start: str | None = None,
            end: str | None = None, day: date | None = None,
            why: tuple[str, dict[str, object]] = ("", {})) -> None:
        if where is not None:
            day = days[where[0]]
            start = c.visit_times[where[1]]
            end = _end(start, c.visit_minutes)
        rows.append({
            "day": None if day is None else day.isoformat(), "start": start, "end": end,
            "kind": kind, "client_id": cid,
            "client_name": names.get(cid, ag.clients["name"].get(cid)),
            "region": regions.get(cid, ag.clients["region"].get(cid)),
            "quadrant": ROMAN.get(q) if q else None,
            "abc": abc.get(cid, None),
            "reason": reason,
            "experience": experience, "highlight": q == 1,
            "planned": day is not None,
            "reason_code": why[0], "reason_args": why[1], "gap": None,
        })
        done.add(cid)

    def qexp(cid: str) -> str:
        quad = tiers["quadrant"].get(cid)
        return quadrant_experience(quad, s) if isinstance(quad, str) else "routine_service"

    def qof(cid: str) -> int | None:
        v = qnum.get(cid)
        return None if v is None or pd.isna(v) else int(v)

    # 1. quadrant I A: fixed times
    for cid in wants(1):
        if cid in done:
            continue
        h = _stable(cid)
        d0, s0 = h % len(days), (h // len(days)) % len(c.visit_times)
        where = grid.take(d0, s0) or grid.first_free(list(range(len(days))))
        add(cid, where, "quadrant I A: fixed weekly time", qexp(cid), 1, why=("q1_fixed", {}))

    # 2. missed visits of last week
    if carry_over:
        prev = week_plan(ag, agent_id, _shift(week, -1), events=events, due=due,
                         carry_over=False, _book=_book)
        prev = prev.loc[(prev["kind"] == "visit") & prev["planned"].astype(bool)]
        pm, ps = iso_week(_shift(week, -1))
        mine = _interactions_of(ag, agent_id)[["client_id", "date"]]
        when = mine["date"].astype(str).str.slice(0, 10)
        met = set(mine.loc[when.between(pm.isoformat(), ps.isoformat()).to_numpy(),
                           "client_id"])
        for r in prev.itertuples(index=False):
            if r.client_id in met or r.client_id in done:
                continue
            add(r.client_id, grid.first_free(list(range(len(days)))),
                f"carried over: missed on {r.day} ({r.reason})", str(r.experience),
                qof(r.client_id), why=("carried_over", {"day": r.day, "was": r.reason_code,
                                                        "was_args": r.reason_args}))

    # 3. orphan visits due by the week's end
    if due is not None and len(due):
        open_ = due.loc[due["status"].isin(["due", "overdue", "planned"])
                        & (due["due"] <= sunday.isoformat())]
        open_ = open_.assign(_o=open_["status"].map({"overdue": 0, "due": 1, "planned": 2}))
        for r in open_.sort_values(["_o", "due", "client_id"], kind="stable").itertuples():
            if r.client_id in done:
                continue
            last = max(0, min(len(days) - 1, (date.fromisoformat(r.due) - monday).days))
            order = list(range(last + 1)) + list(range(last + 1, len(days)))
            state = "overdue since" if r.status == "overdue" else "due"
            add(r.client_id, grid.first_free(order),
                f"orphan visit {r.visit} {state} {r.due} ({r.attempts}/{r.required} attempts)",
                str(r.purpose), qof(r.client_id),
                why=("orphan_visit", {"visit": int(r.visit), "status": str(r.status),
                                      "due": str(r.due), "attempts": int(r.attempts),
                                      "required": int(r.required)}))

    # 4. quadrant III A: 2-3 days before a company event of their region
    q3 = [cid for cid in wants(3) if cid not in done]
    if q3 and events is not None and len(events):
        evs = events.sort_values(["date", "name"], kind="stable")
        for cid in q3:
            reg = regions.get(cid)
            for e in evs.itertuples(index=False):
                if e.region is not None and not pd.isna(e.region) and e.region != reg:
                    continue
                ed = date.fromisoformat(str(e.date))
                targets = [(ed - timedelta(days=k) - monday).days for k in c.days_before_event]
                targets = [t for t in targets if 0 <= t < len(days)]
                where = grid.first_free(targets) if targets else None
                if where is not None:
                    add(cid, where, f"quadrant III A: before event {e.name} on {e.date}",
                        f"invite to {e.name}; {qexp(cid)}", 3,
                        why=("before_event", {"event": str(e.name), "date": str(e.date)}))
                    break

    # 5. quadrant II A/B: one region per day
    q2 = [cid for cid in wants(2) if cid not in done]
    if q2:
        by_region = pd.Series(q2, index=pd.Index([str(regions.get(x)) for x in q2]))
        counts = by_region.index.value_counts()
        order = sorted(counts.index, key=lambda r: (-counts[r], r))
        for i, reg in enumerate(order):
            start_day = i % len(days)
            day_order = [(start_day + k) % len(days) for k in range(len(days))]
            for cid in sorted(by_region.loc[[reg]].tolist()):
                add(cid, grid.first_free(day_order), f"quadrant II: region {reg} day",
                    qexp(cid), 2, why=("q2_region", {"region": reg}))

    # 6. quadrant IV A/B: a fixed weekly contact time, outside the visit slots
    t0 = datetime.strptime(c.contact_time, "%H:%M")
    per_day = max(0, int((datetime.strptime(c.contact_until, "%H:%M") - t0).total_seconds()
                         // 60 // max(1, c.contact_minutes)))
    used = [0] * len(days)
    for cid in (x for x in wants(4) if x not in done):
        d0 = _stable(cid) % len(days)
        d = next(((d0 + k) % len(days) for k in range(len(days))
                  if used[(d0 + k) % len(days)] < per_day), None)
        if d is None:
            add(cid, None, "quadrant IV: weekly contact time (no room this week)", qexp(cid),
                4, kind="contact", why=("q4_no_room", {}))
            continue
        st = (t0 + timedelta(minutes=used[d] * c.contact_minutes)).strftime("%H:%M")
        used[d] += 1
        add(cid, None, "quadrant IV: weekly contact time", qexp(cid), 4, kind="contact",
            start=st, end=_end(st, c.contact_minutes), day=days[d], why=("q4_contact", {}))

    out = pd.DataFrame(rows, columns=SLOT_COLUMNS)
    out = out.sort_values(["planned", "day", "start", "client_id"],
                          ascending=[False, True, True, True], kind="stable")
    out = out.reset_index(drop=True)
    return out.astype(object).where(out.notna(), None)


def _shift(week: str, weeks: int) -> str:
    monday, _ = iso_week(week)
    y, w, _ = (monday + timedelta(weeks=weeks)).isocalendar()
    return f"{y}-W{w:02d}"


def to_ics(plan: pd.DataFrame, agent_name: str, week: str) -> bytes:
    """The planned slots as an RFC 5545 calendar (``icalendar``), one event per slot.

    Each event's SUMMARY is ``<client name> (<client id>)``, DESCRIPTION the reason and the
    experience, UID stable per agent, week, client and start, times floating local time.
    """
    cal = Calendar()
    cal.add("prodid", "-//GraphCRM//visit plan//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{agent_name} {week}")
    for r in plan.loc[plan["planned"].astype(bool)].itertuples(index=False):
        ev = Event()
        day = date.fromisoformat(str(r.day))
        start = datetime.combine(day, datetime.strptime(str(r.start), "%H:%M").time())
        end = datetime.combine(day, datetime.strptime(str(r.end), "%H:%M").time())
        ev.add("uid", f"{week}-{r.client_id}-{r.day}T{r.start}@graphcrm")
        ev.add("summary", f"{r.client_name} ({r.client_id})")
        ev.add("dtstart", start)
        ev.add("dtend", end)
        ev.add("dtstamp", datetime(2000, 1, 1))
        ev.add("description", f"{r.reason}\nexperience: {r.experience}")
        ev.add("categories", [str(r.kind)])
        if r.region:
            ev.add("location", str(r.region))
        cal.add_component(ev)
    return cal.to_ical()
