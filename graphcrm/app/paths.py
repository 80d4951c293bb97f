"""Page 2: warm referral paths (转介绍路径) from an agent to a prospect."""

from __future__ import annotations

import difflib
from typing import Any

import pandas as pd
import streamlit as st

from graphcrm.app.common import Ctx, agent_options, md, person_label, safe, search_digest
from graphcrm.metrics.influence import influence_table
from graphcrm.metrics.paths import warm_paths
from graphcrm.privacy import mask_phone
from graphcrm.workspace import open_store


def find_people(ctx: Ctx, text: str, limit: int = 20) -> pd.DataFrame:
    """Clients matching ``text``: the store's id/name/phone search, then fuzzy names (difflib).

    Returns columns ``id, name, phone``.
    """
    text = text.strip()
    if not text:
        return pd.DataFrame(columns=["id", "name", "phone"])
    with open_store(ctx.location, create=False) as store:
        hits = store.search_people(text, limit=limit)
    hits = hits.loc[hits["label"] == "Client", ["id", "name", "phone"]]
    if len(hits) < limit:
        ag = ctx.graph()
        names = ag.clients["name"].dropna()
        close = difflib.get_close_matches(text, list(names.unique()), n=limit, cutoff=0.5)
        extra = names[names.isin(close)]
        fuzzy = pd.DataFrame({"id": extra.index, "name": extra.to_numpy(),
                              "phone": ag.clients["phone"].reindex(extra.index).to_numpy()})
        fuzzy["_rank"] = fuzzy["name"].map({n: i for i, n in enumerate(close)})
        fuzzy = fuzzy.sort_values(["_rank", "id"]).drop(columns="_rank")
        hits = pd.concat([hits, fuzzy]).drop_duplicates("id").head(limit)
    hits = ctx.rows(hits.reset_index(drop=True), "id")  # only people in the user's scope
    ctx.audit("search", list(hits["id"]), f"q={search_digest(ctx, text)}")
    return hits.reset_index(drop=True)


def tie_text(ctx: Ctx, hop: Any) -> str:
    kind = f"/{hop.tie_kind}" if hop.tie_kind else ""
    return md(f"{hop.tie_type}{kind}")


def render_path(ctx: Ctx, n: int, path: Any, source: str, target_name: str) -> None:
    """One path: the chain (source first), each tie explained, warmth and an opener.

    ``path.hops`` excludes the source; each hop carries the tie from the previous person.
    """
    st.markdown(f"**{ctx.t('path_n', n=n)}** — {ctx.t('warmth', w=path.warmth, d=path.distance)}")
    st.markdown(" → ".join([f"{md(ctx.name(source))} ({md(source)})",
                            *(f"{md(ctx.name(h.person_id))} ({md(h.person_id)})"
                              for h in path.hops)]))
    names = [ctx.name(source), *(ctx.name(h.person_id) for h in path.hops)]
    lines = [
        "- " + ctx.t("tie_line", a=md(a), b=md(ctx.name(h.person_id)), tie=tie_text(ctx, h),
                     s=h.strength,
                     last=h.last_contact or ctx.t("unknown"))
        for a, h in zip(names[:-1], path.hops, strict=True)
    ]
    st.markdown("\n".join(lines))
    if len(path.hops) <= 1:
        st.success(ctx.t("opener_direct", target=md(target_name)))
    else:
        who, nxt = path.hops[0], path.hops[1]
        st.success(ctx.t("opener", who=md(ctx.name(who.person_id)),
                         target=md(ctx.name(nxt.person_id)), tie=tie_text(ctx, nxt),
                         last=nxt.last_contact or ctx.t("unknown")))


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
    agent = st.selectbox(ctx.t("agent_pick"), agents, key="paths_agent",
                         format_func=lambda a: person_label(ag, a))
    text = st.text_input(ctx.t("prospect_search"), key="paths_search")
    if not text.strip():
        st.info(ctx.t("search_hint"))
        return
    hits = find_people(ctx, text)
    if hits.empty:
        st.warning(ctx.t("no_match", text=text))
        return
    labels = {r.id: f"{r.name} ({r.id}, {mask_phone(r.phone)})" for r in hits.itertuples()}
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
