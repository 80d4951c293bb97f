"""Page: the weekly visit plan (拜访计划) of one agent, with the .ics download, and the
referral funnel per agent and team."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, agent_options, person_label, safe
from graphcrm.fieldwork import calendar as cal
from graphcrm.fieldwork import orphans as orph
from graphcrm.fieldwork import visits as vis
from graphcrm.metrics.stages import referral_funnel


def _events(ctx: Ctx, upload: object) -> pd.DataFrame | None:
    if upload is None:
        return None
    suffix = Path(getattr(upload, "name", "events.csv")).suffix or ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fh:
        fh.write(upload.getvalue())  # type: ignore[attr-defined]
        path = fh.name
    try:
        return cal.read_events(path)
    except ValueError as exc:
        st.warning(str(exc))
        return None
    finally:
        Path(path).unlink(missing_ok=True)


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_visits"))
    ag = ctx.graph()
    agents = agent_options(ctx)
    if not agents:
        st.info(ctx.t("no_results"))
        return
    c1, c2 = st.columns([2, 1])
    agent = c1.selectbox(ctx.t("agent_pick"), agents, key="visits_agent",
                         format_func=lambda a: person_label(ag, a))
    week = c2.text_input(ctx.t("week"), vis.week_of(date.today()), key="visits_week").strip()
    try:
        vis.iso_week(week)
    except ValueError:
        st.warning(ctx.t("bad_week", value=week))
        return
    events = _events(ctx, st.file_uploader(ctx.t("events_upload"), type=["csv", "xlsx"],
                                           key="visits_events"))
    assigned = orph.assignments(ag.relationships)
    assigned = assigned.loc[assigned["agent_id"] == agent]
    due = vis.visit_status(assigned, ag.interactions, ctx.settings, date.today())
    plan = safe(ctx, cal.week_plan, ag, agent, week, events=events, due=due)
    if plan is None:
        return
    planned = plan["planned"].astype(bool) if len(plan) else pd.Series(dtype=bool)
    st.caption(ctx.t("planned_count", n=int(planned.sum()), m=int((~planned).sum())))
    st.caption(ctx.t("highlight_note"))
    view = plan.loc[planned].assign(
        mark=plan.loc[planned, "highlight"].map({True: "★", False: ""}))
    st.dataframe(view[["mark", "day", "start", "end", "kind", "client_name", "client_id",
                       "quadrant", "abc", "reason", "experience"]], hide_index=True,
                 key="visits_plan")
    st.download_button(ctx.t("download_ics"), cal.to_ics(plan, ag.name(agent), week),
                       f"visits-{agent}-{week}.ics", "text/calendar", key="visits_ics")

    st.subheader(ctx.t("funnel"))
    funnel = safe(ctx, ctx.frame, "referral_funnel_teams",
                  lambda g: referral_funnel(g)["teams"])
    if funnel is None or funnel.empty:
        st.info(ctx.t("no_results"))
        return
    st.dataframe(funnel, hide_index=True, key="visits_funnel")
    chart = funnel.set_index("team")[["received", "contacted", "met", "converted"]]
    st.bar_chart(chart.astype(float).T, stack=False)
