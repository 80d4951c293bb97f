"""``graphcrm ingest``: build the graph from CSV/XLSX files, with a rejects file and a summary."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

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
from graphcrm.config import store_location
from graphcrm.ingest.identity import merge_candidates, merge_log, undo_merge
from graphcrm.ingest.job import (
    IngestError,
    IngestReport,
    check_rejects_path,
    ingest_paths,
    write_rejects,
)
from graphcrm.model import Label
from graphcrm.store.base import StoreError
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.workspace import open_store, snapshot_path, warm_graph


class _Bars:
    """A click progress bar per file, shown for files over ``min_rows`` rows (on stderr)."""

    def __init__(self, min_rows: int, enabled: bool) -> None:
        self.min_rows = min_rows
        self.enabled = enabled
        self.label: str | None = None
        self.bar: object | None = None
        self.done = 0

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled or total <= self.min_rows:
            return
        if label != self.label:
            self.close()
            self.label, self.done = label, 0
            self.bar = click.progressbar(length=total, label=f"{label:<20}", file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()  # type: ignore[attr-defined]
        self.bar.update(done - self.done)  # type: ignore[attr-defined]
        self.done = done
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)  # type: ignore[attr-defined]
            self.bar, self.label = None, None


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@store_option
@click.option("--rejects", "rejects_path", default=None, metavar="FILE",
              help="Where to write rejected rows (CSV, UTF-8 with BOM). "
                   "Default: settings.ingest.rejects_file (graphcrm-rejects.csv).")
@click.option("--no-warm", is_flag=True,
              help="Do not build the analysis graph after the load (the app and the metric "
                   "commands then build it on first use).")
@config_option
@json_option
def ingest_command(paths: tuple[str, ...], store: str | None, rejects_path: str | None,
                   no_warm: bool, config_path: str | None, as_json: bool) -> None:
    """Load CSV/XLSX files or folders into the store: validate, merge identities, upsert.

    导入: 读取文件或文件夹 (agents/业务员, organizations/机构, clients/客户, policies/保单,
    relationships/关系, interactions/互动), 校验每一行, 合并同一人, 写入图库。

    \b
    In the embedded store each file is written in one transaction (Ctrl-C leaves the store
    as before that file); in Neo4j in batches of [neo4j] batch_rows (docs/neo4j.md). Either
    way re-running the same input changes nothing. Column templates: docs/templates.md.
    After a load that changed data the analysis graph is built and saved beside an embedded
    store (--no-warm skips it) so the app opens at once.
    Exit code 0 when any row was accepted (rejected rows go to the rejects file), 1 with a
    one-line `error: ...` when nothing was usable.

    \b
    Keys in --json: data_version_before, data_version_after, files (per file: path, table,
    rows_read, accepted, rejected, merged, changed, seconds, rows_per_second, encoding,
    warnings, error), totals (files, rows_read, accepted, rejected, merged, changed, seconds,
    rows_per_second), rejects (count), rejects_file (path or null), merges (alias_id,
    client_id, source_file, source_row, reason), warnings, errors, store,
    analysis_graph_seconds (warm-up time, or null when skipped).

    \b
    Example:
      graphcrm ingest data/sample --store crm.db
    """
    settings = settings_from(config_path)
    new_file = _new_store_file(store)
    check_out(rejects_path or settings.ingest.rejects_file, store=store, inputs=paths,
              what="rejects file")
    try:  # before any row is written: a rejects file that cannot be written stops the job now
        check_rejects_path(rejects_path or settings.ingest.rejects_file)
    except IngestError as exc:
        fail(str(exc))
        return
    try:
        target = open_store(store, create=True, settings=settings)
    except StoreError as exc:
        fail(str(exc))
        return
    bars = _Bars(settings.ingest.progress_min_rows, enabled=not as_json)
    warm_seconds: float | None = None
    try:
        with target:
            report = ingest_paths(list(paths), target, settings=settings, progress=bars)
            location = target.location
            if (not no_warm and report.data_version_after != report.data_version_before
                    and snapshot_path(target) is not None):
                # build the graph and the first metrics now, once, rather than on the first
                # click in the app (seconds to minutes on a big store)
                if not as_json:
                    echo("building the analysis graph for the app / 正在生成分析图谱 ...",
                               err=True)
                started = time.perf_counter()
                warm_graph(target, settings)
                warm_seconds = round(time.perf_counter() - started, 2)
    except IngestError as exc:
        bars.close()
        _discard_if_empty(new_file)
        fail(str(exc))
        return
    except KeyboardInterrupt:
        bars.close()
        _discard_if_empty(new_file)
        if "://" in str(target.location):
            fail("interrupted: batches already committed to Neo4j are kept; re-run the same "
                 "files to finish (MERGE makes it safe)")
        else:
            fail("interrupted: the file being written was rolled back; earlier files are kept")
        return
    bars.close()
    rejects_file = None
    if len(report.rejects):
        rejects_file = write_rejects(report.rejects,
                                     rejects_path or settings.ingest.rejects_file)
    accepted = report.accepted
    if as_json:
        echo_json({**report.as_dict(), "store": location,
                   "rejects_file": str(rejects_file) if rejects_file else None,
                   "analysis_graph_seconds": warm_seconds})
    else:
        _print_report(report, location, rejects_file)
        if warm_seconds is not None:
            echo(f"analysis graph ready for the app in {warm_seconds:.1f}s "
                       f"(saved beside the store)")
    if accepted == 0:
        _discard_if_empty(new_file)
        why = f"{report.rejected:,} rows rejected" if report.rejected else "no data rows"
        extra = f" (see {rejects_file})" if rejects_file else ""
        errors = "; ".join(report.errors)
        fail(f"nothing accepted: {why}{extra}" + (f"; {errors}" if errors else ""))


def _new_store_file(store: str | None) -> Path | None:
    """The embedded store's file when this run is about to create it (None otherwise)."""
    loc = store_location(store)
    if "://" in loc and not loc.startswith("sqlite:///"):
        return None
    path = Path(loc.removeprefix("sqlite:///"))
    return None if path.exists() else path


def _discard_if_empty(path: Path | None) -> None:
    """A failed first load leaves no empty store behind (so no later command mistakes an empty
    file for a store); a store that got any data, or existed before, is kept."""
    if path is None or not path.exists():
        return
    with SQLiteStore(path, create=False) as s:
        if any(s.counts().values()):
            return
    for suffix in ("", "-wal", "-shm", "-journal", ".analysis"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _print_report(report: object, location: str, rejects_file: Path | None) -> None:
    assert isinstance(report, IngestReport)
    echo(f"store: {location}")
    echo(f"{'file':<28}{'table':<15}{'read':>10}{'accepted':>10}{'rejected':>10}"
               f"{'merged':>8}{'changed':>10}{'seconds':>9}{'rows/s':>11}")
    for f in report.files:
        echo(f"{Path(f.path).name[:27]:<28}{f.table:<15}{f.rows_read:>10,}"
                   f"{f.accepted:>10,}{f.rejected:>10,}{f.merged:>8,}{f.changed:>10,}"
                   f"{f.seconds:>9.2f}{f.rows_per_second:>11,.0f}")
        if f.error:
            echo(f"  error: {f.error}")
        for w in f.warnings:
            echo(f"  warning: {w}")
    for w in report.warnings:
        echo(f"warning: {w}")
    total_read = sum(f.rows_read for f in report.files)
    seconds = sum(f.seconds for f in report.files)
    merged = sum(f.merged for f in report.files)
    rate = total_read / seconds if seconds else 0.0
    echo(f"total: {len(report.files)} files, {total_read:,} rows read, "
               f"{report.accepted:,} accepted, {report.rejected:,} rejected, {merged:,} merged "
               f"in {seconds:.2f}s ({rate:,.0f} rows/s); data version "
               f"{report.data_version_before} -> {report.data_version_after}"
               + (" (no change)" if report.data_version_before == report.data_version_after
                  else ""))
    _print_merges(report)
    if rejects_file is not None:
        echo(f"rejects: {len(report.rejects):,} problems in {report.rejected:,} rows "
                   f"written to {rejects_file}")


#: merges listed one per line in the text summary (the rest are counted; --json lists all)
MERGES_SHOWN = 20


def _print_merges(report: object) -> None:
    """Which source rows were merged into which client, and why (同一人合并)."""
    assert isinstance(report, IngestReport)
    merges = report.merges
    if merges.empty:
        return
    echo(f"merged / 合并: {len(merges):,} source rows were the same person as another "
               "client")
    for m in merges.head(MERGES_SHOWN).itertuples():
        echo(f"  {m.alias_id} -> {m.client_id}  ({m.reason}; {m.source_file} row "
                   f"{m.source_row})")
    if len(merges) > MERGES_SHOWN:
        echo(f"  ... and {len(merges) - MERGES_SHOWN:,} more (--json lists every merge)")


@click.group("merges", invoke_without_command=True)
@click.option("--candidates", is_flag=True,
              help="List possible duplicates for review (shared phone; same name and birth "
                   "date) instead of the merges.")
@store_option
@json_option
@click.pass_context
def merges_command(ctx: click.Context, candidates: bool, store: str | None,
                   as_json: bool) -> None:
    """Merged identities: list them, review possible duplicates, undo a merge.

    合并记录 / 疑似重复 / 撤销合并。

    \b
    graphcrm merges                 every merge (alias -> kept client, source, status)
    graphcrm merges --candidates    pairs that may be one person, never merged silently
    graphcrm merges undo ALIAS      the alias becomes its own client again (recorded)

    Keys in --json: merges: alias_id, client_id, source_file, status (merged / undone),
    undone_at, note; --candidates: client_id, other_id, reason, name, other_name, phone,
    birth_date, other_birth_date, gender, other_gender.
    """
    if ctx.invoked_subcommand is not None:
        return
    with open_existing_store(store) as s:
        if candidates:
            table = merge_candidates(s.nodes(Label.CLIENT, ["client_id", "name", "phone",
                                                            "id_number", "birth_date",
                                                            "gender"]))
        else:
            table = merge_log(s)
    if as_json:
        echo_json(table.astype(object).where(table.notna(), None).to_dict(orient="records"))
        return
    if table.empty:
        echo("no possible duplicates / 无疑似重复" if candidates
                   else "no merges / 无合并记录")
        return
    for r in table.itertuples():
        if candidates:
            echo(f"{r.client_id} {r.name}  <->  {r.other_id} {r.other_name}  "
                       f"({r.reason}; born {r.birth_date or '?'} / {r.other_birth_date or '?'})")
        else:
            extra = f", undone {r.undone_at}" if r.status == "undone" else ""
            echo(f"{r.alias_id} -> {r.client_id}  ({r.status}{extra})")


@merges_command.command("undo")
@click.argument("alias")
@click.option("--note", default=None, help="Why the merge is undone (recorded).")
@store_option
@json_option
def merges_undo_command(alias: str, note: str | None, store: str | None,
                        as_json: bool) -> None:
    """Undo the merge of ALIAS: it becomes its own client again; the undo is recorded.

    Policies, ties and interactions written to the kept client stay there; re-ingest the files
    that named ALIAS to move them back.
    """
    with open_existing_store(store) as s:
        try:
            done = undo_merge(s, alias, note=note)
        except KeyError as exc:
            fail(str(exc.args[0]))
            return
    if as_json:
        echo_json(done)
        return
    restored = ("restored as its own client" if done["restored"]
                else "no original row on record: re-ingest its file to restore it")
    echo(f"undone: {alias} no longer resolves to {done['client_id']} ({restored})")


COMMANDS: list[click.Command] = [ingest_command, merges_command]
