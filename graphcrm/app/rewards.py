"""Page 5: chain-referral rewards (客户价值奖励): ledger, totals, chains, exclusions."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, md, person_label, safe
from graphcrm.metrics.rewards import SETTLED_COLUMNS, reward_ledger
from graphcrm.workspace import open_store


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_rewards"))
    st.info(ctx.t("points_note"))
    ag = ctx.graph()
    months = sorted(pd.to_datetime(ag.policies["start_date"], errors="coerce").dropna()
                    .dt.strftime("%Y-%m").unique(), reverse=True)
    if not months:
        st.info(ctx.t("no_results"))
        return
    period = st.selectbox(ctx.t("period"), months, key="rewards_period")
    ledger = _ledger(ctx, reward_ledger, period)
    if ledger is None:
        return
    st.subheader(ctx.t("totals"))
    totals = ctx.rows(ledger.totals, "earner_id").copy()  # earners in the user's scope
    totals.insert(1, "name", [ctx.name(i) if ag.has(i) else "" for i in totals["earner_id"]])
    st.dataframe(totals, hide_index=True, key="rewards_totals")
    lines_all = ctx.rows(ledger.lines, "earner_id")
    ctx.download(ctx.t("download_csv"), lines_all, f"rewards-{period}.csv", key="rewards_csv")
    st.subheader(ctx.t("ledger"))
    st.dataframe(lines_all, hide_index=True, key="rewards_lines")
    earners = list(totals["earner_id"])
    if earners:
        who = st.selectbox(ctx.t("drill"), earners, key="rewards_drill",
                           format_func=lambda i: person_label(ag, i))
        lines = lines_all.loc[lines_all["earner_id"] == who]
        st.markdown(f"**{ctx.t('chain')}**")
        for r in lines.itertuples():
            st.markdown(f"- L{r.level}: {md(person_label(ag, who))} ← "
                        f"{md(person_label(ag, str(r.referee_id)))} · {md(r.source_policy_id)}"
                        f" · {r.points:g} ({md(r.reason)})")
    st.subheader(ctx.t("exclusions"))
    st.dataframe(ctx.rows(ledger.exclusions, "referrer_id"), hide_index=True,
                 key="rewards_exclusions")


def _settled(location: str) -> tuple[dict[str, str], pd.DataFrame]:
    """The store's merged ids and the reward lines settled so far (`graphcrm rewards
    --settle`): a settled line shows as already_settled here too."""
    with open_store(location, create=False) as store:
        return store.aliases(), pd.DataFrame(store.journal("reward_settled"),
                                             columns=SETTLED_COLUMNS)


def _ledger(ctx: Ctx, fn: Any, period: str) -> Any:
    key = ("rewards", ctx.location, ctx.version, period)
    cached = st.session_state.get("_ledger")
    if cached is not None and cached[0] == key:
        return cached[1]
    ag = ctx.graph()
    aliases, settled = _settled(ctx.location)
    ledger = safe(ctx, fn, ag.clients.reset_index(drop=True), ag.policies.reset_index(drop=True),
                  ag.relationships, period, ctx.settings, aliases=aliases, settled=settled)
    if ledger is not None:
        st.session_state["_ledger"] = (key, ledger)
    return ledger
