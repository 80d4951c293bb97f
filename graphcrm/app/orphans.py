"""Page: orphan clients (孤儿单): the list, the proposal with reasons, the manager's approval,
and the follow-up of the three visits."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, csv_bytes, safe
from graphcrm.fieldwork import orphans as orph
from graphcrm.fieldwork import visits as vis
from graphcrm.model import TABLES_BY_NAME, Label
from graphcrm.workspace import open_store


def _approve(ctx: Ctx, proposal: pd.DataFrame, month: str, day: date, approver: str
             ) -> tuple[int, bytes]:
    """Write the proposal and return (ties written, the month's notices as CSV bytes)."""
    with open_store(ctx.location, create=False, settings=ctx.settings) as s:
        ties = orph.assignment_ties(proposal, month, day, approver)
        with s.transaction():
            written = s.upsert(TABLES_BY_NAME["relationships"], ties)
        assigned = orph.assignments(s.relationships(["SERVES"]), month)
        clients = s.get_nodes(Label.CLIENT, assigned["client_id"])
        agents = s.get_nodes(Label.AGENT, assigned["agent_id"])
    notes = orph.notices(assigned, clients, agents, month=month, language=ctx.lang,
                         client_template=ctx.t("notice_client"),
                         agent_template=ctx.t("notice_agent"),
                         first_visit_days=ctx.settings.orphans.first_visit_days,
                         separator=ctx.t("notice_separator"))
    return written, csv_bytes(notes)  # csv_bytes neutralises (and masks) once


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_orphans"))
    ag = ctx.graph()
    today = date.today()
    c1, c2, c3 = st.columns(3)
    month = c1.text_input(ctx.t("month"), today.strftime("%Y-%m"), key="orphans_month")
    try:
        first, last = orph.month_bounds(month.strip())
    except ValueError:
        st.warning(ctx.t("bad_month", value=month))
        return
    default_day = today if first <= today <= last else first
    day = c2.date_input(ctx.t("assign_date"), default_day, min_value=first, max_value=last,
                        key="orphans_date")
    branches = sorted(str(b) for b in ag.agents["branch"].dropna().unique())
    branch = c3.selectbox(ctx.t("branch"), ["", *branches], key="orphans_branch",
                          format_func=lambda b: b or ctx.t("all"))
    st.subheader(ctx.t("orphans_list"))
    listing = safe(ctx, orph.find_orphans, ag, day, branch or None)
    if listing is None:
        return
    st.caption(ctx.t("orphans_count", n=len(listing)))
    st.dataframe(listing, hide_index=True, key="orphans_table")

    st.subheader(ctx.t("proposal"))
    proposal = safe(ctx, orph.propose, ag, month.strip(), day, branch or None)
    if proposal is None:
        return
    placed = int(proposal["agent_id"].notna().sum()) if len(proposal) else 0
    st.caption(ctx.t("proposal_count", n=placed, m=len(proposal) - placed))
    st.dataframe(proposal[["client_id", "client_name", "departed_agent", "agent_id",
                           "agent_name", "rule", "reason"]], hide_index=True,
                 key="orphans_proposal")
    a1, a2 = st.columns([2, 1])
    approver = a1.text_input(ctx.t("approver"), key="orphans_approver")
    if a2.button(ctx.t("approve"), key="orphans_approve", disabled=placed == 0):
        if not approver.strip():
            st.warning(ctx.t("approver_needed"))
        else:
            done = safe(ctx, _approve, ctx, proposal, month.strip(), day, approver.strip())
            if done is not None:  # show it after a rerun that reads the new data
                st.session_state["orphans_notices"] = (month.strip(), done[0], done[1])
                st.rerun()
    notes = st.session_state.get("orphans_notices")
    if notes is not None:
        st.success(ctx.t("approved", n=notes[1]))
        st.download_button(ctx.t("download_notices"), notes[2],
                           f"orphans-notices-{notes[0]}.csv", "text/csv",
                           key="orphans_notices_csv")

    st.subheader(ctx.t("followup"))
    assigned = orph.assignments(ag.relationships)
    status = vis.visit_status(assigned, ag.interactions, ctx.settings, today)
    st.dataframe(status, hide_index=True, key="orphans_followup")
    roll = vis.rollup(status, ag.agents.reset_index(drop=True)[["agent_id", "team"]])
    left, right = st.columns(2)
    left.markdown(f"**{ctx.t('rollup_agents')}**")
    left.dataframe(roll["agents"], hide_index=True, key="orphans_roll_agents")
    right.markdown(f"**{ctx.t('rollup_teams')}**")
    right.dataframe(roll["teams"], hide_index=True, key="orphans_roll_teams")
