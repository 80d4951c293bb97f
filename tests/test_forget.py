"""`graphcrm forget`: after erasing a client nothing of them can be found in any table, in the raw
bytes of the database file and its WAL, or in the analysis snapshot; settled reward lines keep
their points under a pseudonym; the erasure is audited. Real CSV files, a real SQLite store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.config import AccessSettings
from graphcrm.store.access import AccessStore
from graphcrm.store.sqlite import SQLiteStore

SECRET_ID, ALIAS_ID = "CSECRET01", "CSECRET02"
NAME, PHONE, ID_NUMBER = "龚秘密", "13912345678", "420106199201140011"

FILES = {
    "agents.csv": ["agent_id,name,hire_date,status,team", "A1,陆帆,2020-01-01,active,T1"],
    "clients.csv": [
        "client_id,name,birth_date,phone,id_number,income_band",
        f"{SECRET_ID},{NAME},1992-01-14,{PHONE},{ID_NUMBER},middle",
        f"{ALIAS_ID},{NAME},1992-01-14,{PHONE},,middle",  # the same person: merged
        "R1,王芳,1985-01-01,13800000011,,middle",
        "N1,赵敏,1990-01-01,13800000013,,middle",
        "F1,龚大山,1960-01-01,13800000014,,middle",
    ],
    "policies.csv": [
        "policy_id,holder_id,category,annual_premium,sum_insured,start_date,status,"
        "servicing_agent_id",
        f"PS,{SECRET_ID},life,10000,100000,2026-03-05,in_force,A1",
        "PN,N1,accident,3000,100000,2026-03-10,in_force,A1",
    ],
    "relationships.csv": [
        "src_id,dst_id,type,kind,start_date",
        f"R1,{SECRET_ID},REFERRED,,2026-02-01",
        f"{SECRET_ID},N1,REFERRED,,2026-02-15",
        f"{SECRET_ID},F1,RELATIVE_OF,parent,",
        f"A1,{SECRET_ID},SERVES,,2026-03-05",
    ],
    "interactions.csv": [
        "agent_id,client_id,type,date,outcome",
        f"A1,{SECRET_ID},visit,2026-03-01,met {NAME} at home",
    ],
}
NEEDLES = [NAME.encode(), PHONE.encode(), ID_NUMBER.encode(), SECRET_ID.encode(),
           ALIAS_ID.encode(), b"met "]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name, lines in FILES.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path / "crm.db"
    code, _out, err = run("ingest", str(folder), "--store", str(path),
                          "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 0, err
    with SQLiteStore(path, create=False) as store:
        assert store.aliases() == {ALIAS_ID: SECRET_ID}
    return path


def _files(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}.analysis")) if p.exists()]


def ledger(db: Path) -> list[dict[str, object]]:
    code, out, err = run("rewards", "--period", "2026-03", "--store", str(db), "--json")
    assert code == 0, err
    return json.loads(out)["lines"]


def test_forget_leaves_nothing_of_the_person(db: Path) -> None:
    before = ledger(db)
    assert any(ln["earner_id"] == SECRET_ID and ln["points"] > 0 for ln in before)
    # settle the period: the store's journal now holds lines naming the person
    code, _out, err = run("rewards", "--period", "2026-03", "--store", str(db), "--settle")
    assert code == 0, err
    assert any(ln["earner_id"] == "R1" and ln["points"] > 0 for ln in before)
    # an admin viewed the person (by the merged id too) before the request: audit rows
    with AccessStore(db, AccessSettings()) as acc:
        acc.record("root", "view", SECRET_ID, "operation map")
        acc.record("root", "search", [ALIAS_ID, "R1"], "q=digest")
        token = acc.person_token(SECRET_ID, create=False)
        assert token is not None and len(acc.audit(person=SECRET_ID)) == 1
        keys = [k for (k,) in sqlite3.connect(db).execute("SELECT key FROM person_keys")]
    assert len(keys) == 3  # the person, their merged id (in the search) and R1
    code, out, err = run("audit", "--person", SECRET_ID, "--json", "--store", str(db))
    assert code == 0 and [r["target"] for r in json.loads(out)["rows"]] == [SECRET_ID]
    # the needles are really in the files before (so the scan below can fail)
    raw = b"".join(p.read_bytes() for p in _files(db))
    assert all(n in raw for n in NEEDLES[:4]), [n for n in NEEDLES if n not in raw]

    code, out, err = run("forget", ALIAS_ID, "--reason", "request 2026-117", "--store", str(db),
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["client_id"] == SECRET_ID and result["snapshot_rebuilt"] is True
    pseudonym = result["pseudonym"]

    # every table, every column
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                text = "|".join(str(v) for v in row).encode()
                found = [n for n in NEEDLES if n in text]
                assert not found, f"{table}: {found} in {row}"
    # the raw bytes of the database file, its WAL and the snapshot
    assert Path(f"{db}.analysis").exists()
    for path in _files(db):
        data = path.read_bytes()
        found = [n for n in NEEDLES if n in data]
        assert not found, f"{path.name} still holds {found}"
    # search finds nothing
    with SQLiteStore(db, create=False) as store:
        for text in (NAME, PHONE, SECRET_ID):
            assert store.search_people(text).empty
    # settled reward lines keep their points, under the pseudonym: settling again pays nothing
    after = ledger(db)
    assert {ln["line_id"] for ln in after} == {ln["line_id"] for ln in before}
    assert all(ln["points"] == 0 for ln in after if ln["status"] == "already_settled")
    assert sum(ln["points"] for ln in after) == 0, after
    with SQLiteStore(db, create=False) as store:
        settled = store.journal("reward_settled")
    assert settled and pseudonym in json.dumps(settled, ensure_ascii=False)
    assert {ln["earner_id"] for ln in after} == \
        {pseudonym if ln["earner_id"] == SECRET_ID else ln["earner_id"] for ln in before}
    # audit rows that named the person stay (append-only, chain intact) but name nobody now:
    # the person's key is gone from the file, the token can no longer be tied to the id
    with AccessStore(db, AccessSettings()) as acc:
        assert acc.verify_audit() is None
        trail = acc.audit()
        assert token in " ".join(trail["target"])
        assert acc.audit(person=SECRET_ID).empty and acc.audit(person=ALIAS_ID).empty
        assert acc.person_token(SECRET_ID, create=False) is None
        assert acc.people_of_tokens([SECRET_ID, ALIAS_ID]) == {}
    raw = b"".join(p.read_bytes() for p in _files(db))
    left = [k for (k,) in sqlite3.connect(db).execute("SELECT key FROM person_keys")]
    assert len(left) == 1 and left[0].encode() in raw  # R1's: R1 was not erased
    assert [k for k in keys if k not in left and k.encode() in raw] == []
    code, out, err = run("audit", "--json", "--store", str(db))
    shown = " ".join(r["target"] for r in json.loads(out)["rows"])
    assert SECRET_ID not in shown and ALIAS_ID not in shown and token in shown
    assert "R1" in shown.split()  # a person still in the store is shown by id
    # the erasure is audited, with its reason and without the person
    with AccessStore(db, AccessSettings()) as acc:
        rows = acc.audit()
    forget = rows.loc[rows["action"] == "forget"]
    assert len(forget) == 1 and forget.iloc[0]["target"] == pseudonym
    assert "request 2026-117" in forget.iloc[0]["detail"]


def test_forget_unknown_person_is_a_clear_error(db: Path) -> None:
    code, _out, err = run("forget", "NOBODY", "--reason", "x", "--store", str(db))
    assert code == 1 and "unknown client id 'NOBODY'" in err
