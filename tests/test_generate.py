"""The synthetic data generator: determinism, templates and structural invariants.

Every expectation here is computed independently of the generator: plain csv/pandas reading,
a hand-written GB 11643 checksum, NetworkX for referral chain depths.
"""

from __future__ import annotations

import csv
import filecmp
from datetime import date
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.model import TABLES
from graphcrm.store.sqlite import SQLiteStore
from graphcrm.synth import generate

from .conftest import SAMPLE_DIR

#: the committed sample: `graphcrm generate data/sample --clients 3000 --seed 7`
SAMPLE_CLIENTS = 3000
SAMPLE_SEED = 7
N = 1500
REF = date(2026, 11, 1)
FILES = [t.name for t in TABLES]


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(out, N, seed=11)
    return out


@pytest.fixture(scope="module")
def frames(gen_dir: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(gen_dir / f"{name}.csv", dtype=str, keep_default_na=False)
            for name in FILES}


def _check_char(first17: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # the standard's definition
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, gen_dir: Path) -> None:
    again = tmp_path / "again"
    generate(again, N, seed=11)
    for name in FILES:
        assert filecmp.cmp(gen_dir / f"{name}.csv", again / f"{name}.csv", shallow=False), name
    other = tmp_path / "other"
    generate(other, N, seed=12)
    assert not filecmp.cmp(gen_dir / "clients.csv", other / "clients.csv", shallow=False)
    assert not filecmp.cmp(gen_dir / "relationships.csv", other / "relationships.csv",
                           shallow=False)


def test_headers_equal_the_templates(gen_dir: Path) -> None:
    for table in TABLES:
        with (gen_dir / f"{table.name}.csv").open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        assert tuple(header) == table.column_names, table.name


def test_ages_26_to_45_are_the_largest_band(frames: dict[str, pd.DataFrame]) -> None:
    births = pd.to_datetime(frames["clients"]["birth_date"])
    ages = [(REF.year - b.year - ((REF.month, REF.day) < (b.month, b.day))) for b in births]
    bands = {"0-17": 0, "18-25": 0, "26-45": 0, "46-59": 0, "60+": 0}
    for a in ages:
        key = ("0-17" if a < 18 else "18-25" if a < 26 else "26-45" if a <= 45
               else "46-59" if a < 60 else "60+")
        bands[key] += 1
    assert max(bands, key=lambda k: bands[k]) == "26-45", bands
    assert bands["26-45"] > 0.3 * len(ages)


def test_every_reference_resolves_and_no_self_ties(frames: dict[str, pd.DataFrame]) -> None:
    agents = set(frames["agents"]["agent_id"])
    clients = set(frames["clients"]["client_id"])
    orgs = set(frames["organizations"]["org_id"])
    assert len(agents) == len(frames["agents"])
    assert len(clients) == len(frames["clients"]) == N
    sup = {s for s in frames["agents"]["supervisor_id"] if s}
    assert sup <= agents
    pol = frames["policies"]
    assert set(pol["holder_id"]) <= clients
    assert {i for i in pol["insured_id"] if i} <= clients
    assert set(pol["writing_agent_id"]) <= agents
    assert set(pol["servicing_agent_id"]) <= agents
    inter = frames["interactions"]
    assert set(inter["agent_id"]) <= agents and set(inter["client_id"]) <= clients
    label = {**{a: "Agent" for a in agents}, **{c: "Client" for c in clients},
             **{o: "Organization" for o in orgs}}
    allowed = {
        "SERVES": ({"Agent"}, {"Client"}), "RELATIVE_OF": ({"Client"}, {"Client"}),
        "COLLEAGUE_OF": ({"Client"}, {"Client"}), "WORKS_AT": ({"Client"}, {"Organization"}),
        "FRIEND_OF": ({"Client"}, {"Client"}), "REFERRED": ({"Client"}, {"Client"}),
        "BUSINESS_TIE": ({"Client", "Organization"}, {"Client", "Organization"}),
    }
    kinds = {"RELATIVE_OF": {"spouse", "parent", "child", "sibling", "other"},
             "BUSINESS_TIE": {"customer", "supplier", "partner", "alliance"}}
    rel = frames["relationships"]
    seen: set[tuple[str, str, str]] = set()
    for src, dst, typ, kind in zip(rel["src_id"], rel["dst_id"], rel["type"], rel["kind"],
                                   strict=True):
        assert src != dst, (typ, src)
        assert label[src] in allowed[typ][0] and label[dst] in allowed[typ][1], (typ, src, dst)
        assert (kind in kinds[typ]) if typ in kinds else kind == "", (typ, kind)
        assert (typ, src, dst) not in seen
        seen.add((typ, src, dst))
    assert set(rel["type"]) == set(allowed)


def test_ids_phones_and_birth_dates_are_valid_and_unique(frames: dict[str, pd.DataFrame]
                                                         ) -> None:
    c = frames["clients"]
    for idn, birth, gender in zip(c["id_number"], c["birth_date"], c["gender"], strict=True):
        assert len(idn) == 18 and idn[:17].isdigit(), idn
        assert idn[17] == _check_char(idn[:17]), idn
        assert idn[6:14] == birth.replace("-", ""), (idn, birth)
        assert int(idn[16]) % 2 == (1 if gender == "M" else 0), (idn, gender)
    assert c["id_number"].is_unique
    phones = [p for p in pd.concat([c["phone"], frames["agents"]["phone"]]) if p]
    assert len(phones) == len(set(phones))
    assert all(len(p) == 11 and p[0] == "1" and p[1] in "3456789" and p.isdigit()
               for p in phones)


def test_agents_departed_and_policies(frames: dict[str, pd.DataFrame]) -> None:
    a = frames["agents"]
    departed = a[a["status"] == "departed"]
    assert len(departed) >= 1
    assert (departed["departure_date"] > departed["hire_date"]).all()
    assert (a.loc[a["status"] == "active", "departure_date"] == "").all()
    # clients per agent in the 150-300 range on average
    assert 150 <= N / len(a) <= 300
    # about two thirds of people are clients, and a client holds an in-force policy
    c = frames["clients"]
    share = (c["status"] == "client").mean()
    assert 0.55 <= share <= 0.75, share
    pol = frames["policies"]
    in_force_holders = set(pol.loc[pol["status"] == "in_force", "holder_id"])
    assert set(c.loc[c["status"] == "client", "client_id"]) == in_force_holders


def test_all_trust_levels_and_distrust_signals_present(frames: dict[str, pd.DataFrame]) -> None:
    types = set(frames["interactions"]["type"])
    assert types & {"visit", "call", "message", "social_like", "share_post", "event"}
    assert types & {"private_talk", "private_comment", "event_family"}
    assert types & {"enquiry", "purchase"}
    assert "complaint" in types
    ratings = [int(r) for r in frames["interactions"]["rating"] if r]
    assert min(ratings) < 0 and max(ratings) > 0
    dates = frames["interactions"]["date"]
    assert dates.min() >= "2024-11-01" and dates.max() <= "2026-11-01"


def test_referral_chains_are_deep_heavy_tailed_and_include_anomalies(
        frames: dict[str, pd.DataFrame]) -> None:
    rel = frames["relationships"]
    ref = rel[rel["type"] == "REFERRED"]
    g = nx.DiGraph(list(zip(ref["src_id"], ref["dst_id"], strict=True)))
    cycles = list(nx.simple_cycles(g))
    assert cycles, "the data holds a referral cycle"
    acyclic = g.copy()
    for cyc in cycles:
        acyclic.remove_nodes_from(cyc)
    assert nx.dag_longest_path_length(acyclic) >= 3
    out_deg = sorted((d for _, d in acyclic.out_degree()), reverse=True)
    assert out_deg[0] >= 4 * (sum(out_deg) / len(out_deg))  # a few referrers bring many
    # a referral dated after the referee's first policy
    pol = frames["policies"]
    first = pol.groupby("holder_id")["start_date"].min()
    converted = ref[ref["converted"] == "true"]
    late = converted[converted["start_date"] > converted["dst_id"].map(first)]
    assert len(late) >= 1


def test_families_and_colleagues(frames: dict[str, pd.DataFrame]) -> None:
    rel = frames["relationships"]
    kinds = set(rel.loc[rel["type"] == "RELATIVE_OF", "kind"])
    assert {"spouse", "parent", "sibling"} <= kinds
    births = frames["clients"].set_index("client_id")["birth_date"]
    parents = rel[(rel["type"] == "RELATIVE_OF") & (rel["kind"] == "parent")]
    # a parent is born before the child
    assert (parents["src_id"].map(births) < parents["dst_id"].map(births)).all()
    works = rel[rel["type"] == "WORKS_AT"].set_index("src_id")["dst_id"]
    col = rel[rel["type"] == "COLLEAGUE_OF"]
    assert len(col) > 0
    assert (col["src_id"].map(works) == col["dst_id"].map(works)).all()


def test_cli_generate_and_xlsx_limit(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["generate", str(tmp_path / "x"), "--clients", "200", "--seed",
                               "3", "--format", "xlsx", "--quiet"])
    assert res.exit_code == 0, res.output
    frame = pd.read_excel(tmp_path / "x" / "clients.xlsx", dtype=str)
    assert len(frame) == 200 and tuple(frame.columns) == TABLES[2].column_names
    res = runner.invoke(main, ["generate", str(tmp_path / "y"), "--clients", "5"])
    assert res.exit_code == 1 and "error:" in res.output


def test_committed_sample_is_the_generator_output(tmp_path: Path) -> None:
    assert SAMPLE_DIR.is_dir(), "data/sample is committed"
    generate(tmp_path, SAMPLE_CLIENTS, seed=SAMPLE_SEED)
    for name in FILES:
        assert filecmp.cmp(SAMPLE_DIR / f"{name}.csv", tmp_path / f"{name}.csv",
                           shallow=False), f"data/sample/{name}.csv is stale; regenerate it"


def test_sample_ingests_with_zero_rejects(tmp_path: Path) -> None:
    from graphcrm.ingest.job import ingest_paths

    store = SQLiteStore(tmp_path / "s.db")
    try:
        result = ingest_paths([SAMPLE_DIR], store)
        counts = store.counts()
    finally:
        store.close()
    assert result.rejected == 0 and len(result.rejects) == 0, result.summary_table()
    rows = {name: sum(1 for _ in (SAMPLE_DIR / f"{name}.csv").open(encoding="utf-8")) - 1
            for name in FILES}
    assert counts["Client"] == rows["clients"]
    assert counts["Agent"] == rows["agents"]
    assert counts["Policy"] == rows["policies"]


def test_bench_ingest_reports_both_contenders(tmp_path: Path) -> None:
    from graphcrm.bench.ingest import bench_ingest, format_table

    res = bench_ingest(400, seed=5, workdir=tmp_path)
    data = tmp_path / "data"
    expected = {name: sum(1 for _ in (data / f"{name}.csv").open(encoding="utf-8")) - 1
                for name in FILES}
    assert res["rows_per_file"] == expected
    assert res["rows"] == sum(expected.values())
    for kind in ("ours", "baseline"):
        assert res[kind]["seconds"] > 0 and res[kind]["peak_mb"] > 0
    # the baseline really wrote every row into its own SQLite file
    import sqlite3

    con = sqlite3.connect(tmp_path / "baseline.db")
    try:
        for name, n in expected.items():
            assert con.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0] == n
    finally:
        con.close()
    assert res["counts"]["Client"] == expected["clients"]
    assert "total" in format_table(res)


def test_bench_narrow_runs_rounds_in_turn_and_reports_medians(tmp_path: Path) -> None:
    """`graphcrm bench ingest --narrow`: every round of ours and both baselines really ran
    (the stores hold the edge list), the figures are medians of the rounds and each ratio
    lies within the range it reports."""
    import sqlite3

    from graphcrm.bench.ingest import bench_narrow, format_narrow

    res = bench_narrow(300, 900, seed=5, workdir=tmp_path, rounds=2)
    edges = sum(1 for _ in (tmp_path / "edges" / "relationships.csv").open()) - 1
    assert res["rows"] == edges and res["rounds"] == 2
    assert res["ours"]["accepted"] == edges and res["ours"]["rejected"] == 0
    for kind in ("narrow-baseline", "narrow-baseline-indexed"):
        for ratio in ("speed", "cpu_speed", "memory"):
            low, high = res[kind][f"{ratio}_range"]
            assert 0 < low <= res[kind][ratio] <= high
    for db in ("narrow-run.db", "b.db", "bi.db"):  # (the last round's files)
        with sqlite3.connect(tmp_path / db) as con:
            assert con.execute("SELECT COUNT(*) FROM relationships").fetchone()[0] == edges
    assert "medians of 2 rounds" in format_narrow(res)


def test_values_fit_every_column_kind(frames: dict[str, pd.DataFrame]) -> None:
    """Required fields filled, enums canonical, dates ISO, numbers in range, booleans."""
    iso = r"^\d{4}-\d{2}-\d{2}$"
    for table in TABLES:
        frame = frames[table.name]
        for col in table.columns:
            values = frame[col.name]
            filled = values[values != ""]
            if col.required:
                assert len(filled) == len(values), (table.name, col.name)
            if col.kind == "enum":
                assert set(filled) <= set(col.values), (table.name, col.name, set(filled))
            elif col.kind == "date":
                assert filled.str.match(iso).all(), (table.name, col.name)
                pd.to_datetime(filled, format="%Y-%m-%d")  # raises on an impossible date
            elif col.kind in ("int", "float"):
                nums = pd.to_numeric(filled)
                if col.kind == "int":
                    assert (nums == nums.round()).all()
                if col.low is not None:
                    assert (nums >= col.low).all(), (table.name, col.name)
                if col.high is not None:
                    assert (nums <= col.high).all(), (table.name, col.name)
            elif col.kind == "bool":
                assert set(filled) <= {"true", "false"}
        assert not frame.duplicated(list(table.key)).any(), table.name


def test_policies_start_after_birth_and_agent_hire(frames: dict[str, pd.DataFrame]) -> None:
    pol = frames["policies"]
    births = frames["clients"].set_index("client_id")["birth_date"]
    insured = pol["insured_id"].where(pol["insured_id"] != "", pol["holder_id"])
    assert (pol["start_date"] > insured.map(births)).all()
    hires = frames["agents"].set_index("agent_id")["hire_date"]
    assert (pol["start_date"] >= pol["writing_agent_id"].map(hires)).all()
    ref = frames["relationships"]
    assert (ref.loc[ref["type"] == "REFERRED", "start_date"] != "").all()


def test_bench_scope_reports_an_agent_and_a_manager_against_the_build() -> None:
    """`graphcrm bench scope` on data/sample: both users, how many clients their copy hides
    (counted here with pandas from the sample files), and a ratio to the build (no time is
    asserted)."""
    import pandas as pd

    from graphcrm.bench.app import SAMPLE, run_scope_bench

    res = run_scope_bench(0, repeats=1)
    clients = pd.read_csv(SAMPLE / "clients.csv", dtype=str)
    assert res["clients"] == len(clients) and res["build_s"] > 0
    assert [r["user"] for r in res["rows"]] == ["agent", "manager"]
    for r in res["rows"]:
        assert 0 < r["hidden_clients"] < len(clients)
        assert r["ratio_to_build"] == round(r["median_s"] / res["build_s"], 4) or \
            abs(r["ratio_to_build"] - r["median_s"] / res["build_s"]) < 0.01
