"""Field-work tables as a person reads them, in 中文 or English.

The functions of :mod:`graphcrm.fieldwork` return tables of codes (``client_id``, ``rule``
``team``, ``status`` ``overdue``, reasons in English) that the CLI's ``--json`` and the tests
use. The app's pages (孤儿单 / Orphans, 拜访计划 / Visit plan) and the CLI's human output show
these instead: every header and code in words (:mod:`graphcrm.i18n`), people as
``name (id)``, numbers rounded, ``—`` for what is missing, and each reason built in the
reader's language from the structured columns (the rule, the connection's ties, the slot's
``reason_code``), never from the English text.
"""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd

from graphcrm.fieldwork.orphans import tie_between
from graphcrm.fieldwork.visits import PURPOSES
from graphcrm.graph import AnalysisGraph
from graphcrm.i18n import code, t
from graphcrm.wording import blank, num, pct, tie_words


def _sep(lang: str) -> str:
    return "；" if lang == "zh" else "; "


def person(ag: AnalysisGraph, node: object, lang: str = "zh") -> str:
    """``name (id)``; ``—`` for no one; the bare id when the graph does not know it."""
    if blank(node) == "—":
        return t("nobody", lang)
    node = str(node)
    try:
        return f"{ag.name(node)} ({node})"
    except KeyError:
        return node


def _people(ag: AnalysisGraph, ids: pd.Series, lang: str) -> list[str]:
    names = ag.nodes["name"]
    out = []
    for i in ids:
        if blank(i) == "—":
            out.append(t("nobody", lang))
        else:
            n = names.get(str(i))
            out.append(f"{n} ({i})" if isinstance(n, str) and n else str(i))
    return out


def connection_words(ag: AnalysisGraph, client_id: str, agent_id: str, via: Any,
                     lang: str = "zh") -> str:
    """The warmest connection as names and ties in words:
    ``王芳 —配偶— 李四 —同事— 赵敏 —业务员服务— 陈晨``."""
    chain = [client_id, *(list(via) if isinstance(via, list | tuple) else []), agent_id]
    parts = [ag.name(chain[0])]
    for a, b in itertools.pairwise(chain):
        tie = tie_between(ag, a, b)
        word = "?" if tie is None else tie_words(tie[0], tie[1], lang)
        parts.append(f"—{word}— {ag.name(b)}")
    return " ".join(parts)


def proposal_reason(ag: AnalysisGraph, line: Any, cap: int, lang: str = "zh") -> str:
    """Why a proposal line (a row of :func:`graphcrm.fieldwork.orphans.propose`) places the
    orphan where it does, in ``lang``."""
    rule = str(line.rule)
    if blank(line.agent_id) == "—":
        if rule == "waiting_for_team":
            return t("why_waiting", lang, deadline=_waiting_until(ag, line))
        return t("why_no_room", lang)
    region = blank(line.region)
    parts = [{"team": t("why_team", lang),
              "region": t("why_region", lang, region=region),
              "nearest_region": t("why_nearest_region", lang, near=blank(line.agent_region),
                                  region=region)}.get(rule, code("orphan_rule", rule, lang))]
    if line.first_year is True:
        parts.append(t("why_first_year", lang))
    if blank(line.hops) != "—":
        parts.append(t("why_connection", lang, hops=int(line.hops),
                       warmth=f"{float(line.warmth):.2f}",
                       path=connection_words(ag, str(line.client_id), str(line.agent_id),
                                             line.via, lang)))
    else:
        parts.append(t("why_stranger", lang))
    parts.append(t("why_book", lang, book=num(line.book, 0),
                   received=int(line.received_this_month or 0), cap=cap))
    return _sep(lang).join(parts)


def _waiting_until(ag: AnalysisGraph, line: Any) -> str:
    """The team deadline of a waiting orphan (departure + ``orphans.team_deadline_days``)."""
    dep = line.departed_agent
    if blank(dep) == "—" or dep not in ag.agents.index:
        return "—"
    since = pd.to_datetime(ag.agents.at[dep, "departure_date"], errors="coerce")
    if pd.isna(since):
        return "—"
    return (since + pd.Timedelta(days=ag.settings.orphans.team_deadline_days)).strftime(
        "%Y-%m-%d")


def orphans_table(ag: AnalysisGraph, df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """:func:`graphcrm.fieldwork.orphans.find_orphans` for reading."""
    return pd.DataFrame({
        t("col_client", lang): _people(ag, df["client_id"], lang),
        t("col_region", lang): df["region"].map(blank).to_numpy(),
        t("col_departed_agent", lang): _people(ag, df["departed_agent"], lang),
        t("col_supervisor", lang): _people(ag, df["supervisor_id"], lang),
        t("col_team", lang): df["team"].map(blank).to_numpy(),
        t("col_branch", lang): df["branch"].map(blank).to_numpy(),
        t("col_policies", lang): [num(v, 0) for v in df["policies"]],
        t("col_premium", lang): [num(v, 0) for v in df["premium"]],
        t("col_orphaned_since", lang): df["orphaned_since"].map(blank).to_numpy(),
        t("col_days_orphaned", lang): [num(v, 0) for v in df["days_orphaned"]],
    })


def proposal_table(ag: AnalysisGraph, proposal: pd.DataFrame, lang: str = "zh"
                   ) -> pd.DataFrame:
    """:func:`graphcrm.fieldwork.orphans.propose` for reading: who goes to whom, by which
    rule, and why (the connection's ties in words)."""
    cap = ag.settings.orphans.cap_per_agent_month
    return pd.DataFrame({
        t("col_client", lang): _people(ag, proposal["client_id"], lang),
        t("col_departed_agent", lang): _people(ag, proposal["departed_agent"], lang),
        t("col_new_agent", lang): _people(ag, proposal["agent_id"], lang),
        t("col_rule", lang): [code("orphan_rule", v, lang) for v in proposal["rule"]],
        t("col_reason", lang): [proposal_reason(ag, r, cap, lang)
                                for r in proposal.itertuples(index=False)],
    })


def purpose_words(text: object, lang: str = "zh") -> str:
    """A visit's purpose (one of :data:`graphcrm.fieldwork.visits.PURPOSES`) in words."""
    if text in PURPOSES:
        return t(f"visit_purpose_{PURPOSES.index(str(text)) + 1}", lang)
    return blank(text)


def status_table(ag: AnalysisGraph, status: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """:func:`graphcrm.fieldwork.visits.visit_status` (or a week of it) for reading."""
    return pd.DataFrame({
        t("col_agent", lang): _people(ag, status["agent_id"], lang),
        t("col_client", lang): _people(ag, status["client_id"], lang),
        t("col_assigned", lang): status["assigned"].map(blank).to_numpy(),
        t("col_visit", lang): [t("visit_n", lang, n=int(v)) for v in status["visit"]],
        t("col_purpose", lang): [purpose_words(v, lang) for v in status["purpose"]],
        t("col_due", lang): status["due"].map(blank).to_numpy(),
        t("col_done", lang): status["done"].map(blank).to_numpy(),
        t("col_attempts", lang): [f"{int(a)}/{int(r)}" for a, r in
                                  zip(status["attempts"], status["required"], strict=True)],
        t("col_status", lang): [code("visit_status", v, lang) for v in status["status"]],
        t("col_rating", lang): [num(v, 1) for v in status["rating"]],
    })


def rollup_table(ag: AnalysisGraph | None, roll: pd.DataFrame, by: str, lang: str = "zh"
                 ) -> pd.DataFrame:
    """A roll-up (:func:`graphcrm.fieldwork.visits.rollup`, ``by`` = ``agent_id`` or
    ``team``) for reading."""
    who = (_people(ag, roll[by], lang) if by == "agent_id" and ag is not None
           else roll[by].map(blank).tolist())
    return pd.DataFrame({
        t("col_agent" if by == "agent_id" else "col_team", lang): who,
        t("col_clients", lang): [num(v, 0) for v in roll["clients"]],
        t("col_visits", lang): [num(v, 0) for v in roll["visits"]],
        t("col_done_visits", lang): [num(v, 0) for v in roll["done"]],
        t("col_overdue", lang): [num(v, 0) for v in roll["overdue"]],
        t("col_open", lang): [num(v, 0) for v in roll["open"]],
        t("col_attempts", lang): [f"{int(a)}/{int(r)}" for a, r in
                                  zip(roll["attempts"], roll["required"], strict=True)],
        t("col_attempt_rate", lang): [pct(v) for v in roll["attempt_rate"]],
        t("col_rating", lang): [num(v, 1) for v in roll["rating"]],
    })


def experience_words(text: object, lang: str = "zh") -> str:
    """A slot's experience (``life_service, tailor_made (key)``, an orphan visit's purpose,
    ``invite to <event>; ...``) in words."""
    if blank(text) == "—":
        return "—"
    if text in PURPOSES:
        return purpose_words(text, lang)
    sep = "、" if lang == "zh" else ", "
    out = []
    for part in str(text).split("; "):
        if part.startswith("invite to "):
            out.append(t("invite_to", lang, event=part.removeprefix("invite to ")))
            continue
        key = part.endswith(" (key)")
        items = part.removesuffix(" (key)").split(", ")
        out.append(sep.join(code("interaction", i, lang) for i in items)
                   + (t("key_experience", lang) if key else ""))
    return _sep(lang).join(out)


def slot_reason(code_: object, args: Any, lang: str = "zh") -> str:
    """A slot's ``reason_code`` and ``reason_args`` (:func:`graphcrm.fieldwork.calendar.
    week_plan`) as a sentence in ``lang``."""
    a = args if isinstance(args, dict) else {}
    c = str(code_ or "")
    if c == "carried_over":
        return t("slot_carried_over", lang, day=blank(a.get("day")),
                 was=slot_reason(a.get("was"), a.get("was_args"), lang))
    if c == "orphan_visit":
        state = t("slot_state_overdue" if a.get("status") == "overdue" else "slot_state_due",
                  lang)
        return t("slot_orphan_visit", lang, visit=t("visit_n", lang, n=a.get("visit", "?")),
                 state=state, due=a.get("due", "—"), attempts=a.get("attempts", 0),
                 required=a.get("required", 0))
    if c == "before_event":
        return t("slot_before_event", lang, event=a.get("event", "—"), date=a.get("date", "—"))
    if c == "q2_region":
        return t("slot_q2_region", lang, region=blank(a.get("region")))
    if c in ("q1_fixed", "q4_contact", "q4_no_room"):
        return t(f"slot_{c}", lang)
    return "—"


def plan_table(plan: pd.DataFrame, lang: str = "zh", planned_only: bool = True
               ) -> pd.DataFrame:
    """:func:`graphcrm.fieldwork.calendar.week_plan` for reading (the planned slots by
    default): ★ for quadrant I, the slot, the client, the quadrant, the reason (with the
    coverage gap when :func:`~graphcrm.fieldwork.calendar.add_findings` added one) and the
    experience, in words."""
    if planned_only and len(plan):
        plan = plan.loc[plan["planned"].astype(bool)]
    gap = plan["gap"] if "gap" in plan.columns else pd.Series([None] * len(plan),
                                                               index=plan.index)
    reasons = []
    for c, a, g in zip(plan["reason_code"], plan["reason_args"], gap, strict=True):
        text = slot_reason(c, a, lang)
        if blank(g) != "—":
            text += _sep(lang) + t("slot_gap", lang, finding=code("finding", g, lang))
        reasons.append(text)
    return pd.DataFrame({
        t("col_mark", lang): ["★" if h is True else "" for h in plan["highlight"]],
        t("col_day", lang): plan["day"].map(blank).to_numpy(),
        t("col_start", lang): plan["start"].map(blank).to_numpy(),
        t("col_end", lang): plan["end"].map(blank).to_numpy(),
        t("col_slot_kind", lang): [code("slot_kind", v, lang) for v in plan["kind"]],
        t("col_client", lang): [f"{blank(n)} ({i})" for n, i in
                                zip(plan["client_name"], plan["client_id"], strict=True)],
        t("col_quadrant", lang): [code("roman", v, lang) for v in plan["quadrant"]],
        t("col_abc", lang): plan["abc"].map(blank).to_numpy(),
        t("col_reason", lang): reasons,
        t("col_experience", lang): [experience_words(v, lang) for v in plan["experience"]],
    })


def funnel_table(ag: AnalysisGraph | None, funnel: pd.DataFrame, by: str, lang: str = "zh"
                 ) -> pd.DataFrame:
    """The referral funnel (:func:`graphcrm.metrics.stages.referral_funnel`, ``by`` =
    ``agent_id`` or ``team``) for reading."""
    who = (_people(ag, funnel[by], lang) if by == "agent_id" and ag is not None
           else funnel[by].map(blank).tolist())
    out = {t("col_agent" if by == "agent_id" else "col_team", lang): who}
    for col in ("received", "contacted", "met", "converted"):
        out[t(f"col_{col}", lang)] = [num(v, 0) for v in funnel[col]]
    for col in ("contact_rate", "meet_rate", "convert_rate"):
        out[t(f"col_{col}", lang)] = [pct(v) for v in funnel[col]]
    return pd.DataFrame(out)
