"""``graphcrm orphans``, ``graphcrm visits`` and ``graphcrm calendar`` (field work, issue 13).

Thin: parse options, open the store, call :mod:`graphcrm.fieldwork`, print or write.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import click
import pandas as pd

from graphcrm.cli.common import (
    config_option,
    echo,
    echo_json,
    fail,
    json_option,
    open_existing_store,
    settings_from,
    store_option,
)
from graphcrm.cli.people import lang_of, lang_option, positive
from graphcrm.config import Settings
from graphcrm.errors import UnknownIdError
from graphcrm.fieldwork import calendar as cal
from graphcrm.fieldwork import orphans as orph
from graphcrm.fieldwork import visits as vis
from graphcrm.fieldwork import words
from graphcrm.i18n import code, t
from graphcrm.metrics.stages import referral_funnel
from graphcrm.model import TABLES_BY_NAME, Label
from graphcrm.privacy import mask_frame, neutralise_frame, term_frame
from graphcrm.wording import table_text
from graphcrm.workspace import load_graph


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict(orient="records")]


def _date(text: str | None, what: str = "--date") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{what} must be a date YYYY-MM-DD, got {text!r}")
        raise


def _load(store: str | None, settings: Settings) -> Any:
    with open_existing_store(store, settings) as s:
        return load_graph(s, settings)


def _table(df: pd.DataFrame, lang: str, limit: int | None = None) -> None:
    """A worded table (graphcrm.fieldwork.words) for the terminal: phones masked, control
    characters from data replaced, Chinese columns aligned."""
    if df.empty:
        echo(t("fw_none", lang))
        return
    shown = df if limit is None else df.head(limit)
    echo(table_text(term_frame(mask_frame(shown))))
    if limit is not None and len(df) > limit:
        echo(t("fw_more", lang, n=len(df) - limit))


# -- orphans ----------------------------------------------------------------------------------
@click.group("orphans", invoke_without_command=True)
@click.option("--branch", default=None, metavar="B", help="Only orphans of this branch (营业部).")
@click.option("--date", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Count days orphaned up to this date (default today).")
@click.option("--limit", type=int, default=50, help="Rows shown in the table (not --json).")
@store_option
@config_option
@json_option
@lang_option
@click.pass_context
def orphans_command(ctx: click.Context, branch: str | None, as_of: str | None, limit: int,
                    store: str | None, config_path: str | None, as_json: bool,
                    lang: str | None) -> None:
    """Orphan clients (孤儿单): in-force clients whose agent departed or who have none.

    \b
    --json keys: as_of, orphans: list of {client_id, name, region, departed_agent,
    departed_agent_name, supervisor_id, team, branch, policies, premium, orphaned_since,
    days_orphaned}, longest orphaned first.
    """
    if ctx.invoked_subcommand is not None:
        return
    positive("--limit", limit)
    settings = settings_from(config_path)
    day = _date(as_of) or date.today()
    ag = _load(store, settings)
    df = orph.find_orphans(ag, day, branch)
    if as_json:
        echo_json({"as_of": day.isoformat(), "orphans": _records(df)})
        return
    lang = lang_of(lang)
    echo(t("fw_orphans_head", lang, n=len(df), date=day.isoformat()))
    _table(words.orphans_table(ag, df, lang), lang, limit)


@orphans_command.command("assign")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month whose caps apply.")
@click.option("--date", "on", default=None, metavar="YYYY-MM-DD",
              help="Assignment date T (default today within the month, else its first day).")
@click.option("--branch", default=None, metavar="B", help="Only orphans of this branch.")
@click.option("--apply", "apply_", is_flag=True,
              help="Write the proposal (the supervisor's or manager's decision).")
@click.option("--approver", default=None, metavar="ID",
              help="Who approved (required with --apply): kept on every new SERVES tie.")
@click.option("--notices", "notices_path", default=None, metavar="FILE",
              help="Notices CSV written with --apply (default orphans-notices-YYYY-MM.csv).")
@click.option("--limit", type=int, default=50, help="Rows shown in the table (not --json).")
@store_option
@config_option
@json_option
@lang_option
def assign_command(month: str, on: str | None, branch: str | None, apply_: bool,
                   approver: str | None, notices_path: str | None, lang: str | None,
                   limit: int, store: str | None, config_path: str | None,
                   as_json: bool) -> None:
    """Propose a new agent for every orphan; write it only with --apply.

    Team of the departed agent's supervisor first (first-year agents first), at most
    orphans.cap_per_agent_month per agent per month counting what they already received, then
    the client's region, then the nearest region; the warmest existing connection, then the
    lighter book. Re-applying the same month writes nothing.

    The notices file (--apply) is for the SMS gateway: its phone numbers are NOT masked (the
    gateway needs them); text cells are formula-neutralised. Keep it where the gateway reads
    it and delete it after sending. Notices and the table follow --lang (notices default:
    the app's default language).

    \b
    --json keys: month, date, applied, written, notices (file or null), proposal: list of
    {client_id, client_name, region, departed_agent, supervisor_id, agent_id, agent_name,
    agent_region, rule, first_year, hops, warmth, book, received_this_month, connection,
    reason, via}.
    """
    positive("--limit", limit)
    settings = settings_from(config_path)
    try:
        first, last = orph.month_bounds(month)
    except ValueError as exc:
        fail(str(exc))
        return
    day = _date(on)
    if day is None:
        today = date.today()
        day = today if first <= today <= last else first
    elif not first <= day <= last:
        fail(f"--date {day} is not in --month {month}")
    if apply_ and not approver:
        fail("--apply needs --approver ID (who decided)")
    notice_lang = lang or settings.app.default_language
    lang = lang_of(lang)
    with open_existing_store(store, settings) as s:
        ag = load_graph(s, settings)
        proposal = orph.propose(ag, month, day, branch)
        written = 0
        out_file = None
        if apply_:
            ties = orph.assignment_ties(proposal, month, day, str(approver))
            with s.transaction():
                written = s.upsert(TABLES_BY_NAME["relationships"], ties)
            assigned = orph.assignments(s.relationships(["SERVES"]), month)
            clients = s.get_nodes(Label.CLIENT, assigned["client_id"])
            agents = s.get_nodes(Label.AGENT, assigned["agent_id"])
            notes = orph.notices(
                assigned, clients, agents, month=month, language=notice_lang,
                client_template=t("notice_client", notice_lang),
                agent_template=t("notice_agent", notice_lang),
                first_visit_days=settings.orphans.first_visit_days,
                separator=t("notice_separator", notice_lang))
            out_file = Path(notices_path or f"orphans-notices-{month}.csv")
            # for the SMS gateway: unmasked phones, neutralised formulas (docs/fieldwork.md)
            neutralise_frame(notes).to_csv(out_file, index=False, encoding="utf-8-sig")
    if as_json:
        echo_json({"month": month, "date": day.isoformat(), "applied": apply_,
                   "written": written, "notices": None if out_file is None else str(out_file),
                   "proposal": _records(proposal)})
        return
    got = int(proposal["agent_id"].notna().sum()) if len(proposal) else 0
    echo(t("fw_assign_head", lang, month=month, n=len(proposal), got=got, day=day.isoformat()))
    _table(words.proposal_table(ag, proposal, lang), lang, limit)
    if apply_:
        echo(t("fw_applied", lang, approver=approver, n=written, file=out_file))
    else:
        echo(t("fw_proposal_only", lang))


# -- visits ---------------------------------------------------------------------------------
@click.group("visits")
def visits_command() -> None:
    """The three-visit plan of assigned orphans: record attempts and visits, see what is due."""


@visits_command.command("log")
@click.option("--agent", "agent_id", required=True, metavar="A", help="Agent id.")
@click.option("--client", "client_id", required=True, metavar="C", help="Client id.")
@click.option("--type", "type_", required=True, metavar="TYPE",
              help="Interaction type: visit, call, message, routine_service, periodic_visit, "
              "general_event, premium_event, life_service, tailor_made, ... (中文 accepted).")
@click.option("--outcome", required=True, metavar="OUTCOME",
              help="done, declined, no_answer or rescheduled (完成/拒绝/未接通/改期).")
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD", help="Default today.")
@click.option("--rating", default=None, metavar="N", help="Client rating -10..10.")
@click.option("--note", default=None, metavar="TEXT", help="What was discussed, what is next.")
@store_option
@config_option
@json_option
@lang_option
def log_command(agent_id: str, client_id: str, type_: str, outcome: str, day: str | None,
                rating: str | None, note: str | None, store: str | None,
                config_path: str | None, as_json: bool, lang: str | None) -> None:
    """Record an attempt or a visit as an interaction (记录拜访).

    Checked like an ingested row: a bad value is a one-line error and nothing is written; the
    same record twice is stored once. A new record makes the analysis snapshot stale, so the
    next map or path rebuilds trust and the tie's recency with it.

    \b
    --json keys: written (0 or 1), interaction (the stored row), data_version.
    """
    settings = settings_from(config_path)
    with open_existing_store(store, settings) as s:
        try:
            row = vis.visit_record(s, settings, agent_id=agent_id, client_id=client_id,
                                   type_=type_, outcome=outcome, day=day, rating=rating,
                                   note=note)
        except vis.VisitRecordError as exc:
            fail(f"visits log: {exc}; nothing written")
            return
        written = vis.record_visit(s, row)
        version = s.data_version()
    rec = _records(row)[0]
    if as_json:
        echo_json({"written": written, "interaction": rec, "data_version": version})
        return
    lang = lang_of(lang)
    if not written:
        echo(t("fw_already", lang, id=rec["interaction_id"]))
        return
    echo(t("fw_recorded", lang, agent=rec["agent_id"], client=rec["client_id"],
           type=code("interaction", rec["type"], lang), date=rec["date"],
           outcome=code("outcome", rec["outcome"], lang), id=rec["interaction_id"]))
    echo(t("fw_stale", lang))


def _status(s: Any, settings: Settings, as_of: date, agent_id: str | None) -> pd.DataFrame:
    assigned = orph.assignments(s.relationships(["SERVES"]))
    if agent_id is not None:
        assigned = assigned.loc[assigned["agent_id"] == agent_id]
    inter = s.interactions(assigned["client_id"].unique().tolist())
    return vis.visit_status(assigned, inter, settings, as_of)


@visits_command.command("due")
@click.option("--agent", "agent_id", default=None, metavar="A", help="Only this agent.")
@click.option("--week", default=None, metavar="YYYY-Www", help="Default this week.")
@click.option("--date", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Status as of this date (default today).")
@store_option
@config_option
@json_option
@lang_option
def due_command(agent_id: str | None, week: str | None, as_of: str | None, store: str | None,
                config_path: str | None, as_json: bool, lang: str | None) -> None:
    """Visits due, overdue and done in a week, with attempts made vs required; then the
    manager's roll-up per agent and team (all assigned orphans as of the date).

    \b
    --json keys: week, as_of, visits: list of {agent_id, client_id, assigned, visit, purpose,
    due, done, attempts, required, status, rating}, agents / teams: lists of {agent_id or team,
    clients, visits, done, overdue, open, attempts, required, attempt_rate, rating}.
    """
    settings = settings_from(config_path)
    day = _date(as_of) or date.today()
    week = week or vis.week_of(day)
    try:
        vis.iso_week(week)
    except ValueError as exc:
        fail(str(exc))
        return
    with open_existing_store(store, settings) as s:
        status = _status(s, settings, day, agent_id)
        agents = s.nodes(Label.AGENT, ["agent_id", "team"])
        ag = None if as_json else load_graph(s, settings)  # names for the human tables
    week_rows = vis.due_in_week(status, week)
    roll = vis.rollup(status, agents)
    if as_json:
        echo_json({"week": week, "as_of": day.isoformat(), "visits": _records(week_rows),
                   "agents": _records(roll["agents"]), "teams": _records(roll["teams"])})
        return
    lang = lang_of(lang)
    echo(t("fw_due_head", lang, week=week, date=day.isoformat()))
    _table(words.status_table(ag, week_rows, lang), lang)
    echo("\n" + t("rollup_agents", lang))
    _table(words.rollup_table(ag, roll["agents"], "agent_id", lang), lang)
    echo("\n" + t("rollup_teams", lang))
    _table(words.rollup_table(ag, roll["teams"], "team", lang), lang)


# -- calendar -------------------------------------------------------------------------------
@click.command("calendar")
@click.option("--agent", "agent_id", required=True, metavar="A", help="Agent id.")
@click.option("--week", default=None, metavar="YYYY-Www", help="Default this week.")
@click.option("--events", "events_path", default=None, metavar="FILE",
              help="Company events (CSV/XLSX: date, name, region / 日期, 名称, 区域).")
@click.option("--ics", "ics_path", default=None, metavar="FILE",
              help="Also write the week as an .ics calendar (phones import it).")
@click.option("--date", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Orphan visits' status as of this date (default today).")
@click.option("--gaps/--no-gaps", default=True,
              help="Add each client's coverage-gap finding to the reason (default on).")
@store_option
@config_option
@json_option
@lang_option
def calendar_command(agent_id: str, week: str | None, events_path: str | None,
                     ics_path: str | None, as_of: str | None, gaps: bool, store: str | None,
                     config_path: str | None, as_json: bool, lang: str | None) -> None:
    """The agent's week of visits (拜访计划), planned by quadrant, events and due visits.

    Quadrant I A clients at fixed times, last week's missed visits, the orphan visits due,
    quadrant III A clients 2-3 days before an event of their region, quadrant II A/B clients one
    region per day, quadrant IV A/B clients at the weekly contact time.

    \b
    --json keys: agent, week, slots: list of {day, start, end, kind, client_id, client_name,
    region, quadrant, abc, reason, experience, highlight, planned, reason_code, reason_args,
    gap}, ics (file or null).
    """
    settings = settings_from(config_path)
    day = _date(as_of) or date.today()
    week = week or vis.week_of(day)
    try:
        vis.iso_week(week)
        events = cal.read_events(events_path) if events_path else None
    except (ValueError, OSError) as exc:
        fail(str(exc))
        return
    with open_existing_store(store, settings) as s:
        ag = load_graph(s, settings)
        due = _status(s, settings, day, agent_id)
    try:
        plan = cal.week_plan(ag, agent_id, week, events=events, due=due)
        if gaps:  # the planned clients' coverage-gap findings as a further reason
            planned = plan.loc[plan["planned"].astype(bool), "client_id"].tolist()
            plan = cal.add_findings(plan, cal.gap_findings(ag, planned, day))
    except UnknownIdError as exc:
        fail(str(exc))
        return
    if ics_path:
        Path(ics_path).write_bytes(cal.to_ics(plan, ag.name(agent_id), week))
    if as_json:
        echo_json({"agent": agent_id, "week": week, "slots": _records(plan),
                   "ics": ics_path})
        return
    lang = lang_of(lang)
    planned = plan["planned"].astype(bool) if len(plan) else pd.Series(dtype=bool)
    echo(t("fw_calendar_head", lang, agent=words.person(ag, agent_id, lang), week=week,
           n=int(planned.sum())))
    _table(words.plan_table(plan, lang), lang)
    if (~planned).any():
        echo(t("fw_no_time", lang, n=int((~planned).sum())))
    if ics_path:
        echo(t("fw_ics_file", lang, file=ics_path))


# -- referral funnel --------------------------------------------------------------------------
@click.command("funnel")
@click.option("--team", default=None, help="Only this team's agents.")
@store_option
@config_option
@json_option
@lang_option
def funnel_command(team: str | None, store: str | None, config_path: str | None,
                   as_json: bool, lang: str | None) -> None:
    """The referral funnel (转介绍漏斗) per agent and team: names received -> contacted ->
    met -> converted (the material's 10:3:1).

    \b
    --json keys: agents: list of {agent_id, received, contacted, met, converted,
    contact_rate, meet_rate, convert_rate}; teams: the same with team.
    """
    ag = _load(store, settings_from(config_path))
    f = referral_funnel(ag)
    agents, teams = f["agents"], f["teams"]
    if team is not None:
        mine = set(ag.agents.index[ag.agents["team"] == team])
        agents = agents.loc[agents["agent_id"].isin(mine)]
        teams = teams.loc[teams["team"] == team]
    if as_json:
        echo_json({"agents": _records(agents), "teams": _records(teams)})
        return
    lang = lang_of(lang)
    echo(t("rollup_teams", lang))
    _table(words.funnel_table(ag, teams, "team", lang), lang)
    echo("\n" + t("rollup_agents", lang))
    _table(words.funnel_table(ag, agents, "agent_id", lang), lang, 50)


COMMANDS: list[click.Command] = [orphans_command, visits_command, calendar_command,
                                 funnel_command]
