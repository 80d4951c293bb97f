"""Re-runs of a changed file check only its changed rows (issue 15), on real CSV files and real
SQLite stores.

The store notes, in the transaction that writes a file, a hash of each row applied as itself
(and of its key). A re-run of a changed file of that name validates, resolves and writes only
the rows not among them, unless a changed row could interact with an unchanged one; then every
row is checked. Every scenario below runs the same edited files into two stores loaded alike,
once checking only the changed rows and once every row (``rerun_changed_rows_only = false``,
the code before), and compares the two stores and reports exactly.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from graphcrm.config import Settings
from graphcrm.ingest.job import IngestReport, ingest_paths
from graphcrm.model import Label
from graphcrm.store.sqlite import SQLiteStore

from .conftest import SAMPLE_DIR

Rows = list[dict[str, str]]
Edit = Callable[[Path], None]


def _rows(path: Path) -> Rows:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: Rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _edit(folder: Path, name: str, change: Callable[[Rows], Rows]) -> None:
    path = folder / name
    _write(path, change(_rows(path)))


def _settings(changed_rows_only: bool) -> Settings:
    settings = Settings()
    settings.ingest.rerun_changed_rows_only = changed_rows_only
    return settings


def _dump(store: SQLiteStore) -> dict[str, object]:
    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(list(frame.columns)).reset_index(drop=True)

    out: dict[str, object] = {label.value: ordered(store.nodes(label)) for label in Label}
    out["relationships"] = ordered(store.relationships())
    out["interactions"] = ordered(store.interactions())
    out["counts"] = store.counts()
    out["data_version"] = store.data_version()
    with sqlite3.connect(store.path) as conn:
        out["aliases"] = sorted(conn.execute("SELECT * FROM aliases"))
        out["journal"] = sorted(conn.execute("SELECT kind, payload FROM journal"))
    return out


def _facts(report: IngestReport) -> tuple[object, ...]:
    files = [(Path(f.path).name, f.table, f.rows_read, f.accepted, f.rejected, f.merged,
              f.changed, f.error, f.warnings, f.encoding) for f in report.files]
    return (files, report.rejects.to_dict(orient="records"),
            report.merges.to_dict(orient="records"), report.data_version_before,
            report.data_version_after)


def _assert_same_store(a: SQLiteStore, b: SQLiteStore) -> None:
    da, db = _dump(a), _dump(b)
    assert da.keys() == db.keys()
    for key in da:
        if isinstance(da[key], pd.DataFrame):
            pd.testing.assert_frame_equal(da[key], db[key], obj=key)  # type: ignore[arg-type]
        else:
            assert da[key] == db[key], key


def _checked(report: IngestReport) -> dict[str, int]:
    """Rows checked per file (every row when the report says nothing)."""
    return {Path(f.path).name: f.rows_read if f.rows_checked is None else f.rows_checked
            for f in report.files}


def _both(tmp_path: Path, edit: Edit, before: Edit | None = None
          ) -> tuple[IngestReport, IngestReport, SQLiteStore, SQLiteStore]:
    """Load the sample (after ``before``) into two stores, then re-run the edited copy into
    one checking only the changed rows and into the other checking every row; both compared."""
    first = tmp_path / "first"
    shutil.copytree(SAMPLE_DIR, first)
    if before is not None:
        before(first)
    again = tmp_path / "again"
    shutil.copytree(first, again)
    edit(again)
    fast, full = SQLiteStore(tmp_path / "fast.db"), SQLiteStore(tmp_path / "full.db")
    for store in (fast, full):
        ingest_paths([first], store, settings=Settings())
    fast_report = ingest_paths([again], fast, settings=_settings(True))
    full_report = ingest_paths([again], full, settings=_settings(False))
    assert _facts(fast_report) == _facts(full_report)
    _assert_same_store(fast, full)
    assert all(f.rows_checked in (None, 0) for f in full_report.files)  # 0: not read
    return fast_report, full_report, fast, full


# -- edits --------------------------------------------------------------------------------------
def _every(n: int, column: str, values: tuple[str, str]) -> Callable[[Rows], Rows]:
    def change(rows: Rows) -> Rows:
        for i in range(3, len(rows), n):
            rows[i][column] = values[0] if rows[i][column] != values[0] else values[1]
        return rows
    return change


def _values(folder: Path) -> None:
    _edit(folder, "agents.csv", _every(5, "name", ("王五", "赵六")))
    _edit(folder, "clients.csv", _every(97, "city", ("拉萨", "西宁")))
    _edit(folder, "policies.csv", _every(89, "annual_premium", ("1234", "4321")))
    _edit(folder, "relationships.csv", _every(101, "confidence", ("0.5", "0.25")))
    _edit(folder, "interactions.csv", _every(83, "outcome", ("顺利", "拒绝")))


def test_a_value_edit_rerun_checks_only_the_edited_rows_and_equals_checking_all(
        tmp_path: Path) -> None:
    fast, _, store, _ = _both(tmp_path, _values)
    checked = _checked(fast)
    rows = {Path(f.path).name: f.rows_read for f in fast.files}
    for name, n in (("clients.csv", 97), ("policies.csv", 89), ("relationships.csv", 101),
                    ("interactions.csv", 83)):
        edited = len(range(3, rows[name], n))
        assert checked[name] == edited, name  # only the edited rows were read and checked
    assert checked["agents.csv"] == rows["agents.csv"]  # supervisor circles: every row
    written = {Path(f.path).name: f.changed for f in fast.files}
    assert written["clients.csv"] == len(range(3, rows["clients.csv"], 97))
    # a second re-run of the same edited files reads nothing at all
    again = ingest_paths([tmp_path / "again"], store, settings=_settings(True))
    assert set(_checked(again).values()) == {0}


def _dup_first(folder: Path) -> None:
    # a new first row with the key of an unchanged row: checking every row rejects the
    # unchanged row as the duplicate (first at row 2)
    def change(rows: Rows) -> Rows:
        copy = dict(rows[10], city="拉萨" if rows[10]["city"] != "拉萨" else "西宁")
        return [copy, *rows]
    _edit(folder, "clients.csv", change)


def _dup_then_unknown(folder: Path) -> None:
    # a new first policy with an unchanged policy's id and an unknown holder: it is still good
    # when duplicates are looked for (the unchanged one is then rejected), and rejected after
    def change(rows: Rows) -> Rows:
        return [dict(rows[20], holder_id="C-NOBODY"), *rows]
    _edit(folder, "policies.csv", change)


def _reversed_tie(folder: Path) -> None:
    # B–A before an unchanged A–B: one tie, the first row's values win
    def change(rows: Rows) -> Rows:
        tie = next(r for r in rows if r["type"] in ("FRIEND_OF", "COLLEAGUE_OF"))
        back = dict(tie, src_id=tie["dst_id"], dst_id=tie["src_id"], confidence="0.3")
        return [back, *rows]
    _edit(folder, "relationships.csv", change)


def _merge_into_unchanged(folder: Path) -> None:
    # a new client with an unchanged client's ID number is merged into it; a new tie names
    # the new id (rewritten to the kept client)
    clients = _rows(folder / "clients.csv")
    kept = next(r for r in clients if r["id_number"])
    new = dict(kept, client_id="C9999991", phone="", city="")
    _write(folder / "clients.csv", [*clients, new])
    other = next(r for r in clients if r["client_id"] != kept["client_id"])
    _edit(folder, "relationships.csv", lambda rows: [
        *rows, dict(rows[0], src_id="C9999991", dst_id=other["client_id"], type="FRIEND_OF",
                    kind="", confidence="0.9")])


def _deleted_added_rejected(folder: Path) -> None:
    # rows gone from the file, a new client referred to by a new tie in the same job, a tie
    # to an unknown id (rejected), a bad date (rejected)
    def clients(rows: Rows) -> Rows:
        return [*rows[5:], dict(rows[0], client_id="C9999992", id_number="", phone="")]

    def ties(rows: Rows) -> Rows:
        return [*rows[:40], *rows[60:],
                dict(rows[0], src_id="C9999992", dst_id=rows[7]["dst_id"], type="FRIEND_OF",
                     kind="", confidence="0.7"),
                dict(rows[0], src_id="C9999992", dst_id="C-NOBODY", type="FRIEND_OF", kind="")]

    def policies(rows: Rows) -> Rows:
        rows[30]["start_date"] = "not a date"
        return rows

    _edit(folder, "clients.csv", clients)
    _edit(folder, "relationships.csv", ties)
    _edit(folder, "policies.csv", policies)


def _shuffled(folder: Path) -> None:
    # the same rows in another order: nothing to check, nothing to write
    _edit(folder, "relationships.csv", lambda rows: rows[::-1])
    _edit(folder, "interactions.csv", lambda rows: rows[1::2] + rows[::2])


def _supervisor_circle(folder: Path) -> None:
    def change(rows: Rows) -> Rows:
        a, b = rows[2], rows[3]
        a["supervisor_id"], b["supervisor_id"] = b["agent_id"], a["agent_id"]
        return rows
    _edit(folder, "agents.csv", change)


def _blank_interaction_ids(folder: Path) -> None:
    # events without an id get a derived one, numbered among identical events of the file
    def change(rows: Rows) -> Rows:
        for r in rows[:12]:
            r["interaction_id"] = ""
        for i in (1, 3, 5):
            rows[i].update({k: rows[0][k] for k in ("agent_id", "client_id", "type", "date",
                                                      "outcome")})
            rows[i]["note"] = f"第{i}次"
        return rows
    _edit(folder, "interactions.csv", change)


def _drop_first_identical_event(folder: Path) -> None:
    _edit(folder, "interactions.csv", lambda rows: [rows[0], *rows[2:]])


@pytest.mark.parametrize("edit, every_row, fewer", [
    (_dup_first, {"clients.csv"}, set()),
    (_dup_then_unknown, {"policies.csv"}, set()),
    (_reversed_tie, {"relationships.csv"}, set()),
    (_merge_into_unchanged, set(), {"clients.csv", "relationships.csv"}),
    (_deleted_added_rejected, set(), {"clients.csv", "relationships.csv", "policies.csv"}),
    (_shuffled, set(), {"relationships.csv", "interactions.csv"}),
    (_supervisor_circle, {"agents.csv"}, set()),
])
def test_changed_rows_that_meet_unchanged_ones_give_what_checking_every_row_gives(
        tmp_path: Path, edit: Edit, every_row: set[str], fewer: set[str]) -> None:
    fast, _, _, _ = _both(tmp_path, edit)
    checked = _checked(fast)
    rows = {Path(f.path).name: f.rows_read for f in fast.files}
    for name in every_row:  # the file was checked whole (the outcome depends on every row)
        assert checked[name] == rows[name], name
    for name in fewer:  # only its changed rows were checked
        assert checked[name] < rows[name] / 10, name


def _family_phone(folder: Path) -> None:
    # two stored clients share a phone (different names: not one person)
    def change(rows: Rows) -> Rows:
        kept = next(i for i, r in enumerate(rows) if r["id_number"] and r["phone"])
        other = next(i for i, r in enumerate(rows) if i != kept and r["name"] != rows[kept]["name"])
        rows[other]["phone"] = rows[kept]["phone"]
        return rows
    _edit(folder, "clients.csv", change)


def _merge_next_to_family_phone(folder: Path) -> None:
    clients = _rows(folder / "clients.csv")
    kept = next(r for r in clients if r["id_number"] and r["phone"])
    _write(folder / "clients.csv",
           [*clients, dict(kept, client_id="C9999993", city="", occupation="")])


def test_a_merge_whose_group_reaches_other_stored_clients_checks_every_row(tmp_path: Path
                                                                          ) -> None:
    fast, _, _, _ = _both(tmp_path, _merge_next_to_family_phone, before=_family_phone)
    assert _checked(fast)["clients.csv"] == 3001  # the phone's other holder: every row
    assert fast.merges["alias_id"].tolist() == ["C9999993"]


def test_a_duplicate_before_an_unchanged_row_rejects_the_unchanged_row(tmp_path: Path
                                                                      ) -> None:
    fast, _, _, _ = _both(tmp_path, _dup_first)
    reasons = fast.rejects[fast.rejects["file"] == "clients.csv"]
    assert reasons["reason"].str.startswith("duplicate id (first at row 2)").tolist() == [True]
    assert reasons["row"].tolist() == [13]  # the unchanged row (row 12), moved down by one


def test_events_without_an_id_are_numbered_as_when_every_row_is_checked(tmp_path: Path
                                                                         ) -> None:
    fast, _, store, _ = _both(tmp_path, _drop_first_identical_event,
                              before=_blank_interaction_ids)
    checked = _checked(fast)
    # every event without an id was checked again, the others not
    assert 11 <= checked["interactions.csv"] < 20
    notes = store.interactions()
    assert "第3次" in set(notes["note"].dropna())


def test_rows_are_checked_whole_again_once_their_table_changed(tmp_path: Path) -> None:
    fast_store = SQLiteStore(tmp_path / "fast.db")
    ingest_paths([SAMPLE_DIR], fast_store, settings=Settings())
    row = _rows(SAMPLE_DIR / "clients.csv")[0]
    update = tmp_path / "clients_update.csv"
    update.write_text(f"client_id,name,city\n{row['client_id']},{row['name']},新城市\n",
                      encoding="utf-8")
    ingest_paths([update], fast_store, settings=Settings())  # clients changed since
    again = tmp_path / "again"
    shutil.copytree(SAMPLE_DIR, again)
    _edit(again, "clients.csv", _every(97, "occupation", ("教师", "医生")))
    _edit(again, "policies.csv", _every(89, "annual_premium", ("1234", "4321")))
    report = ingest_paths([again], fast_store, settings=Settings())
    checked = _checked(report)
    rows = {Path(f.path).name: f.rows_read for f in report.files}
    assert checked["clients.csv"] == rows["clients.csv"]  # its note no longer holds
    assert checked["policies.csv"] < rows["policies.csv"]
    # the row the update changed is set back to the file's value, as checking every row does
    assert fast_store.get_nodes(Label.CLIENT, [row["client_id"]])["city"].tolist() == [
        row["city"]]


def test_the_row_note_commits_and_rolls_back_with_the_rows(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    ingest_paths([SAMPLE_DIR], store, settings=Settings())
    again = tmp_path / "again"
    shutil.copytree(SAMPLE_DIR, again)
    _edit(again, "clients.csv", _every(97, "city", ("拉萨", "西宁")))

    def note() -> bytes:
        with sqlite3.connect(store.path) as conn:
            return conn.execute("SELECT row_hashes FROM ingested_rows WHERE "
                                "table_name = 'clients'").fetchone()[0]

    before = note()

    def stop(label: str, done: int, total: int) -> None:
        if label == "clients.csv":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_paths([again], store, settings=Settings(), progress=stop)
    assert note() == before  # rolled back with the rows: still the last applied version
    report = ingest_paths([again], store, settings=Settings())
    assert _checked(report)["clients.csv"] == len(range(3, 3000, 97))
    assert note() != before


def test_after_a_merge_is_undone_a_file_naming_the_alias_moves_its_rows(tmp_path: Path
                                                                        ) -> None:
    # the undo's documented remedy: re-ingest the files that named the alias id; their rows
    # were written to the kept client, so neither the file nor its rows may be skipped
    from graphcrm.ingest.identity import undo_merge

    store = SQLiteStore(tmp_path / "s.db")
    ingest_paths([SAMPLE_DIR], store, settings=Settings())
    clients = _rows(SAMPLE_DIR / "clients.csv")
    kept = next(r for r in clients if r["id_number"])
    other = next(r for r in clients if r["client_id"] != kept["client_id"])
    more = tmp_path / "clients_more.csv"
    _write(more, [dict(kept, client_id="C9999994", city="")])
    assert ingest_paths([more], store, settings=Settings()).merges["alias_id"].tolist() == [
        "C9999994"]
    ties = tmp_path / "ties" / "relationships.csv"
    ties.parent.mkdir()
    _write(ties, [*_rows(SAMPLE_DIR / "relationships.csv")[:50],
                  {"src_id": "C9999994", "dst_id": other["client_id"], "type": "FRIEND_OF",
                   "kind": "", "start_date": "", "source": "", "confidence": "0.9",
                   "converted": "", "approved_by": ""}])
    ingest_paths([ties], store, settings=Settings())
    undo_merge(store, "C9999994")
    report = ingest_paths([ties], store, settings=Settings())
    assert report.files[0].changed == 1
    rel = store.relationships()
    pair = {tuple(sorted((s, d))) for s, d in zip(rel["src_id"], rel["dst_id"], strict=True)}
    assert tuple(sorted(("C9999994", other["client_id"]))) in pair
