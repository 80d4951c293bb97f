"""``graphcrm gaps`` and ``graphcrm rewards``: coverage gaps and the CVE reward ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click
import pandas as pd

from graphcrm.cli.access import cli_user, open_access_cli
from graphcrm.cli.common import (
    check_out,
    config_option,
    echo,
    echo_json,
    fail,
    json_option,
    open_existing_store,
    settings_from,
    store_option,
)
from graphcrm.cli.people import (
    lang_of,
    lang_option,
    load_graph_for,
    positive,
    resolve_or_fail,
)
from graphcrm.graph.strength import reference_date
from graphcrm.i18n import code, t
from graphcrm.metrics import needs, rewards
from graphcrm.model import Label, RelType
from graphcrm.wording import table_text, words_for_codes

AS_OF = click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]),
                     default=None, metavar="YYYY-MM-DD",
                     help="Reference date for ages and life stages (default: [metrics] as_of, "
                     "else the latest interaction or policy date in the store, as in the app).")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    return out.to_dict(orient="records")


@click.command("gaps")
@click.option("--client", "client_id", default=None, metavar="ID",
              help="One client: an id, or a name only one client has.")
@click.option("--agent", "agent_id", default=None, metavar="AGENT",
              help="The whole book of an agent (the clients it is the serving agent of): an "
                   "id, or a name only one agent has.")
@AS_OF
@store_option
@config_option
@json_option
@lang_option
def gaps(client_id: str | None, agent_id: str | None, as_of: datetime | None,
         store: str | None, config_path: str | None, as_json: bool, lang: str | None) -> None:
    """Life stage, needs and coverage gaps: why to visit a client again.

    \b
    Findings: 1 cover fits but needs changed, 2 fits and unchanged, 3 products do not meet
    the need, 4 sum insured too low, 5 large cover but for other needs (0 = no cover).

    \b
    Keys in --json: client_id / agent_id, as_of, clients: a list of {client_id, name,
    life_stage, stage_then, stage_reason, needs, held, missing, finding, finding_code,
    finding_text, protection_sum, total_sum, recommended_sum, reasons: [{code, text}]}, and
    for --agent
    summary: {finding_code: count}. The finding rules are in docs/metrics.md.
    """
    if (client_id is None) == (agent_id is None):
        fail("give exactly one of --client ID or --agent AGENT")
    settings = settings_from(config_path)
    lng = lang_of(lang)
    with open_existing_store(store, require_data=True) as s:
        clients = s.nodes(Label.CLIENT)
        agents = s.nodes(Label.AGENT, ["agent_id"])
        known = (set(agents["agent_id"].astype(str)) if agent_id is not None
                 else set(clients["client_id"].astype(str)))
        if (agent_id or client_id) not in known:  # a name: find who it is
            ag = load_graph_for(store, config_path)
            if agent_id is not None:
                agent_id = resolve_or_fail(ag, agent_id, label="Agent", what="agent", lang=lng)
            else:
                client_id = resolve_or_fail(ag, str(client_id), label="Client", what="client",
                                            lang=lng)
        policies = s.nodes(Label.POLICY)
        rels = s.relationships(types=[RelType.RELATIVE_OF.value, RelType.SERVES.value])
        ref: date = (as_of.date() if as_of else reference_date(
            s.interactions(columns=["date"]), policies, settings.metrics).date())
    ids = ([client_id] if client_id is not None
           else needs.agent_book(rels, str(agent_id), policies))
    table = needs.coverage_gaps(clients, policies, rels, ref, settings, client_ids=ids)
    table = table.merge(clients[["client_id", "name"]], on="client_id", how="left")
    table["finding_text"] = table["finding"].map(lambda f: needs.FINDINGS[int(f)][1])
    keys = ["client_id", "name", "life_stage", "stage_then", "stage_reason", "needs", "held",
            "missing", "finding", "finding_code", "finding_text", "protection_sum", "total_sum",
            "recommended_sum", "reasons"]
    table = table[keys]
    head: dict[str, Any] = ({"client_id": client_id} if client_id is not None
                            else {"agent_id": agent_id})
    head["as_of"] = ref.isoformat()
    if as_json:
        data = {**head, "clients": _records(table)}
        if agent_id is not None:
            data["summary"] = {str(k): int(v) for k, v in
                               table["finding_code"].value_counts().sort_index().items()}
            data["summary_by_finding"] = {str(k): int(v) for k, v in
                                          table["finding"].value_counts().sort_index().items()}
        echo_json(data)
        return
    if table.empty:
        echo(t("gaps_none", lng, id=agent_id, date=ref))
        return
    if agent_id is not None:
        echo(t("gaps_head", lng, id=agent_id, n=len(table), date=ref))
        for fcode, n in table["finding_code"].value_counts().sort_index().items():
            echo(f"  {code('finding', fcode, lng)}: {n}")
        echo("")
    sep = ", " if lng == "en" else "、"
    for row in table.itertuples(index=False):
        stage = code("stage", row.life_stage, lng)
        if row.stage_then and row.stage_then != row.life_stage:
            stage += t("stage_was", lng, then=code("stage", row.stage_then, lng))
        echo(f"{row.name or '—'} ({row.client_id}): {stage} · "
                   f"{code('finding', row.finding_code, lng)}")
        if lng == "en":
            echo(f"  {t('life_stage', lng)}: {words_for_codes(row.stage_reason)}")
        needs_text = sep.join(code("need", n, lng) for n in row.needs) or "—"
        held_text = sep.join(code("need", n, lng) for n in row.held) or "—"
        echo(f"  {t('needs', lng)}: {needs_text}   {t('held', lng)}: {held_text}")
        for reason in row.reasons:
            rc = str(reason["code"])
            words = (words_for_codes(reason["text"]) if lng == "en" else
                     t("missing_need", lng, need=code("need", rc.removeprefix("missing_"), lng))
                     if rc.startswith("missing_") else code("reason", rc, lng))
            echo(f"  - {words}")


@click.command("rewards")
@click.option("--period", required=True, metavar="YYYY-MM", help="The month to settle.")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the ledger lines to this CSV (UTF-8 with BOM, opens in Excel).")
@click.option("--paid", "paid_files", multiple=True, metavar="LEDGER.csv",
              help="An earlier ledger written by --out (repeatable): its lines of other "
              "periods are never paid again.")
@click.option("--settle", is_flag=True,
              help="Store this period's ledger in the store (append-only): its lines are never "
              "paid again by any later run.")
@click.option("--top", default=20, show_default=True, help="Earners shown in the table.")
@store_option
@config_option
@json_option
@lang_option
def rewards_command(period: str, out: str | None, paid_files: tuple[str, ...], settle: bool,
                    top: int, store: str | None, config_path: str | None, as_json: bool,
                    lang: str | None = None) -> None:
    """Chain-referral reward ledger (CVE) of one month: service points, never cash.

    Own first-year premium earns points; a referred person's first policy earns the referral
    chain above a share of its points per level ([rewards] level_shares, default 10% / 5% /
    2% for levels 1-3), capped per client per period.
    Self-referrals, shared identities, referees who were already clients, referrals dated
    after the policy, cycles and later referrers of the same referee earn nothing and are
    listed as exclusions. Running a period twice gives the same ledger; a line (policy,
    level) paid in an earlier ledger given with --paid pays 0 (status already_paid).

    --settle stores the ledger's paying lines in the store (append-only, with the time).
    Every later run of any period pays 0 for a chain line whose (earner, referee, level) was
    settled, or an own line whose (earner, policy) was (status already_settled); a later
    correction becomes an adjustment line (status adjustment) for the difference. Settling
    a period again stores nothing new.

    \b
    Keys in --json: period, note, lines: [{line_id, period, earner_id, source_policy_id,
    referee_id, level, base_points, share, points, capped, status, reason}], totals: [{earner_id,
    period, own_points, referral_points, points, lines, capped_lines}], exclusions:
    [{referrer_id, referee_id, referral_date, code, reason}], settled (lines stored by
    --settle in this run, 0 without it).
    """
    positive("--top", top)
    try:
        rewards.check_period(period)
    except ValueError as exc:
        fail(str(exc))
    if out:
        check_out(out, store=store, inputs=paid_files, what="ledger")
    settings = settings_from(config_path)
    try:
        paid = rewards.read_paid(paid_files)
    except ValueError as exc:
        fail(str(exc))
    with open_existing_store(store, require_data=True) as s:
        clients = s.nodes(Label.CLIENT, ["client_id", "name", "phone", "id_number"])
        policies = s.nodes(Label.POLICY)
        rels = s.relationships(types=[RelType.REFERRED.value])
        aliases = s.aliases()
        settled = pd.DataFrame(s.journal("reward_settled"), columns=rewards.SETTLED_COLUMNS)
        ledger = rewards.reward_ledger(clients, policies, rels, period, settings,
                                       aliases=aliases, paid=paid, settled=settled)
        stored = 0
        if settle:
            records = ledger.settlement()
            if records:
                with s.transaction():
                    stored = s.append_journal("reward_settled", records)
    if out:
        try:
            ledger.to_csv(out)
        except OSError as exc:
            fail(f"cannot write the ledger to {out}: {exc.strerror or exc}")
        with open_access_cli(store, config_path) as acc:
            acc.record(cli_user(), "download", out, f"reward ledger {period}")
    if as_json:
        echo_json({"period": period, "note": rewards.NOT_CASH,
                   "lines": _records(ledger.lines), "totals": _records(ledger.totals),
                   "exclusions": _records(ledger.exclusions), "settled": stored})
        return
    lng = lang_of(lang)
    names = clients.set_index("client_id")["name"] if "name" in clients else None

    def who(cid: object) -> str:
        name = names.get(cid) if names is not None else None
        return f"{name} ({cid})" if isinstance(name, str) and name else str(cid)

    echo(t("rewards_head", lng, period=period, lines=len(ledger.lines),
                 points=f"{ledger.lines['points'].sum():,.2f}", n=len(ledger.totals),
                 excluded=len(ledger.exclusions)))
    echo(t("points_note_long", lng) if lng == "zh" else rewards.NOT_CASH)
    unpaid = ledger.lines["status"].value_counts()
    for status in ("capped", "already_paid", "already_settled", "same_person", "not_eligible",
                   "adjustment"):
        if unpaid.get(status, 0):
            echo(f"{code('line_status', status, lng)}: {int(unpaid[status])}")
    if not ledger.totals.empty:
        totals = ledger.totals.head(top)
        table = pd.DataFrame({
            t("col_name", lng): [who(c) for c in totals["earner_id"]],
            t("col_own_points", lng): [f"{v:,.2f}" for v in totals["own_points"]],
            t("col_referral_points", lng): [f"{v:,.2f}" for v in totals["referral_points"]],
            t("col_points", lng): [f"{v:,.2f}" for v in totals["points"]],
            t("col_capped_lines", lng): totals["capped_lines"].to_numpy()})
        echo("")
        echo(table_text(table))
    if not ledger.exclusions.empty:
        echo("\n" + t("exclusions", lng) + ":")
        for excl, n in ledger.exclusions["code"].value_counts().sort_index().items():
            echo(f"  {code('exclusion', excl, lng)}: {n}")
    if settle:
        echo("\n" + t("settled_stored", lng, n=stored, store=s.location)
                   + ("" if stored else t("settled_nothing_new", lng)))
    if out:
        echo(f"\nledger written to {out}")


COMMANDS: list[click.Command] = [gaps, rewards_command]
