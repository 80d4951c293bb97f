"""Page 6: coverage gaps (保障缺口) per client and per agent's book."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, agent_options, md, person_labels, safe
from graphcrm.app.paths import find_people, person_choice
from graphcrm.i18n import code
from graphcrm.metrics.needs import graph_gaps
from graphcrm.wording import num, words_for_codes


def _gaps(ag: Any, ids: tuple[str, ...]) -> pd.DataFrame:
    return graph_gaps(ag, ids)


def readable(ctx: Ctx, ag: Any, df: pd.DataFrame) -> pd.DataFrame:
    """The coverage-gap table in the page's language: stages, needs, findings and reasons in
    words, sums rounded."""

    lang = ctx.lang
    sep = "、" if lang == "zh" else ", "

    def needs(v: Any) -> str:
        return sep.join(code("need", n, lang) for n in v) if isinstance(v, list | tuple) and v \
            else "—"

    def reasons(v: Any) -> str:
        if not isinstance(v, list):
            return "—"
        out = []
        for r in v:
            rc = str(r.get("code", ""))
            if lang == "en":
                out.append(words_for_codes(str(r.get("text", ""))))
            elif rc.startswith("missing_"):
                out.append(ctx.t("missing_need", need=code("need", rc.removeprefix("missing_"),
                                                            lang)))
            else:
                out.append(code("reason", rc, lang))
        return "；".join(out) if lang == "zh" else "; ".join(out)

    return pd.DataFrame({
        ctx.t("col_name"): [f"{ag.name(i)} ({i})" for i in df["client_id"]],
        ctx.t("life_stage"): [code("stage", v, lang) for v in df["life_stage"]],
        ctx.t("col_stage_then"): [code("stage", v, lang) for v in df["stage_then"]],
        ctx.t("col_finding"): [code("finding", v, lang) for v in df["finding_code"]],
        ctx.t("col_missing"): df["missing"].map(needs).to_numpy(),
        ctx.t("col_held"): df["held"].map(needs).to_numpy(),
        ctx.t("col_needs"): df["needs"].map(needs).to_numpy(),
        ctx.t("col_protection_sum"): [num(v, 0) for v in df["protection_sum"]],
        ctx.t("col_recommended_sum"): [num(v, 0) for v in df["recommended_sum"]],
        ctx.t("col_reasons"): df["reasons"].map(reasons).to_numpy(),
    })


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_gaps"))
    ag = ctx.graph()
    scope = st.radio(ctx.t("group_by"), ["scope_book", "scope_client"], key="gaps_scope",
                     horizontal=True, format_func=ctx.t)
    if scope == "scope_book":
        agents = agent_options(ctx)
        agent_labels = person_labels(ag, agents)
        agent = st.selectbox(ctx.t("agent_pick"), agents, key="gaps_agent",
                             format_func=agent_labels.__getitem__)
        ids = tuple(sorted(ag.book(agent)))
    else:
        text = st.text_input(ctx.t("client_search"), key="gaps_client").strip()
        if not text:
            st.info(ctx.t("search_hint"))
            return
        hits = find_people(ctx, text)
        if hits.empty:
            st.warning(ctx.t("no_match", text=text))
            return
        labels = {r.id: person_choice(ctx, r) for r in hits.itertuples()}
        cid = st.selectbox(ctx.t("prospect_pick"), list(labels), key="gaps_pick",
                           format_func=lambda i: labels.get(i, i))
        if not ctx.sees(cid):  # find_people keeps to the user's scope; this guards the rest
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
    table = readable(ctx, ag, df)
    counts = df["finding_code"].value_counts()
    if len(df) > 1:
        st.caption(" · ".join(f"{code('finding', k, ctx.lang)}: {v}" for k, v in counts.items()))
    st.dataframe(table, hide_index=True, key="gaps_table")
    name = "coverage-gaps.csv"
    ctx.download(ctx.t("download_file", file=name), table, name, key="gaps_csv")
