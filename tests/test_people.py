"""Finding people and teams from the command line, names instead of ids, ties in words, and
flags out of range; checked against the sample's own files read with pandas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.wording import relation_sentence, warmth_level
from tests.test_app import SAMPLE_DIR, build_sample_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_store(tmp_path_factory.mktemp("people") / "sample.db")


@pytest.fixture(scope="module")
def clients() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DIR / "clients.csv", dtype=str, keep_default_na=False)


def run(store: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--store", str(store)])
    return result.exit_code, result.stdout, result.stderr


def test_find_lists_every_namesake_with_what_tells_them_apart(store: Path,
                                                              clients: pd.DataFrame) -> None:
    counts = clients["name"].value_counts()
    name = str(counts.index[0])
    assert counts.iloc[0] > 1, "the sample should have namesakes"
    code, out, err = run(store, "find", name, "--json")
    assert code == 0, err
    data = json.loads(out)
    expected = set(clients.loc[clients["name"] == name, "client_id"])
    exact = {p["id"] for p in data["people"] if p["name"] == name}
    assert exact == expected
    for p in data["people"]:
        assert set(p) == {"id", "label", "name", "city", "age", "serving_agent",
                          "serving_agent_name", "status", "phone_tail"}
    # the human table in Chinese: words, not codes; every namesake's id shown
    code, out, _ = run(store, "find", name, "--lang", "zh")
    assert code == 0
    assert all(i in out for i in expected)
    assert "prospect" not in out and "None" not in out and "nan" not in out


def test_find_by_phone_ending_and_by_id(store: Path, clients: pd.DataFrame) -> None:
    phones = clients.loc[clients["phone"] != "", ["client_id", "phone"]]
    cid, phone = phones.iloc[3]
    tail = phone[-6:]
    expected = set(phones.loc[phones["phone"].str.endswith(tail), "client_id"])
    code, out, _ = run(store, "find", tail, "--json")
    assert code == 0
    assert {p["id"] for p in json.loads(out)["people"]} >= expected
    code, out, _ = run(store, "find", cid, "--json")
    assert json.loads(out)["people"][0]["id"] == cid


def test_a_unique_name_works_where_an_id_does_and_namesakes_are_listed(
        store: Path, clients: pd.DataFrame) -> None:
    counts = clients["name"].value_counts()
    unique = clients[clients["name"].map(counts) == 1].iloc[10]
    agents = pd.read_csv(SAMPLE_DIR / "agents.csv", dtype=str)
    agent = agents.iloc[1]
    by_id = run(store, "paths", "--from", agent["agent_id"], "--to", unique["client_id"],
                "--json")
    by_name = run(store, "paths", "--from", agent["name"], "--to", unique["name"], "--json")
    assert by_id[0] == 0 and by_id == by_name
    # map and gaps take names too
    assert run(store, "map", "--agent", agent["name"], "--json")[1] == \
        run(store, "map", "--agent", agent["agent_id"], "--json")[1]
    assert run(store, "gaps", "--client", unique["name"], "--json")[1] == \
        run(store, "gaps", "--client", unique["client_id"], "--json")[1]
    namesake = str(counts.index[0])
    code, out, err = run(store, "paths", "--from", agent["agent_id"], "--to", namesake,
                         "--lang", "en")
    assert code == 1 and out == ""
    assert err.startswith(f"error: '{namesake}' fits {counts.iloc[0]} people")
    for cid in clients.loc[clients["name"] == namesake, "client_id"]:
        assert cid in err


def test_unknown_team_or_agent_lists_the_closest(store: Path) -> None:
    agents = pd.read_csv(SAMPLE_DIR / "agents.csv", dtype=str)
    team = str(agents["team"].iloc[0])
    code, _, err = run(store, "agents", "--team", team[:-1], "--lang", "en")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "closest" in err and team in err
    code, _, err = run(store, "hubs", "--team", team[:-1], "--lang", "en")
    assert code == 1 and team in err
    code, out, _ = run(store, "agents", "--team", team, "--json")
    got = {a["agent_id"] for a in json.loads(out)["agents"]}
    assert got == set(agents.loc[agents["team"] == team, "agent_id"])
    code, out, _ = run(store, "teams", "--json")
    assert {t["team"] for t in json.loads(out)["teams"]} == set(agents["team"].dropna())
    name = str(agents["name"].iloc[0])
    code, _, err = run(store, "map", "--agent", name + "某", "--lang", "en")
    assert code == 1 and "closest" in err and name in err


@pytest.mark.parametrize("args", [
    ["hubs", "--top", "-5"], ["map", "--agent", "A000001", "--limit", "-1"],
    ["paths", "--from", "A000001", "--to", "C0000001", "--k", "0"],
    ["paths", "--from", "A000001", "--to", "C0000001", "--max-hops", "-1"],
    ["find", "王", "--limit", "0"], ["rewards", "--period", "2026-10", "--top", "-5"],
    ["orphans", "--limit", "-1"], ["orphans", "assign", "--month", "2026-12", "--limit", "0"],
])
def test_flags_out_of_range_are_one_line_errors(store: Path, args: list[str]) -> None:
    code, out, err = run(store, *args)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "must be 1 or more" in err


def test_ties_read_with_their_direction(store: Path) -> None:
    rels = pd.read_csv(SAMPLE_DIR / "relationships.csv", dtype=str, keep_default_na=False)
    assert relation_sentence("王伟", "卞燕", "RELATIVE_OF", "child", True) == "王伟是卞燕的孩子"
    assert relation_sentence("Wang Wei", "Bian Yan", "RELATIVE_OF", "child", True, "en") == \
        "Wang Wei is Bian Yan's child"
    parent = rels[(rels["type"] == "RELATIVE_OF") & (rels["kind"] == "parent")].iloc[0]
    from graphcrm.metrics.narrate import step_sentence
    from graphcrm.store.sqlite import SQLiteStore
    from graphcrm.workspace import load_graph

    with SQLiteStore(store, create=False) as s:
        ag = load_graph(s)
    src, dst = parent["src_id"], parent["dst_id"]
    # walking from the child to the parent: "the parent is the child's parent"
    assert step_sentence(ag, dst, src, "RELATIVE_OF", "parent", "zh") == \
        f"{ag.name(src)}是{ag.name(dst)}的父母"
    assert step_sentence(ag, src, dst, "RELATIVE_OF", "parent", "zh") == \
        f"{ag.name(dst)}是{ag.name(src)}的孩子"
    m = ag.settings.metrics
    assert warmth_level(m.warmth_hot, m.warmth_hot, m.warmth_warm) == "hot"
    assert warmth_level(m.warmth_warm - 1e-9, m.warmth_hot, m.warmth_warm) == "cold"


CODE_NAME = re.compile(r"\b(?:[a-z]+_[a-z_]+|[A-Z]{2,}_[A-Z_]+)\b|\bNone\b|\bnan\b|\bNaN\b")


@pytest.mark.parametrize("args", [
    ["map", "--agent", "A000001", "--limit", "40"], ["hubs", "--top", "30"], ["stats"],
    ["gaps", "--agent", "A000001"], ["find", "李"], ["agents"], ["teams"],
    ["paths", "--from", "A000001", "--to", "C0000005"], ["rewards", "--period", "2026-10"],
])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_human_output_has_no_code_names(store: Path, args: list[str], lang: str) -> None:
    code, out, err = run(store, *args, "--lang", lang)
    assert code == 0, err
    assert not CODE_NAME.findall(out), CODE_NAME.findall(out)[:10]
