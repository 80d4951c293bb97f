"""``graphcrm stats``, ``graphcrm config`` and ``graphcrm export``: the store and its settings.

``graphcrm export --to DIR`` writes the six file templates (agents, organizations, clients,
policies, relationships, interactions) back out of any store, so they ingest again unchanged
(a round trip). ``graphcrm export --to neo4j://HOST:7687`` copies the store into Neo4j through
those same files and the same ingest job (validation, batches of ``neo4j.batch_rows``, MERGE).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

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
from graphcrm.cli.people import lang_of, lang_option
from graphcrm.config import Settings, settings_dict, settings_toml
from graphcrm.i18n import t
from graphcrm.ingest.job import IngestError, ingest_paths
from graphcrm.model import TABLES
from graphcrm.store.base import GraphStore, StoreError, is_neo4j_url
from graphcrm.store.export import copy_journals, export_tables
from graphcrm.wording import count_words, table_text
from graphcrm.workspace import open_store

__all__ = ["COMMANDS"]


@click.command("stats")
@store_option
@json_option
@lang_option
def stats(store: str | None, as_json: bool, lang: str | None) -> None:
    """Counts of every node and relationship type in the store.

    Keys in --json: every node label (Agent, Client, Organization, Policy), Prospect (clients
    without an in-force policy), every relationship type, INTERACTION, merged_ids, and
    data_version.
    """
    with open_existing_store(store) as s:
        counts = s.counts()
        version = s.data_version()
        location = s.location
    if as_json:
        echo_json({**counts, "data_version": version, "store": location})
        return
    lng = lang_of(lang)
    click.echo(f"{t('store', lng)}: {location}   {t('data_version', lng)}: {version}")
    table = pd.DataFrame({t("what", lng): [count_words(k, lng) for k in counts],
                          t("counts", lng): [f"{v:,}" for v in counts.values()]})
    click.echo(table_text(table))


@click.command("config")
@config_option
@json_option
def config_command(config_path: str | None, as_json: bool) -> None:
    """Print the effective settings as TOML (defaults, overridden by --config / $GRAPHCRM_CONFIG).

    Copy the output to a file, keep the keys you change, and pass it with --config or
    GRAPHCRM_CONFIG. Every tunable constant of GraphCRM is here; docs/config.md explains them.
    """
    settings = settings_from(config_path)
    if as_json:  # same keys as the TOML sections; the Neo4j password masked
        echo_json(settings_dict(settings))
        return
    click.echo(settings_toml(settings), nl=False)


def _copy_aliases(source: GraphStore, target: GraphStore) -> int:
    aliases = source.aliases()
    if not aliases:
        return 0
    frame = pd.DataFrame({"alias_id": list(aliases), "client_id": list(aliases.values()),
                          "source_file": None, "source_row": None,
                          "reason": f"copied from {source.location}"})
    with target.transaction():
        return target.add_aliases(frame)


@click.command("export")
@click.option("--to", "target", required=True, metavar="DIR|neo4j://HOST:7687",
              help="A folder for the CSV templates, or a Neo4j address to copy the store into.")
@click.option("--unmasked", is_flag=True,
              help="Write phones and ID numbers in full, for re-ingest (default: masked, "
              "138****1234; a masked copy does not re-ingest). Handle the files as personal data.")
@store_option
@config_option
@json_option
def export_command(target: str, unmasked: bool, store: str | None, config_path: str | None,
                   as_json: bool) -> None:
    """Write the CSV templates out of the store, or copy the store into Neo4j.

    导出: 把图库写回六个模板文件 (可再次导入), 或复制到 Neo4j 服务器。

    \b
    --to DIR              agents.csv, organizations.csv, clients.csv, policies.csv,
                          relationships.csv, interactions.csv (UTF-8 with BOM); ingesting
                          DIR into an empty store gives the same tables when
                          --unmasked is given (phones and ID numbers are masked
                          otherwise). Text cells starting with = + - @ get one
                          leading apostrophe so a spreadsheet never runs them;
                          ingest removes exactly that apostrophe (values stay exact).
    --to neo4j://HOST     the same files, ingested into Neo4j by the ingest job: validated,
                          batches of neo4j.batch_rows rows, MERGE on ids (re-running is safe),
                          then the merged identities. Credentials: GRAPHCRM_NEO4J_USER /
                          GRAPHCRM_NEO4J_PASSWORD (never on the command line).

    \b
    Keys in --json: store, to, tables (rows per table) for a folder; for Neo4j also
    data_version_before, data_version_after, files (per file: path, table, rows_read, accepted,
    rejected, merged, changed, seconds, rows_per_second, encoding, warnings, error), totals,
    aliases_copied, journal_copied (merged rows, undone merges and settled reward lines:
    the store's append-only journal), errors.

    \b
    Examples:
      graphcrm export --store crm.db --to backup/
      GRAPHCRM_NEO4J_PASSWORD=... graphcrm export --store crm.db --to neo4j://db.example:7687
    """
    settings = settings_from(config_path)
    with open_existing_store(store) as source:
        if not is_neo4j_url(target):
            for table in TABLES:
                check_out(str(Path(target) / f"{table.name}.csv"), store=store,
                          what="export")
            try:
                written = export_tables(source, target, unmasked=unmasked)
            except OSError as exc:
                fail(f"cannot write to {target}: {exc.strerror or exc}")
                return
            _audit(store, config_path, "export", target,
                   f"unmasked={str(unmasked).lower()} rows={sum(written.values())}")
            if as_json:
                echo_json({"store": source.location, "to": str(target), "tables": written,
                           "unmasked": unmasked})
                return
            echo(f"store: {source.location} -> {target}"
                 + ("  (UNMASKED: full phones and ID numbers)" if unmasked
                    else "  (phones and ID numbers masked; --unmasked for re-ingest)"))
            for name, n in written.items():
                echo(f"  {name + '.csv':<20}{n:>12,} rows")
            merged = source.counts().get("merged_ids", 0)
            if merged:
                echo(f"note: {merged:,} merged ids (aliases) are not part of the "
                           "templates and were not written")
            if source.journal("reward_settled"):
                click.echo("note: the settled reward ledger (--settle) is not part of the "
                           "templates; export to a Neo4j store copies it")
            return
        _copy_to_neo4j(source, target, settings, as_json)
        _audit(store, config_path, "export", target, "unmasked=true (neo4j copy)")


def _audit(store: str | None, config_path: str | None, action: str, target: str,
           detail: str) -> None:
    """An audit row for an export (who ran it, where to, masked or not)."""
    with open_access_cli(store, config_path) as acc:
        acc.record(cli_user(), action, target, detail)


def _copy_to_neo4j(source: GraphStore, target: str, settings: Settings, as_json: bool) -> None:
    try:
        neo = open_store(target, settings=settings)
    except StoreError as exc:
        fail(str(exc))
        return
    with neo, tempfile.TemporaryDirectory(prefix="graphcrm-export-") as tmp:
        export_tables(source, tmp)
        try:
            report = ingest_paths([tmp], neo, settings=settings)
        except IngestError as exc:
            fail(str(exc))
            return
        copied = journal = 0
        if not report.errors:
            try:
                copied = _copy_aliases(source, neo)
                journal = copy_journals(source, neo)
            except StoreError as exc:
                fail(f"aliases and journals: {exc}")
                return
        if as_json:
            echo_json({**report.as_dict(), "store": source.location, "to": neo.location,
                       "aliases_copied": copied, "journal_copied": journal})
        else:
            echo(f"store: {source.location} -> {neo.location}")
            echo(report.summary_table().drop(columns=["notes"]).to_string(index=False))
            echo(f"aliases copied: {copied:,}; journal records copied (merged rows, "
                       f"undone merges, settled reward lines): {journal:,}; data version "
                       f"{report.data_version_before} -> {neo.data_version()}")
    if report.errors:
        fail("; ".join(report.errors))


COMMANDS: list[click.Command] = [stats, config_command, export_command]
