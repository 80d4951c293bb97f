"""Page 2: warm referral paths (转介绍路径) from an agent to a prospect."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import (
    Ctx,
    agent_options,
    md,
    person_label,
    person_labels,
    safe,
    search_digest,
)
from graphcrm.i18n import code
from graphcrm.metrics.influence import influence_table
from graphcrm.metrics.lookup import closest_names
from graphcrm.metrics.lookup import find_people as lookup
from graphcrm.metrics.narrate import tell_path
from graphcrm.metrics.paths import warm_paths
from graphcrm.wording import blank


def find_people(ctx: Ctx, text: str, limit: int = 20) -> pd.DataFrame:
    """Clients matching ``text`` (id, name or part of it, last phone digits), then the closest
    names (difflib) when few match. Columns of :func:`graphcrm.metrics.lookup.find_people`."""
    text = text.strip()
    ag = ctx.graph()
    hits = lookup(ag, text, label="Client", limit=limit)
    if len(hits) < limit and text:
        names = closest_names(text, list(ag.clients["name"].dropna().unique()), n=limit)
        extra = [lookup(ag, n, label="Client", limit=limit) for n in names]
        extra = [e[e["name"] == n] for e, n in zip(extra, names, strict=True)]
        if extra:
            hits = pd.concat([hits, *extra]).drop_duplicates("id").head(limit)
    hits = ctx.rows(hits.reset_index(drop=True), "id")  # only people in the user's scope
    ctx.audit("search", list(hits["id"]), f"q={search_digest(ctx, text)}")
    return hits.reset_index(drop=True)


def person_choice(ctx: Ctx, row: Any) -> str:
    """A namesake told apart: name (id) · city · age · serving agent · status."""
    age = blank(row.age)
    parts = [f"{row.name} ({row.id})", blank(row.city),
             ctx.t("age_n", n=age) if age != "—" else "—",
             blank(row.serving_agent_name), code("status", row.status, ctx.lang)]
    return " · ".join(p for p in parts if p != "—")


def render_path(ctx: Ctx, n: int, path: Any, source: str, target_name: str) -> None:
    """One path: the chain (source first), each tie in words with its direction, the warmth
    level, and an opener only when the path is warm enough (else what to do instead)."""
    ag = ctx.graph()
    story = tell_path(ag, source, path, ctx.lang)
    st.markdown(f"**{ctx.t('path_n', n=n)}** — "
                + ctx.t("warmth", level=code("warmth", story.level, ctx.lang), w=path.warmth,
                        d=path.distance))
    st.markdown(" → ".join([f"{md(ag.name(source))} ({md(source)})",
                            *(f"{md(ag.name(h.person_id))} ({md(h.person_id)})"
                              for h in path.hops)]))
    lines = []
    for h, sentence in zip(path.hops, story.steps, strict=True):
        # md() folds whitespace, so the space before the English bracket stays outside it
        last = f"{ctx.t('last_contact')} {h.last_contact}"
        last = f"（{md(last)}）" if ctx.lang == "zh" else f" \\({md(last)}\\)"
        lines.append(f"- {md(sentence)}{last if h.last_contact else ''}")
    st.markdown("\n".join(lines))
    if story.level == "cold" and len(path.hops) > 1:
        st.warning(md(story.opener))
    else:
        st.success(md(story.opener))


def no_path_advice(ctx: Ctx, target: str, target_name: str, max_hops: int) -> str:
    ag = ctx.graph()
    table = ctx.frame("influence_table", influence_table)
    row = table.loc[table["id"] == target]
    if row.empty or pd.isna(row["circle"].iloc[0]):
        return ctx.t("no_path_plain", hops=max_hops)
    table = ctx.rows(table, "id")  # suggest only people the user may see
    circle = row["circle"].iloc[0]
    members = table.loc[(table["circle"] == circle) & (table["label"] == "Client")
                        & (table["id"] != target)]
    if members.empty:
        return ctx.t("no_path_plain", hops=max_hops)
    hub = str(members.iloc[0]["id"])
    return ctx.t("no_path", hops=max_hops, target=md(target_name), hub=md(person_label(ag, hub)))


def render(ctx: Ctx) -> None:
    st.header(ctx.t("page_paths"))
    ag = ctx.graph()
    agents = agent_options(ctx)
    agent_labels = person_labels(ag, agents)
    agent = st.selectbox(ctx.t("agent_pick"), agents, key="paths_agent",
                         format_func=agent_labels.__getitem__)
    text = st.text_input(ctx.t("prospect_search"), key="paths_search")
    if not text.strip():
        st.info(ctx.t("search_hint"))
        return
    hits = find_people(ctx, text)
    if hits.empty:
        st.warning(ctx.t("no_match", text=text))
        return
    labels = {r.id: person_choice(ctx, r) for r in hits.itertuples()}
    target = st.selectbox(ctx.t("prospect_pick"), list(labels), key="paths_target",
                          format_func=lambda i: labels.get(i, i))
    max_hops = ctx.settings.metrics.max_hops
    paths = safe(ctx, warm_paths, ag, agent, target)
    if paths is None:
        return
    ctx.audit("view", target, "warm paths")
    target_name = ctx.name(target)
    if not paths:
        st.warning(no_path_advice(ctx, target, target_name, max_hops))
        return
    for n, path in enumerate(paths, 1):
        render_path(ctx, n, path, agent, target_name)
