"""Page 5: chain-referral rewards (客户价值奖励): ledger, totals, chains, exclusions."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, md, person_label, person_labels, safe
from graphcrm.i18n import code, t
from graphcrm.metrics.rewards import (
    SETTLED_COLUMNS,
    Ledger,
    graph_ledger,
    graph_periods,
    warmed_ledger,
)
from graphcrm.wording import code_column, words_for_codes
from graphcrm.workspace import open_store


def _name(ag: Any, node: object) -> str:
    node = str(node)
    return f"{ag.name(node)} ({node})" if ag.has(node) else node


def _names(ag: Any, ids: pd.Series) -> pd.Series:
    """``name (id)`` for a whole column at once (ids not in the graph stay as they are)."""
    ids = ids.astype(str)
    names = ids.map(ag.nodes["name"])
    return (names.astype(str) + " (" + ids + ")").where(names.notna(), ids)


def chains(ag: Any, lines: pd.DataFrame, lang: str, limit: int | None = None) -> pd.DataFrame:
    """One row per referral chain paid this period: who referred whom (names, earliest
    referrer first), the first policy that paid, and each level's points; most points first.
    Built column-wise (10^5 clients: thousands of chains a month). ``limit``: only the first
    ``limit`` rows of that order (the chains with the most points), named and joined alone
    (10^6 clients: 4,000 chains a month)."""
    ref = lines.loc[lines["level"] > 0, ["source_policy_id", "referee_id", "earner_id", "level",
                                         "points"]]
    if ref.empty:
        return pd.DataFrame()
    if limit is not None:
        per_chain = ref.groupby("source_policy_id")["points"].sum().round(2)
        if len(per_chain) > limit:
            keep = per_chain.sort_values(ascending=False, kind="stable").index[:limit]
            ref = ref[ref["source_policy_id"].isin(keep)]
    names = ag.nodes["name"]
    ref = ref.assign(
        earner_name=ref["earner_id"].map(names).fillna(ref["earner_id"]).astype(str),
        referee_name=ref["referee_id"].map(names).fillna(ref["referee_id"]).astype(str),
    ).sort_values(["source_policy_id", "level"], ascending=[True, False], kind="stable")
    template = t("level_points", lang, level="{level}", name="{name}", points="{points}")
    ref["by_level"] = [template.format(level=int(lv), name=n, points=f"{pt:,.2f}")
                       for lv, n, pt in zip(ref["level"], ref["earner_name"], ref["points"],
                                            strict=True)]
    g = ref.groupby("source_policy_id", sort=False)
    first = g.first()
    out = pd.DataFrame({
        t("chain", lang): g["earner_name"].agg(" → ".join) + " → " + first["referee_name"],
        t("col_levels", lang): g["level"].max().astype(int),
        t("col_first_policy", lang): (first.index.astype(str) + " · " + first["referee_name"]
                                      + " (" + first["referee_id"].astype(str) + ")"),
        t("col_points_by_level", lang): g["by_level"].agg(" · ".join),
        t("col_points", lang): g["points"].sum().round(2),
    })
    return out.sort_values(t("col_points", lang), ascending=False, kind="stable") \
        .reset_index(drop=True)


def policy_months(ag: Any) -> list[str]:
    """The months with a policy start, latest first (ISO dates: the first 7 characters)."""
    return graph_periods(ag)


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_rewards"))
    st.info(ctx.t("points_note"))
    ag = ctx.graph()
    months = ctx.frame("policy_months", policy_months)
    if not months:
        st.info(ctx.t("no_results"))
        return
    period = st.selectbox(ctx.t("period"), months, key="rewards_period")
    ledger = _ledger(ctx, period)
    if ledger is None:
        return
    lines = ctx.rows(ledger.lines, "earner_id")  # earners in the user's scope
    lang = ctx.lang
    rows = max(1, int(ctx.settings.app.rewards_rows))  # what a person reads; the CSV has all

    def top_note(total: int) -> None:
        if total > rows:
            st.caption(ctx.t("rewards_top_rows", n=f"{rows:,}", total=f"{total:,}"))

    # 1. the chains: who brought whom, and what each level earned
    st.subheader(ctx.t("chains_head"))
    ch = chains(ag, lines, lang, limit=rows)
    if ch.empty:
        st.caption(ctx.t("no_chains", period=period))
    else:
        top_note(int(lines.loc[lines["level"] > 0, "source_policy_id"].nunique()))
        st.dataframe(ch, hide_index=True, key="rewards_chains")
    # 2. drill into one earner's chain (earners with referral lines first)
    ref_earners = list(dict.fromkeys(lines.loc[lines["level"] > 0]
                                     .sort_values("points", ascending=False)["earner_id"]))
    chained = set(ref_earners)
    tot = ctx.rows(ledger.totals, "earner_id")
    earners = ref_earners + [e for e in tot["earner_id"] if e not in chained]
    if len(earners) > rows:
        st.caption(ctx.t("rewards_top_drill", n=f"{rows:,}", total=f"{len(earners):,}"))
        earners = earners[:rows]
    if earners:
        earner_labels = person_labels(ag, earners)
        who = st.selectbox(ctx.t("drill"), earners, key="rewards_drill",
                           format_func=earner_labels.__getitem__)
        mine = lines.loc[lines["earner_id"] == who]
        st.markdown(f"**{ctx.t('chain')}**")
        for r in mine.itertuples():
            what = (ctx.t("own_policy") if r.level == 0 else
                    ctx.t("level_n", level=r.level) + " · "
                    + md(person_label(ag, str(r.referee_id))))
            st.markdown(f"- {what} · {md(r.source_policy_id)} · "
                        f"{ctx.t('points_n', points=f'{r.points:,.2f}')} · "
                        f"{code('line_status', r.status, lang)}")
    # 3. totals per client (most points first)
    st.subheader(ctx.t("totals"))
    top_note(len(tot))
    shown = tot.head(rows)
    totals = pd.DataFrame({
        ctx.t("col_name"): _names(ag, shown["earner_id"]).to_numpy(),
        ctx.t("col_own_points"): shown["own_points"].round(2).to_numpy(),
        ctx.t("col_referral_points"): shown["referral_points"].round(2).to_numpy(),
        ctx.t("col_points"): shown["points"].round(2).to_numpy(),
        ctx.t("col_lines"): shown["lines"].to_numpy(),
        ctx.t("col_capped_lines"): shown["capped_lines"].to_numpy()})
    st.dataframe(totals, hide_index=True, key="rewards_totals")
    # 4. the ledger: the lines with the most points (every line in the CSV)
    st.subheader(ctx.t("ledger"))
    top_note(len(lines))
    view = lines.sort_values("points", ascending=False, kind="stable").head(rows)
    level_words = {int(v): ctx.t("own_policy") if v == 0 else ctx.t("level_n", level=int(v))
                   for v in view["level"].unique()}
    ledger_view = pd.DataFrame({
        ctx.t("col_name"): _names(ag, view["earner_id"]).to_numpy(),
        ctx.t("col_level"): view["level"].map(level_words).to_numpy(),
        ctx.t("col_referee"): _names(ag, view["referee_id"]).where(view["level"] > 0, "—")
        .to_numpy(),
        ctx.t("col_policy"): view["source_policy_id"].to_numpy(),
        ctx.t("col_base_points"): view["base_points"].round(2).to_numpy(),
        ctx.t("col_level_share"): [f"{v * 100:g}%" for v in view["share"]],
        ctx.t("col_points"): view["points"].round(2).to_numpy(),
        ctx.t("col_status"): code_column(view["status"], "line_status", lang).to_numpy(),
    })
    if lang == "en":
        ledger_view[ctx.t("col_reasons")] = view["reason"].astype(str).map(words_for_codes)
    st.dataframe(ledger_view, hide_index=True, key="rewards_lines")
    name = f"rewards-{period}.csv"
    ctx.download(ctx.t("download_ledger", file=name), lines, name, key="rewards_csv")
    # 5. exclusions, with names and the reason in words
    st.subheader(ctx.t("exclusions"))
    ex = ctx.rows(ledger.exclusions, "referrer_id")
    st.dataframe(pd.DataFrame({
        ctx.t("col_referrer"): _names(ag, ex["referrer_id"]).to_numpy(),
        ctx.t("col_referee"): _names(ag, ex["referee_id"]).to_numpy(),
        ctx.t("col_date"): ex["referral_date"].map(lambda v: v or "—").to_numpy(),
        ctx.t("col_reasons"): code_column(ex["code"], "exclusion", lang).to_numpy(),
    }), hide_index=True, key="rewards_exclusions")


def _settled(location: str) -> tuple[dict[str, str], pd.DataFrame]:
    """The store's merged ids and the reward lines settled so far (`graphcrm rewards
    --settle`): a settled line shows as already_settled here too. Settling moves the store's
    data version on, so a ledger cached for the version before is never shown after it."""
    with open_store(location, create=False) as store:
        return store.aliases(), pd.DataFrame(store.journal("reward_settled"),
                                             columns=SETTLED_COLUMNS)


def company_ledger(ag: Any, location: str, period: str) -> Ledger:
    """The company's ledger of ``period``, the one ``graphcrm rewards`` prints: computed on the
    full graph (a scoped copy blanks colleagues' phones, which would change who is one
    person), from the period-independent part the warm-up keeps in the snapshot (and the
    latest month's ledger, which it computes too)."""
    warm = warmed_ledger(ag, period)
    if warm is not None:
        return warm
    aliases, settled = _settled(location)
    return graph_ledger(ag, period, aliases, settled)


def _ledger(ctx: Ctx, period: str) -> Ledger | None:
    """The month's ledger, made once per (store, data version, period) for every session of
    this app process; each user sees the rows of the earners in their scope."""
    return safe(ctx, ctx.month_table, "reward_ledger", company_ledger, ctx.location, period)
