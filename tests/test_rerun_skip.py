"""Re-runs skip files the store already holds as they are (issue 15), on real files and a
real SQLite store.

A file is skipped only when its bytes were applied before (noted in the transaction that wrote
its rows), it had no reject, and nothing has changed its table since. Each test below shows a
case where skipping would give a different store than reading, and checks the file is read.
"""

from __future__ import annotations

import csv
import itertools
import shutil
import sqlite3
from pathlib import Path

import pytest

from graphcrm.config import Settings
from graphcrm.ingest.job import ingest_paths
from graphcrm.model import Label
from graphcrm.store.sqlite import SQLiteStore

from .conftest import SAMPLE_DIR

SKIP_NOTE = "not read again"


def _skipped(report: object) -> set[str]:
    return {Path(f.path).name for f in report.files  # type: ignore[attr-defined]
            if any(SKIP_NOTE in w for w in f.warnings)}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_no_op_rerun_reads_no_file_and_reports_the_first_counts(tmp_store: SQLiteStore
                                                                   ) -> None:
    first = ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    assert first.rejected == 0 and not _skipped(first)
    version, counts = tmp_store.data_version(), tmp_store.counts()
    again = ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    assert _skipped(again) == {p.name for p in SAMPLE_DIR.iterdir()}
    assert tmp_store.data_version() == version and tmp_store.counts() == counts
    before = {Path(f.path).name: (f.rows_read, f.accepted, f.merged) for f in first.files}
    after = {Path(f.path).name: (f.rows_read, f.accepted, f.merged) for f in again.files}
    assert after == before
    assert all(f.changed == 0 and f.rejected == 0 for f in again.files)


def test_a_changed_file_is_read_and_only_it(tmp_path: Path, tmp_store: SQLiteStore) -> None:
    ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    edited = tmp_path / "edited"
    shutil.copytree(SAMPLE_DIR, edited)
    rows = _rows(edited / "clients.csv")
    target = rows[3]["client_id"]
    rows[3]["city"] = "拉萨" if rows[3]["city"] != "拉萨" else "西宁"
    _write(edited / "clients.csv", rows)
    report = ingest_paths([edited], tmp_store, settings=Settings())
    assert "clients.csv" not in _skipped(report)
    assert _skipped(report) == {p.name for p in SAMPLE_DIR.iterdir()} - {"clients.csv"}
    assert {Path(f.path).name: f.changed for f in report.files}["clients.csv"] == 1
    assert tmp_store.get_nodes(Label.CLIENT, [target])["city"].tolist() == [rows[3]["city"]]


def test_a_file_is_read_again_when_its_table_changed_since(tmp_path: Path,
                                                           tmp_store: SQLiteStore) -> None:
    ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    row = _rows(SAMPLE_DIR / "clients.csv")[0]
    update = tmp_path / "clients_update.csv"
    update.write_text(f"client_id,name,city\n{row['client_id']},{row['name']},新城市\n",
                      encoding="utf-8")
    ingest_paths([update], tmp_store, settings=Settings())
    assert tmp_store.get_nodes(Label.CLIENT, [row["client_id"]])["city"].tolist() == ["新城市"]
    # the original clients file puts the old city back, as it always did: not skipped
    report = ingest_paths([SAMPLE_DIR / "clients.csv"], tmp_store, settings=Settings())
    assert not _skipped(report) and report.files[0].changed == 1
    assert tmp_store.get_nodes(Label.CLIENT, [row["client_id"]])["city"].tolist() == [
        row["city"]]
    # and now the table is as that file left it: the next run skips it
    assert _skipped(ingest_paths([SAMPLE_DIR / "clients.csv"], tmp_store,
                                 settings=Settings())) == {"clients.csv"}


def test_a_file_with_rejects_is_always_read(tmp_path: Path, tmp_store: SQLiteStore) -> None:
    # a relationship to a client not yet known is rejected; once the client exists a re-run
    # of the same bytes must accept it, so such a file is never skipped
    ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    client = _rows(SAMPLE_DIR / "clients.csv")[0]["client_id"]
    ties = tmp_path / "relationships.csv"
    ties.write_text("src_id,type,dst_id\n" f"{client},FRIEND_OF,NEW-1\n",
                    encoding="utf-8")
    first = ingest_paths([ties], tmp_store, settings=Settings())
    assert first.rejected == 1
    clients = tmp_path / "clients.csv"
    clients.write_text("client_id,name\nNEW-1,新客户\n", encoding="utf-8")
    ingest_paths([clients], tmp_store, settings=Settings())
    again = ingest_paths([ties], tmp_store, settings=Settings())
    assert not _skipped(again) and again.rejected == 0 and again.files[0].changed == 1


def test_a_rolled_back_file_leaves_no_note(tmp_store: SQLiteStore) -> None:
    def stop(label: str, done: int, total: int) -> None:
        if label == "clients.csv":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings(), progress=stop)
    conn = sqlite3.connect(tmp_store.path)
    noted = {r[0] for r in conn.execute("SELECT table_name FROM ingested_files")}
    conn.close()
    assert "clients" not in noted and {"agents", "organizations"} <= noted
    report = ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    assert "clients.csv" not in _skipped(report)
    assert _skipped(report) == {"agents.csv", "organizations.csv"}
    assert tmp_store.counts()["Client"] == len(_rows(SAMPLE_DIR / "clients.csv"))


def test_forget_makes_every_file_read_again(tmp_store: SQLiteStore) -> None:
    ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    cid = _rows(SAMPLE_DIR / "clients.csv")[0]["client_id"]
    tmp_store.forget_client(cid, "ERASED-1")
    report = ingest_paths([SAMPLE_DIR], tmp_store, settings=Settings())
    assert not _skipped(report)


# -- narrow files: the reference check reads the stored ids once; blank columns are literals ---
def test_reference_check_by_one_scan_equals_asking_per_id(tmp_path: Path) -> None:
    from graphcrm.ingest.validate import KnownIds
    from graphcrm.model import Label as L

    store = SQLiteStore(tmp_path / "s.db")
    try:
        ingest_paths([SAMPLE_DIR], store, settings=Settings())
        clients = [r["client_id"] for r in _rows(SAMPLE_DIR / "clients.csv")]
        agents = [r["agent_id"] for r in _rows(SAMPLE_DIR / "agents.csv")]
        ids = [*clients[:50], *agents[:5], "NOBODY", clients[0]]
        asked = KnownIds(store, ask_store=True, scan_min_ids=10**9).lookup(ids)
        scanning = KnownIds(store, ask_store=True, scan_min_ids=1)
        snap = scanning.snapshot()
        scanned = scanning.lookup(ids)
        assert list(scanned) == list(asked)
        assert list(asked[:50]) == [L.CLIENT.value] * 50 and asked[-2] is None
        assert list(asked[50:55]) == [L.AGENT.value] * 5
        # a restore before the scan forgets it: the store is asked again, not trusted as read
        scanning.restore(snap)
        assert list(scanning.lookup(ids)) == list(asked)
    finally:
        store.close()


def test_an_edge_list_file_ingests_the_same_with_either_reference_check(tmp_path: Path
                                                                        ) -> None:
    clients = [r["client_id"] for r in _rows(SAMPLE_DIR / "clients.csv")]
    edges = tmp_path / "relationships.csv"
    lines = ["src_id,dst_id,type"]
    lines += [f"{a},{b},FRIEND_OF" for a, b in itertools.pairwise(clients[:41])]
    lines += [f"{clients[0]},GHOST,FRIEND_OF", f"{clients[2]},{clients[1]},FRIEND_OF"]
    edges.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = []
    for scan in (1, 10**9):
        settings = Settings()
        settings.ingest.known_ids_scan_min = scan
        store = SQLiteStore(tmp_path / f"s{scan}.db")
        try:
            ingest_paths([SAMPLE_DIR], store, settings=settings)
            report = ingest_paths([edges], store, settings=settings)
            ties = store.relationships()
            results.append((report.files[0].accepted, report.files[0].rejected,
                            report.files[0].merged,
                            sorted(map(tuple, report.rejects[["row", "column", "reason"]]
                                       .astype(str).to_numpy())),
                            len(ties)))
        finally:
            store.close()
    assert results[0] == results[1]
    assert results[0][1] == 1 and results[0][2] == 1  # GHOST rejected, B-A merged into A-B


def test_a_column_blank_in_every_row_still_overwrites_and_compares(tmp_store: SQLiteStore
                                                                  ) -> None:
    import pandas as pd

    from graphcrm.model import RELATIONSHIPS

    clients = [r["client_id"] for r in _rows(SAMPLE_DIR / "clients.csv")]
    ingest_paths([SAMPLE_DIR / "agents.csv", SAMPLE_DIR / "organizations.csv",
                  SAMPLE_DIR / "clients.csv"], tmp_store, settings=Settings())

    def tie(confidence: object) -> pd.DataFrame:
        row = {c: None for c in RELATIONSHIPS.column_names}
        row.update(src_id=clients[0], dst_id=clients[1], type="FRIEND_OF",
                   confidence=confidence)
        return pd.DataFrame([row])

    with tmp_store.transaction():
        assert tmp_store.upsert(RELATIONSHIPS, tie(0.5)) == 1
    with tmp_store.transaction():  # every column but the key blank: the stored 0.5 goes
        assert tmp_store.upsert(RELATIONSHIPS, tie(None)) == 1
    stored = tmp_store.relationships()
    assert stored["confidence"].isna().all() and len(stored) == 1
    with tmp_store.transaction():  # and the same blank row again changes nothing
        assert tmp_store.upsert(RELATIONSHIPS, tie(None)) == 0


def test_duplicated_rows_equals_pandas_on_random_keys() -> None:
    import numpy as np
    import pandas as pd

    from graphcrm.ingest.validate import duplicated_rows

    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(0, 40))
        cols: list[np.ndarray] = []
        for _k in range(int(rng.integers(1, 4))):
            kind = int(rng.integers(0, 4))
            if kind == 0:
                c = np.array([["a", "b", "c", None][rng.integers(0, 4)] for _ in range(n)],
                             dtype=object)
            elif kind == 1:
                c = rng.integers(0, 3, n)
            elif kind == 2:
                c = rng.integers(0, 2, n).astype(bool)
            else:
                c = np.array([["x", 1, None, 2.5][rng.integers(0, 4)] for _ in range(n)],
                             dtype=object)
            cols.append(c)
        expected = pd.DataFrame(dict(enumerate(cols))).duplicated(keep="first").to_numpy()
        assert (duplicated_rows(cols) == expected).all()
