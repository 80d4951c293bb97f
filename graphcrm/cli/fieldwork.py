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
    echo_json,
    fail,
    json_option,
    open_existing_store,
    settings_from,
    store_option,
)
from graphcrm.config import Settings
from graphcrm.errors import UnknownIdError
from graphcrm.fieldwork import calendar as cal
from graphcrm.fieldwork import orphans as orph
from graphcrm.fieldwork import visits as vis
from graphcrm.i18n import t
from graphcrm.metrics.stages import referral_funnel
from graphcrm.model import TABLES_BY_NAME, Label
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


def _table(df: pd.DataFrame, columns: list[str], limit: int | None = None) -> None:
    if df.empty:
        click.echo("(none / 无)")
        return
    shown = df[columns] if limit is None else df[columns].head(limit)
    click.echo(shown.to_string(index=False))
    if limit is not None and len(df) > limit:
        click.echo(f"... {len(df) - limit} more (use --json for all)")


# -- orphans ----------------------------------------------------------------------------------
@click.group("orphans", invoke_without_command=True)
@click.option("--branch", default=None, metavar="B", help="Only orphans of this branch (营业部).")
@click.option("--date", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Count days orphaned up to this date (default today).")
@click.option("--limit", type=int, default=50, help="Rows shown in the table (not --json).")
@store_option
@config_option
@json_option
@click.pass_context
def orphans_command(ctx: click.Context, branch: str | None, as_of: str | None, limit: int,
                    store: str | None, config_path: str | None, as_json: bool) -> None:
    """Orphan clients (孤儿单): in-force clients whose agent departed or who have none.

    \b
    --json keys: as_of, orphans: list of {client_id, name, region, departed_agent,
    departed_agent_name, supervisor_id, team, branch, policies, premium, orphaned_since,
    days_orphaned}, longest orphaned first.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_from(config_path)
    day = _date(as_of) or date.today()
    ag = _load(store, settings)
    df = orph.find_orphans(ag, day, branch)
    if as_json:
        echo_json({"as_of": day.isoformat(), "orphans": _records(df)})
        return
    click.echo(f"{len(df)} orphan clients / 孤儿单客户 (as of {day})")
    _table(df, ["client_id", "name", "region", "departed_agent", "supervisor_id", "policies",
                "premium", "orphaned_since", "days_orphaned"], limit)


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
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of the notices (default the app's default language).")
@click.option("--limit", type=int, default=50, help="Rows shown in the table (not --json).")
@store_option
@config_option
@json_option
def assign_command(month: str, on: str | None, branch: str | None, apply_: bool,
                   approver: str | None, notices_path: str | None, lang: str | None,
                   limit: int, store: str | None, config_path: str | None,
                   as_json: bool) -> None:
    """Propose a new agent for every orphan; write it only with --apply.

    Team of the departed agent's supervisor first (first-year agents first), at most
    orphans.cap_per_agent_month per agent per month counting what they already received, then
    the client's region, then the nearest region; the warmest existing connection, then the
    lighter book. Re-applying the same month writes nothing.

    \b
    --json keys: month, date, applied, written, notices (file or null), proposal: list of
    {client_id, client_name, region, departed_agent, supervisor_id, agent_id, agent_name,
    agent_region, rule, first_year, hops, warmth, book, received_this_month, connection,
    reason}.
    """
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
    lang = lang or settings.app.default_language
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
                assigned, clients, agents, month=month, language=lang,
                client_template=t("notice_client", lang), agent_template=t("notice_agent", lang),
                first_visit_days=settings.orphans.first_visit_days,
                separator=t("notice_separator", lang))
            out_file = Path(notices_path or f"orphans-notices-{month}.csv")
            orph.neutralise_cells(notes).to_csv(out_file, index=False, encoding="utf-8-sig")
    if as_json:
        echo_json({"month": month, "date": day.isoformat(), "applied": apply_,
                   "written": written, "notices": None if out_file is None else str(out_file),
                   "proposal": _records(proposal)})
        return
    got = proposal["agent_id"].notna().sum() if len(proposal) else 0
    click.echo(f"{month}: {len(proposal)} orphans, {got} proposed / 拟分配 {got} 位 "
               f"(T = {day})")
    _table(proposal, ["client_id", "agent_id", "rule", "reason"], limit)
    if apply_:
        click.echo(f"applied by {approver}: {written} new SERVES ties / 新建服务关系 {written} 条; "
                   f"notices / 通知: {out_file}")
    else:
        click.echo("proposal only: add --apply --approver ID to write it / 仅为建议，"
                   "加 --apply --approver 工号 才会写入")


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
def log_command(agent_id: str, client_id: str, type_: str, outcome: str, day: str | None,
                rating: str | None, note: str | None, store: str | None,
                config_path: str | None, as_json: bool) -> None:
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
    what = ("recorded / 已记录" if written
            else "already recorded, nothing changed / 已存在，未重复记录")
    click.echo(f"{what}: {rec['agent_id']} -> {rec['client_id']} {rec['type']} {rec['date']} "
               f"{rec['outcome']} ({rec['interaction_id']})")
    if written:
        click.echo("analysis snapshot is stale; the next map/paths/hubs rebuilds it / "
                   "分析快照已过期，下次查询时重建")


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
def due_command(agent_id: str | None, week: str | None, as_of: str | None, store: str | None,
                config_path: str | None, as_json: bool) -> None:
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
    week_rows = vis.due_in_week(status, week)
    roll = vis.rollup(status, agents)
    if as_json:
        echo_json({"week": week, "as_of": day.isoformat(), "visits": _records(week_rows),
                   "agents": _records(roll["agents"]), "teams": _records(roll["teams"])})
        return
    click.echo(f"{week} (as of {day}): visits to act on / 本周待办拜访")
    _table(week_rows, ["agent_id", "client_id", "visit", "due", "status", "done", "attempts",
                       "required"])
    click.echo("\nper agent / 按业务员")
    _table(roll["agents"], ["agent_id", "clients", "done", "overdue", "open", "attempts",
                            "required", "rating"])
    click.echo("\nper team / 按团队")
    _table(roll["teams"], ["team", "clients", "done", "overdue", "open", "attempts",
                           "required", "rating"])


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
def calendar_command(agent_id: str, week: str | None, events_path: str | None,
                     ics_path: str | None, as_of: str | None, gaps: bool, store: str | None,
                     config_path: str | None, as_json: bool) -> None:
    """The agent's week of visits (拜访计划), planned by quadrant, events and due visits.

    Quadrant I A clients at fixed times, last week's missed visits, the orphan visits due,
    quadrant III A clients 2-3 days before an event of their region, quadrant II A/B clients one
    region per day, quadrant IV A/B clients at the weekly contact time.

    \b
    --json keys: agent, week, slots: list of {day, start, end, kind, client_id, client_name,
    region, quadrant, abc, reason, experience, highlight, planned}, ics (file or null).
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
    click.echo(f"{ag.name(agent_id)} ({agent_id}) {week}: "
               f"{int(plan['planned'].sum()) if len(plan) else 0} planned / 已安排")
    view = plan.assign(mark=plan["highlight"].map({True: "*", False: ""}))
    planned = view["planned"].astype(bool) if len(view) else pd.Series(dtype=bool)
    _table(view.loc[planned], ["mark", "day", "start", "kind", "client_id", "client_name",
                               "quadrant", "reason", "experience"])
    if (~planned).any():
        click.echo(f"{int((~planned).sum())} more clients found no free time this week "
                   "(--json lists them) / 本周时间已排满")
    if ics_path:
        click.echo(f"calendar file / 日历文件: {ics_path}")


# -- referral funnel --------------------------------------------------------------------------
@click.command("funnel")
@click.option("--team", default=None, help="Only this team's agents.")
@store_option
@config_option
@json_option
def funnel_command(team: str | None, store: str | None, config_path: str | None,
                   as_json: bool) -> None:
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
    click.echo("per team / 按团队")
    _table(teams, list(teams.columns))
    click.echo("\nper agent / 按业务员")
    _table(agents, list(agents.columns), 50)


COMMANDS: list[click.Command] = [orphans_command, visits_command, calendar_command,
                                 funnel_command]
