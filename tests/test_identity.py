"""Identity rules on hand-built files: one resident ID number is one person; a shared phone
alone is not (families give one contact number); look-alikes are listed, merges undone."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.ingest.job import ingest_paths
from graphcrm.model import Label
from graphcrm.store.sqlite import SQLiteStore

HEADER = "client_id,name,gender,birth_date,phone,id_number\n"


def idn(first17: str) -> str:
    """A valid resident ID number (GB 11643-1999 check character)."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights,
                                                                     strict=True)) % 11]


MOTHER_ID = idn("11010519900307123")


def write(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_family_sharing_one_phone_stays_three_people(tmp_path: Path,
                                                     tmp_store: SQLiteStore) -> None:
    # mother, father and their baby registered with the mother's mobile
    path = write(tmp_path, "clients.csv", [
        "F1,王芳,F,1990-03-07,13800000001,",
        "F2,李强,M,1988-06-01,13800000001,",
        "F3,李小宝,M,2024-01-15,13800000001,",
    ])
    report = ingest_paths([path], tmp_store)
    assert report.merges.empty
    assert sorted(tmp_store.nodes(Label.CLIENT)["client_id"]) == ["F1", "F2", "F3"]
    assert tmp_store.aliases() == {}


def test_baby_with_mothers_number_and_same_surname_not_merged(tmp_path: Path,
                                                              tmp_store: SQLiteStore) -> None:
    # same phone, different names: not merged even with blank birth dates
    path = write(tmp_path, "clients.csv", ["M1,王芳,F,,13800000001,", "B1,王小芳,F,,13800000001,"])
    ingest_paths([path], tmp_store)
    assert tmp_store.aliases() == {}


def test_same_phone_and_name_merges_unless_birth_or_gender_conflict(
        tmp_path: Path, tmp_store: SQLiteStore) -> None:
    path = write(tmp_path, "clients.csv", [
        "A1,周 杰,M,1990-03-07,13800000001,",
        "A2,周杰,M,,13800000001,",          # same person (blank birth date never conflicts)
        "T1,张伟,M,1960-01-01,13900000002,",
        "T2,张伟,M,1985-05-05,13900000002,",  # father and son, same name: birth dates differ
        "G1,李静,F,,13700000003,",
        "G2,李静,M,,13700000003,",          # genders differ
    ])
    report = ingest_paths([path], tmp_store)
    got = {(r.alias_id, r.client_id, r.reason) for r in report.merges.itertuples()}
    assert got == {("A2", "A1", "same phone and name")}
    assert tmp_store.aliases() == {"A2": "A1"}


def test_same_id_number_merges_whatever_the_phone(tmp_path: Path,
                                                  tmp_store: SQLiteStore) -> None:
    path = write(tmp_path, "clients.csv", [
        f"C1,王芳,F,1990-03-07,13800000001,{MOTHER_ID}",
        f"C2,王 芳,F,1990-03-07,13600000009,{MOTHER_ID}",
    ])
    report = ingest_paths([path], tmp_store)
    got = {(r.alias_id, r.client_id, r.reason) for r in report.merges.itertuples()}
    assert got == {("C2", "C1", "same ID number")}


def test_candidates_listed_and_undo_recorded(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    write(tmp_path / "in", "clients.csv", [
        "F1,王芳,F,1990-03-07,13800000001,",
        "F3,李小宝,M,2024-01-15,13800000001,",
        "X1,赵敏,F,1992-02-02,,",
        "X2,赵 敏,F,1992-02-02,13500000005,",  # look-alike: same name and birth date
        "D1,陈明,M,1970-07-07,13300000007,",
        "D2,陈明,M,1970-07-07,13300000007,",  # merged: same phone, name and birth date
    ])
    runner = CliRunner()
    res = runner.invoke(main, ["ingest", str(tmp_path / "in"), "--store", str(db), "--no-warm"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["merges", "--candidates", "--store", str(db), "--json"])
    assert res.exit_code == 0, res.output
    pairs = {(r["client_id"], r["other_id"], r["reason"]) for r in json.loads(res.stdout)}
    assert pairs == {("F1", "F3", "shared phone"), ("X1", "X2", "same name and birth date")}

    res = runner.invoke(main, ["merges", "--store", str(db), "--json"])
    assert [(r["alias_id"], r["client_id"], r["status"]) for r in json.loads(res.stdout)] == [
        ("D2", "D1", "merged")]

    res = runner.invoke(main, ["merges", "undo", "D2", "--note", "twins", "--store", str(db)])
    assert res.exit_code == 0, res.output
    assert "D2 no longer resolves to D1" in res.stdout
    with SQLiteStore(db, create=False) as s:
        assert s.aliases() == {}
        clients = s.nodes(Label.CLIENT).set_index("client_id")
        assert clients.loc["D2", "name"] == "陈明" and clients.loc["D2", "phone"] == "13300000007"
        undo = s.journal("merge_undo")
        assert [(u["alias_id"], u["client_id"], u["note"]) for u in undo] == [
            ("D2", "D1", "twins")]
    res = runner.invoke(main, ["merges", "--store", str(db), "--json"])
    log = json.loads(res.stdout)
    assert [(r["alias_id"], r["status"], r["note"]) for r in log] == [("D2", "undone", "twins")]
    # the undone pair is now a candidate, and re-ingesting the file does not merge it again
    res = runner.invoke(main, ["ingest", str(tmp_path / "in"), "--store", str(db), "--no-warm"])
    assert res.exit_code == 0, res.output
    with SQLiteStore(db, create=False) as s:
        assert s.aliases() == {}
    res = runner.invoke(main, ["merges", "--candidates", "--store", str(db), "--json"])
    pairs = {(r["client_id"], r["other_id"], r["reason"]) for r in json.loads(res.stdout)}
    assert ("D1", "D2", "shared phone; same name and birth date") in pairs
    # undoing what is not a merge is a one-line error
    res = runner.invoke(main, ["merges", "undo", "D2", "--store", str(db)])
    assert res.exit_code == 1 and "D2 is not a merged id" in res.stderr


def test_journals_travel_with_a_copied_store(tmp_path: Path) -> None:
    """What export --to neo4j does after the tables: merged rows, undone merges and settled
    reward lines are appended once (a second copy adds nothing)."""
    from graphcrm.store.export import copy_journals

    with SQLiteStore(tmp_path / "a.db") as a, SQLiteStore(tmp_path / "b.db") as b:
        with a.transaction():
            a.append_journal("reward_settled", [{"line_id": "P1:0", "points": 10.0},
                                                {"line_id": "P1:1", "points": 1.0}])
            a.append_journal("merge_undo", [{"alias_id": "X", "client_id": "Y"}])
        assert copy_journals(a, b) == 3
        assert copy_journals(a, b) == 0
        got = b.journal("reward_settled")
        assert [(r["line_id"], r["points"]) for r in got] == [("P1:0", 10.0), ("P1:1", 1.0)]
        assert got[0]["copied_recorded_at"] == a.journal("reward_settled")[0]["recorded_at"]
        with a.transaction():
            a.append_journal("reward_settled", [{"line_id": "P2:0", "points": 5.0}])
        assert copy_journals(a, b) == 1
        assert [r["line_id"] for r in b.journal("reward_settled")] == ["P1:0", "P1:1", "P2:0"]
