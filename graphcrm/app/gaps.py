"""Page 6: coverage gaps (保障缺口) per client and per agent's book."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, agent_options, md, person_label, safe
from graphcrm.graph.strength import reference_date
from graphcrm.metrics.needs import coverage_gaps


def _as_of(ag: Any) -> Any:
    return reference_date(ag.interactions, ag.policies, ag.settings.metrics).date()


def _gaps(ag: Any, ids: tuple[str, ...]) -> pd.DataFrame:
    return coverage_gaps(ag.clients, ag.policies, ag.relationships, _as_of(ag), ag.settings,
                         client_ids=list(ids))


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_gaps"))
    ag = ctx.graph()
    scope = st.radio(ctx.t("group_by"), ["scope_book", "scope_client"], key="gaps_scope",
                     horizontal=True, format_func=ctx.t)
    if scope == "scope_book":
        agent = st.selectbox(ctx.t("agent_pick"), agent_options(ctx), key="gaps_agent",
                             format_func=lambda a: person_label(ag, a))
        ids = tuple(sorted(ag.book(agent)))
    else:
        cid = st.text_input(ctx.t("client") + " id", key="gaps_client").strip()
        if not cid:
            st.info(ctx.t("search_hint"))
            return
        if cid not in ag.clients.index:
            st.warning(ctx.t("unknown_id", id=md(cid)))
            return
        if not ctx.sees(cid):
            st.warning(ctx.t("not_in_scope", id=md(cid)))
            return
        ctx.audit("view", cid, "coverage gaps")
        ids = (cid,)
    if not ids:
        st.info(ctx.t("no_results"))
        return
    df = safe(ctx, ctx.frame, "gaps", _gaps, ids)
    if df is None:
        return
    df = df.copy()
    df.insert(1, "name", [ctx.name(i) for i in df["client_id"]])
    for col in ("needs", "held", "missing"):
        df[col] = df[col].map(lambda v: ", ".join(v) if isinstance(v, list | tuple) else v)
    df["reasons"] = df["reasons"].map(
        lambda v: "; ".join(r.get("text", "") for r in v) if isinstance(v, list) else v)
    st.dataframe(df.rename(columns={"name": ctx.t("col_name"),
                                    "life_stage": ctx.t("life_stage")}),
                 hide_index=True, key="gaps_table")
    ctx.download(ctx.t("download_csv"), df, "coverage-gaps.csv", key="gaps_csv")
