"""A–B and B–A of an undirected tie are one tie: in the store, in `stats` and in the graph."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.graph import build_graph
from graphcrm.ingest.job import ingest_paths
from graphcrm.store.sqlite import SQLiteStore


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def _nodes(d: Path) -> list[Path]:
    return [
        _write(d / "agents.csv", "agent_id,name,hire_date,status\nA1,王一,2020-01-01,active"),
        _write(d / "clients.csv", "client_id,name\nC1,甲\nC2,乙\nC3,丙\nC4,丁"),
    ]


def test_reversed_rows_are_one_tie_and_direction_kept_where_it_matters(tmp_path: Path) -> None:
    first = tmp_path / "one"
    first.mkdir()
    files = _nodes(first)
    # header = row 1; rows 2..12
    files.append(_write(first / "relationships.csv", """
src_id,dst_id,type,kind
C1,C2,FRIEND_OF,
C2,C1,FRIEND_OF,
C2,C1,FRIEND_OF,
C3,C2,COLLEAGUE_OF,
C2,C3,COLLEAGUE_OF,
C4,C1,RELATIVE_OF,spouse
C1,C4,RELATIVE_OF,spouse
C1,C3,RELATIVE_OF,parent
C3,C1,RELATIVE_OF,child
C2,C4,REFERRED,
C4,C2,REFERRED,
"""))
    store = SQLiteStore(tmp_path / "crm.db")
    report = ingest_paths(files, store)
    rel = next(f for f in report.files if f.table == "relationships")
    assert rel.rows_read == 11
    # the third row repeats the second in the same direction: a duplicate, rejected as before
    assert rel.rejected == 1
    assert report.rejects["row"].tolist() == [4]
    assert "duplicate relationship (first at row 3)" in report.rejects["reason"].tolist()
    assert rel.merged == 3  # rows 3, 6 and 8 repeat a tie in reverse
    assert any("repeat an undirected tie in reverse" in w for w in rel.warnings)
    counts = store.counts()
    assert counts["FRIEND_OF"] == 1 and counts["COLLEAGUE_OF"] == 1
    assert counts["RELATIVE_OF"] == 3  # spouse once; parent and child keep their direction
    assert counts["REFERRED"] == 2  # a referral has a direction: both kept
    stored = store.relationships()
    friends = stored.loc[stored["type"] == "FRIEND_OF", ["src_id", "dst_id"]].values.tolist()
    assert friends == [["C1", "C2"]]
    ag = build_graph(store)
    assert ag.G.has_edge("C1", "C2") and ag.G.number_of_edges() == 5
    version = store.data_version()
    store.close()

    # a later file stating the tie the other way round changes nothing
    again = tmp_path / "two"
    again.mkdir()
    _write(again / "relationships.csv", "src_id,dst_id,type,kind\nC2,C1,FRIEND_OF,\n"
                                        "C2,C3,COLLEAGUE_OF,")
    out = CliRunner().invoke(main, ["ingest", str(again), "--store", str(tmp_path / "crm.db"),
                                    "--no-warm", "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    assert res["data_version_after"] == version
    assert res["totals"]["changed"] == 0
    stats = CliRunner().invoke(main, ["stats", "--store", str(tmp_path / "crm.db"), "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["FRIEND_OF"] == 1
