"""The three-visit plan of an assigned orphan, recording attempts and visits, and what is due.

On assignment T (the start date of the SERVES tie an approved orphan assignment wrote):

* visit 1 (policy service, a gift card, build the relationship) is due by
  ``T + orphans.first_visit_days``, with at least ``orphans.min_attempts[0]`` invitations;
* visit 2 (needs analysis with the coverage gaps) by visit 1 + ``second_visit_months``
  (visit 1's date when it happened, else its due date; month ends clip: 31 Jan + 1 month is
  28/29 Feb);
* visit 3 (health check, tailored proposal) by visit 2 + ``third_visit_months``.

Every interaction the new agent records with the client on or after T whose type is one of
``visits.attempt_types`` is an attempt for the earliest visit not yet done; a record of a
``visits.visit_types`` type with a ``visits.success_outcomes`` outcome makes that visit done.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta

from graphcrm.config import Settings
from graphcrm.model import ENUM_SYNONYMS, INTERACTIONS, TABLES_BY_NAME, InteractionType, Label
from graphcrm.model import derived_interaction_id as _derived_id
from graphcrm.store.base import GraphStore

#: what each visit of the plan is for (keys of graphcrm.i18n "visit_purpose_<n>")
PURPOSES = ("policy service, gift card, build the relationship",
            "needs analysis: coverage gaps, recommend products (or a low-cost card product)",
            "health check, tailored proposal (else routine maintenance)")

STATUS_COLUMNS = ["agent_id", "client_id", "assigned", "visit", "purpose", "due", "done",
                  "attempts", "required", "status", "rating"]


class VisitRecordError(ValueError):
    """A ``visits log`` value that cannot be stored; the message is one line for the user."""


def iso_week(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week ``YYYY-Www``.

    Raises
    ------
    ValueError
        ``week`` is not ``YYYY-Www`` or no such week exists.
    """
    m = re.fullmatch(r"(\d{4})-W(\d{2})", week.strip())
    if not m:
        raise ValueError(f"week must be YYYY-Www (e.g. 2026-W49), got {week!r}")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ValueError(f"no ISO week {week!r}") from None
    return monday, monday + timedelta(days=6)


def week_of(day: date) -> str:
    """The ISO week ``YYYY-Www`` of ``day``."""
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def plan_dues(assigned: date, done: list[date | None], settings: Settings) -> list[date]:
    """Due dates of the three visits given the dates the earlier ones were done.

    Parameters
    ----------
    assigned : date
        The assignment date T.
    done : list of date or None
        When visits 1 and 2 happened (None: not yet); extra entries are ignored.
    settings : Settings

    Returns
    -------
    list of date
        Three due dates.

    Examples
    --------
    >>> plan_dues(date(2026, 1, 16), [None, None], Settings())
    [datetime.date(2026, 1, 31), datetime.date(2026, 2, 28), datetime.date(2026, 3, 28)]
    """
    o = settings.orphans
    d1 = assigned + timedelta(days=o.first_visit_days)
    base1 = done[0] if len(done) > 0 and done[0] is not None else d1
    d2 = base1 + relativedelta(months=o.second_visit_months)
    base2 = done[1] if len(done) > 1 and done[1] is not None else d2
    d3 = base2 + relativedelta(months=o.third_visit_months)
    return [d1, d2, d3]


def visit_status(assigned: pd.DataFrame, interactions: pd.DataFrame, settings: Settings,
                 as_of: date) -> pd.DataFrame:
    """The three visits of every assignment: due, done, attempts made vs required.

    Parameters
    ----------
    assigned : DataFrame
        ``client_id, agent_id, assigned`` (ISO date), e.g.
        :func:`graphcrm.fieldwork.orphans.assignments`.
    interactions : DataFrame
        The store's interactions (``agent_id, client_id, type, date, outcome, rating``).
    settings : Settings
    as_of : date
        Records after this date are ignored; a visit not done whose due date is before it is
        ``overdue``.

    Returns
    -------
    DataFrame
        ``STATUS_COLUMNS``, three rows per assignment: ``status`` is ``done``, ``overdue``,
        ``due`` (the earliest open visit, not yet late) or ``planned`` (a later visit);
        ``rating`` is the mean client rating of the visit's records (None without one).
    """
    v = settings.visits
    mins = settings.orphans.min_attempts
    if not len(assigned):
        return pd.DataFrame(columns=STATUS_COLUMNS)
    inter = interactions
    inter = inter.loc[inter["client_id"].isin(assigned["client_id"].unique()).to_numpy()]
    keys = pd.MultiIndex.from_arrays([assigned["agent_id"], assigned["client_id"]])
    mine = inter.loc[pd.MultiIndex.from_arrays([inter["agent_id"], inter["client_id"]])
                     .isin(keys) & inter["type"].isin(v.attempt_types).to_numpy()]
    mine = mine.assign(day=mine["date"].astype(str).str.slice(0, 10))
    mine = mine.loc[mine["day"] <= as_of.isoformat()]
    sort_cols = ["day", "interaction_id"] if "interaction_id" in mine else ["day"]
    mine = mine.sort_values(sort_cols, kind="stable")
    groups = {k: g for k, g in mine.groupby(["agent_id", "client_id"], sort=False)}
    rows = []
    for a, c, t in zip(assigned["agent_id"], assigned["client_id"], assigned["assigned"],
                       strict=True):
        start = date.fromisoformat(str(t)[:10])
        recs = groups.get((a, c))
        attempts = [0, 0, 0]
        done: list[date | None] = [None, None, None]
        ratings: list[list[float]] = [[], [], []]
        k = 0
        if recs is not None:
            recs = recs.loc[recs["day"] >= start.isoformat()]
            for typ, day, outcome, rating in zip(recs["type"], recs["day"], recs["outcome"],
                                                 recs["rating"], strict=True):
                if k > 2:
                    break
                attempts[k] += 1
                if rating is not None and not pd.isna(rating):
                    ratings[k].append(float(rating))
                if typ in v.visit_types and outcome in v.success_outcomes:
                    done[k] = date.fromisoformat(day)
                    k += 1
        dues = plan_dues(start, done, settings)
        for i in range(3):
            if done[i] is not None:
                status = "done"
            elif dues[i] < as_of:
                status = "overdue"
            elif i == k:
                status = "due"
            else:
                status = "planned"
            rows.append({
                "agent_id": a, "client_id": c, "assigned": start.isoformat(), "visit": i + 1,
                "purpose": PURPOSES[i], "due": dues[i].isoformat(),
                "done": None if done[i] is None else done[i].isoformat(),
                "attempts": attempts[i], "required": int(mins[i]), "status": status,
                "rating": float(np.mean(ratings[i])) if ratings[i] else None,
            })
    out = pd.DataFrame(rows, columns=STATUS_COLUMNS)
    out["rating"] = out["rating"].astype(object).where(out["rating"].notna(), None)
    return out


def due_in_week(status: pd.DataFrame, week: str) -> pd.DataFrame:
    """The visits an agent must act on in ``week``: open visits due by the week's end (the
    overdue ones first) and the visits done within the week."""
    monday, sunday = iso_week(week)
    open_ = status["status"].isin(["due", "overdue", "planned"]) & (
        status["due"] <= sunday.isoformat())
    done = (status["status"] == "done") & status["done"].between(monday.isoformat(),
                                                                 sunday.isoformat())
    out = status.loc[open_ | done]
    order = out["status"].map({"overdue": 0, "due": 1, "planned": 2, "done": 3})
    return out.assign(_o=order).sort_values(["agent_id", "_o", "due", "client_id"],
                                            kind="stable").drop(columns="_o"
                                                                ).reset_index(drop=True)


def rollup(status: pd.DataFrame, agents: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The manager's view: per agent and per team, visits done / overdue / open, attempts
    made vs required, successful visits and the mean client rating.

    Parameters
    ----------
    status : DataFrame
        :func:`visit_status` (or a week of it).
    agents : DataFrame
        Agents with ``agent_id`` and ``team``.

    Returns
    -------
    dict
        ``{"agents": DataFrame, "teams": DataFrame}`` with columns ``agent_id`` / ``team``,
        ``clients, visits, done, overdue, open, attempts, required, attempt_rate, rating``.
    """
    cols = ["clients", "visits", "done", "overdue", "open", "attempts", "required",
            "attempt_rate", "rating"]
    if not len(status):
        return {"agents": pd.DataFrame(columns=["agent_id", *cols]),
                "teams": pd.DataFrame(columns=["team", *cols])}
    team = agents.set_index("agent_id")["team"] if len(agents) else pd.Series(dtype=object)
    s = status.assign(team=status["agent_id"].map(team).fillna("-"),
                      is_done=status["status"] == "done",
                      is_over=status["status"] == "overdue",
                      is_open=status["status"].isin(["due", "planned"]),
                      rating=pd.to_numeric(status["rating"], errors="coerce"))

    def agg(by: str) -> pd.DataFrame:
        g = s.groupby(by, sort=True)
        out = pd.DataFrame({
            "clients": g["client_id"].nunique(), "visits": g.size(),
            "done": g["is_done"].sum(), "overdue": g["is_over"].sum(),
            "open": g["is_open"].sum(), "attempts": g["attempts"].sum(),
            "required": g["required"].sum(), "rating": g["rating"].mean(),
        })
        out["attempt_rate"] = out["attempts"] / out["required"].where(out["required"] > 0)
        out = out.reset_index()
        out = out[[by, *cols]]
        return out.astype(object).where(out.notna(), None)

    return {"agents": agg("agent_id"), "teams": agg("team")}


# -- recording --------------------------------------------------------------------------------
def _parse_day(text: str) -> str:
    t = text.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(t, fmt).date().isoformat()
        except ValueError:
            continue
    raise VisitRecordError(f"date: {text!r} is not a date (YYYY-MM-DD)")


def visit_record(store: GraphStore, settings: Settings, *, agent_id: str, client_id: str,
                 type_: str, outcome: str, day: str | date | None = None,
                 rating: str | int | None = None, note: str | None = None,
                 today: date | None = None) -> pd.DataFrame:
    """Check one attempt or visit and return it as an ``interactions`` row.

    The checks are the ingest template's (graphcrm.model.INTERACTIONS): the agent and the
    client must exist, the type is an interaction type (Chinese spellings accepted), the date
    a date, the rating an integer within -10..10; the outcome is one of ``visits.outcomes``.
    The id is derived from agent, client, type, date and outcome as ingest derives it, so the
    same record logged twice (or also loaded from a file) is stored once.

    Raises
    ------
    VisitRecordError
        With a one-line message naming the field and why.
    """
    def norm(value: str) -> str:
        v = value.strip()
        return ENUM_SYNONYMS.get(v, ENUM_SYNONYMS.get(v.lower(), v.lower()))

    typ = norm(type_)
    if typ not in {t.value for t in InteractionType}:
        raise VisitRecordError(
            f"type: {type_!r} is not an interaction type "
            f"({', '.join(t.value for t in InteractionType)})")
    v = settings.visits
    out = outcome.strip()
    out = v.outcome_synonyms.get(out, out.lower())
    if out not in v.outcomes:
        raise VisitRecordError(f"outcome: {outcome!r} is not one of {', '.join(v.outcomes)}")
    if day is None:
        iso = (today or date.today()).isoformat()
    elif isinstance(day, date):
        iso = day.isoformat()
    else:
        iso = _parse_day(day)
    rate: int | None = None
    if rating is not None and str(rating).strip() != "":
        col = INTERACTIONS.column("rating")
        try:
            rate = int(str(rating).strip())
        except ValueError:
            raise VisitRecordError(f"rating: {rating!r} is not an integer") from None
        if (col.low is not None and rate < col.low) or (col.high is not None and rate > col.high):
            raise VisitRecordError(f"rating: {rate} is outside {col.low:g}..{col.high:g}")
    labels = store.labels_of([agent_id, client_id])
    if labels.get(agent_id) != Label.AGENT:
        raise VisitRecordError(f"agent: {agent_id!r} is not an agent in the store")
    if labels.get(client_id) != Label.CLIENT:
        raise VisitRecordError(f"client: {client_id!r} is not a client in the store")
    row = {
        "interaction_id": _derived_id(agent_id, client_id, typ, iso, out),
        "agent_id": agent_id, "client_id": client_id, "type": typ, "date": iso,
        "outcome": out, "rating": rate, "note": (note or None),
    }
    frame = pd.DataFrame([row]).reindex(columns=list(INTERACTIONS.column_names))
    return frame.astype(object).where(frame.notna(), None)


def record_visit(store: GraphStore, row: pd.DataFrame) -> int:
    """Write a :func:`visit_record` row in one transaction; returns 1 if it was new or
    changed, 0 if the same record was already stored. A change moves the store's data version
    on, which makes the saved analysis snapshot stale: the next analysis rebuilds trust and
    the tie's recency from it."""
    with store.transaction():
        return store.upsert(TABLES_BY_NAME["interactions"], row)
