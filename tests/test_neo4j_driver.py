"""The Neo4j back end's connection, batching, retry and error reporting, with the real ``neo4j``
driver against real local TCP servers (tests/bolt_server.py): a port that refuses, a server that
accepts and hangs up, one that never answers, and a minimal Bolt 4.4 server that refuses
credentials, lacks the database, or fails chosen batches. Nothing in the store or the driver is
replaced; the failures are on the wire."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from neo4j.exceptions import ServiceUnavailable

from graphcrm.config import Neo4jSettings
from graphcrm.ingest.job import IngestError, ingest_paths
from graphcrm.model import AGENTS, CLIENTS, RELATIONSHIPS, Label
from graphcrm.store.base import StoreError
from graphcrm.store.neo4j import Neo4jStore, batches, describe_neo4j_error, load_statements

from .bolt_server import BoltServer, Reply, SilentServer, refused_port
from .conftest import SAMPLE_DIR

PASSWORD = "hunter2-s3cret"
TRANSIENT = ("Neo.TransientError.General.DatabaseUnavailable", "database unavailable (test)")
STATEMENTS = load_statements()


def settings(**kw: Any) -> Neo4jSettings:
    base: dict[str, Any] = {"password": PASSWORD, "batch_rows": 5, "max_retries": 3,
                            "retry_backoff_seconds": 0.001, "connect_timeout_seconds": 1.0}
    base.update(kw)
    return Neo4jSettings(**base)


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for s in made:
        s.close()


def _open_error(uri: str, s: Neo4jSettings) -> str:
    with pytest.raises(StoreError) as info:
        Neo4jStore(uri, settings=s)
    message = str(info.value)
    assert "\n" not in message and PASSWORD not in message
    return message


# -- batching ---------------------------------------------------------------------------------
def test_batches_cover_every_row_once_in_order() -> None:
    assert batches(12, 5) == [(0, 5), (5, 10), (10, 12)]
    assert batches(10, 5) == [(0, 5), (5, 10)]
    assert batches(3, 5000) == [(0, 3)]
    assert batches(0, 5) == []
    assert batches(4, 1) == [(0, 1), (1, 2), (2, 3), (3, 4)]


def _agents(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "agent_id": [f"A{i:03d}" for i in range(n)], "name": [f"业务员{i}" for i in range(n)],
        "team": "T1", "branch": None, "region": "华东", "hire_date": "2020-01-01",
        "status": "active", "departure_date": None, "supervisor_id": None,
        "phone": None,
    }, columns=list(AGENTS.column_names))


def test_each_batch_is_one_driver_call_with_the_configured_rows(servers: list[Any]) -> None:
    def handler(query: str, params: dict[str, Any]) -> Reply:
        if "rows" in params:  # report every row as changed, as a real server would on insert
            return Reply(["changed"], [[len(params["rows"])]])
        return Reply()

    srv = BoltServer(handler)
    servers.append(srv)
    with Neo4jStore(srv.uri, settings=settings(batch_rows=5)) as store:
        srv.runs.clear()
        with store.transaction():
            changed = store.upsert(AGENTS, _agents(12))
    upserts = [(q, p) for q, p in srv.runs if q == STATEMENTS["upsert_agents"].text]
    assert [len(p["rows"]) for _, p in upserts] == [5, 5, 2]
    assert changed == 12  # the sum of what the server reported per batch
    sent = [r for _, p in upserts for r in p["rows"]]
    assert [r["id"] for r in sent] == [f"A{i:03d}" for i in range(12)]
    # the key travels as `id`, missing values are left out (Neo4j stores no nulls)
    assert sent[0] == {"id": "A000", "name": "业务员0", "team": "T1", "region": "华东",
                       "hire_date": "2020-01-01", "status": "active"}
    # the data version moves on after a unit of work that changed something
    assert any(q == STATEMENTS["bump_data_version"].text for q, _ in srv.runs)


def test_relationships_go_one_statement_per_type(servers: list[Any]) -> None:
    def handler(query: str, params: dict[str, Any]) -> Reply:
        if "ids" in params:
            return Reply(["missing"], [[[]]])
        if "rows" in params:
            return Reply(["changed"], [[len(params["rows"])]])
        return Reply()

    srv = BoltServer(handler)
    servers.append(srv)
    rels = pd.DataFrame({
        "src_id": ["C1", "C2", "A1", "C3"], "dst_id": ["C2", "C3", "C1", "C1"],
        "type": ["FRIEND_OF", "RELATIVE_OF", "SERVES", "FRIEND_OF"],
        "kind": [None, "spouse", None, None], "start_date": None, "source": None,
        "confidence": [0.5, None, 1.0, None], "converted": pd.array([None] * 4, dtype="Int64"),
    }, columns=list(RELATIONSHIPS.column_names))
    with Neo4jStore(srv.uri, settings=settings(batch_rows=5000)) as store:
        srv.runs.clear()
        with store.transaction():
            assert store.upsert(RELATIONSHIPS, rels) == 4
    by_text = {q: p for q, p in srv.runs if "rows" in p}
    friend = by_text[STATEMENTS["upsert_rel_FRIEND_OF"].text]["rows"]
    assert friend == [{"src_id": "C1", "dst_id": "C2", "props": {"confidence": 0.5}},
                      {"src_id": "C3", "dst_id": "C1", "props": {}}]
    assert by_text[STATEMENTS["upsert_rel_RELATIVE_OF"].text]["rows"] == [
        {"src_id": "C2", "dst_id": "C3", "props": {"kind": "spouse"}}]
    assert len(by_text) == 3
    # every batch's endpoints (each id once) were checked before writing it
    checked = sorted(sorted(p["ids"]) for q, p in srv.runs
                     if q == STATEMENTS["missing_entities"].text)
    assert checked == [["A1", "C1"], ["C1", "C2", "C3"], ["C2", "C3"]]


def test_a_batch_naming_unknown_ids_is_refused_with_them(servers: list[Any]) -> None:
    def handler(query: str, params: dict[str, Any]) -> Reply:
        if "ids" in params:
            return Reply(["missing"], [[[i for i in params["ids"] if i == "C9"]]])
        return Reply(["changed"], [[1]]) if "rows" in params else Reply()

    srv = BoltServer(handler)
    servers.append(srv)
    rels = pd.DataFrame({"src_id": ["C1"], "dst_id": ["C9"], "type": ["FRIEND_OF"]},
                        columns=list(RELATIONSHIPS.column_names))
    with Neo4jStore(srv.uri, settings=settings()) as store, pytest.raises(
            StoreError, match=r"relationships: rows 1–1 of those written name ids that are "
                              r"not in the store: C9"), store.transaction():
        store.upsert(RELATIONSHIPS, rels)
    assert not any("rows" in p for _, p in srv.runs)  # nothing was written


# -- retries and stopping ---------------------------------------------------------------------
def _flaky_after(good_batches: int) -> tuple[BoltServer, list[int]]:
    """A server whose first ``good_batches`` row batches succeed and every later one fails."""
    seen: list[int] = []

    def handler(query: str, params: dict[str, Any]) -> Reply:
        if "rows" not in params or query == STATEMENTS["bump_data_version"].text:
            return Reply()
        seen.append(len(params["rows"]))
        if len(seen) <= good_batches:
            return Reply(["changed"], [[len(params["rows"])]])
        return Reply(failure=TRANSIENT)

    return BoltServer(handler), seen


def test_a_failing_batch_is_retried_then_stops_the_job_naming_file_rows_and_commits(
    tmp_path: Path, servers: list[Any]
) -> None:
    for name in ("agents.csv", "organizations.csv"):
        shutil.copy(SAMPLE_DIR / name, tmp_path / name)
    n_agents = len(pd.read_csv(tmp_path / "agents.csv"))
    assert n_agents > 10
    srv, seen = _flaky_after(good_batches=1)
    servers.append(srv)
    store = Neo4jStore(srv.uri, settings=settings(batch_rows=5, max_retries=3))
    with store, pytest.raises(IngestError) as info:
        ingest_paths([tmp_path], store)
    message = str(info.value)
    # first batch once, the second batch three times (max_retries), nothing after it
    assert seen == [5, 5, 5, 5]
    # data rows 6-10 are spreadsheet rows 7-11 (the header is row 1; the file has no rejects)
    assert ("agents.csv: could not write: agents: spreadsheet rows 7–11 failed 3 times"
            in message)
    assert "committed before it: agents: spreadsheet rows 2–6" in message
    assert "database unavailable (test)" in message
    # the next file is not written at all, and says why
    assert ("organizations.csv: could not write: not written: the job stopped at an earlier "
            "failure (agents: spreadsheet rows 7–11)") in message
    assert PASSWORD not in message


def test_errors_that_retrying_cannot_fix_are_not_retried(servers: list[Any]) -> None:
    def handler(query: str, params: dict[str, Any]) -> Reply:
        if "rows" in params:
            return Reply(failure=("Neo.ClientError.Schema.ConstraintValidationFailed",
                                  "Node(1) already exists with label `Entity`"))
        return Reply()

    srv = BoltServer(handler)
    servers.append(srv)
    store = Neo4jStore(srv.uri, settings=settings(max_retries=5))
    with store, pytest.raises(StoreError, match="ConstraintValidationFailed") as info, \
            store.transaction():
        store.upsert(AGENTS, _agents(3))
    assert len([p for _, p in srv.runs if "rows" in p]) == 1
    assert "\n" not in str(info.value)


def test_constraints_are_applied_before_the_first_write(servers: list[Any]) -> None:
    srv = BoltServer(lambda q, p: Reply(["changed"], [[len(p["rows"])]]) if "rows" in p
                     else Reply())
    servers.append(srv)
    with Neo4jStore(srv.uri, settings=settings()) as store:
        srv.runs.clear()
        with store.transaction():
            store.upsert(AGENTS, _agents(2))
    queries = [q for q, _ in srv.runs]
    schema = [s.text for s in STATEMENTS.values() if s.file == "schema.cypher"]
    first_write = queries.index(STATEMENTS["upsert_agents"].text)
    assert queries[:first_write] == schema


# -- connection errors: one clear line --------------------------------------------------------
def test_refused_port_is_one_line(servers: list[Any]) -> None:
    port = refused_port()
    msg = _open_error(f"bolt://127.0.0.1:{port}", settings())
    assert msg.startswith(f"cannot reach Neo4j at bolt://127.0.0.1:{port}: ")
    assert "refused" in msg.lower()


def test_server_that_hangs_up_is_one_line(servers: list[Any]) -> None:
    srv = SilentServer(close_at_once=True)
    servers.append(srv)
    msg = _open_error(srv.uri, settings())
    assert msg.startswith(f"cannot reach Neo4j at {srv.uri}: ")
    assert srv.accepted >= 1


def test_server_that_never_answers_times_out_as_one_line(servers: list[Any]) -> None:
    srv = SilentServer()
    servers.append(srv)
    msg = _open_error(srv.uri, settings(connect_timeout_seconds=0.3))
    assert msg.startswith(f"cannot reach Neo4j at {srv.uri}: ")


def test_wrong_password_is_named_without_the_password(servers: list[Any]) -> None:
    srv = BoltServer(hello_failure=("Neo.ClientError.Security.Unauthorized",
                                    "The client is unauthorized due to authentication failure."))
    servers.append(srv)
    msg = _open_error(srv.uri, settings(user="agent007"))
    assert msg == (f"Neo4j at {srv.uri} refused user 'agent007': wrong user name or password "
                   "(set GRAPHCRM_NEO4J_USER / GRAPHCRM_NEO4J_PASSWORD)")
    # the driver really sent the credentials over the wire
    assert srv.hellos[0]["principal"] == "agent007"


def test_missing_password_says_where_to_set_it(servers: list[Any]) -> None:
    srv = BoltServer(hello_failure=("Neo.ClientError.Security.Unauthorized", "unauthorized"))
    servers.append(srv)
    msg = _open_error(srv.uri, settings(password=""))
    assert "requires a password for user 'neo4j': set GRAPHCRM_NEO4J_PASSWORD" in msg


def test_missing_database_is_named(servers: list[Any]) -> None:
    srv = BoltServer(lambda q, p: Reply(failure=(
        "Neo.ClientError.Database.DatabaseNotFound",
        "Database does not exist. Database name: 'crm'.")))
    servers.append(srv)
    msg = _open_error(srv.uri, settings(database="crm"))
    assert msg == (f"Neo4j at {srv.uri} has no database 'crm' (create it, or set "
                   "GRAPHCRM_NEO4J_DATABASE / neo4j.database)")


def test_bad_address_is_one_line() -> None:
    msg = _open_error("bolt://127.0.0.1:99999", settings())
    assert "bolt://127.0.0.1:99999" in msg


def test_error_text_never_shows_credentials() -> None:
    exc = ServiceUnavailable(f"Couldn't connect to db:7687 (password={PASSWORD}) "
                             "(reason [Errno 111] Connection refused)")
    msg = describe_neo4j_error(exc, f"neo4j://neo4j:{PASSWORD}@db:7687", settings())
    assert msg == "cannot reach Neo4j at neo4j://db:7687: [Errno 111] Connection refused"


# -- graphcrm export --to neo4j:// ------------------------------------------------------------
def test_export_to_neo4j_sends_every_row_in_batches(tmp_path: Path, servers: list[Any]) -> None:
    import json

    from click.testing import CliRunner

    from graphcrm.cli import main
    from graphcrm.model import TABLES

    def handler(query: str, params: dict[str, Any]) -> Reply:
        if "ids" in params and "rows" not in params:
            return Reply(["missing"], [[[]]])
        if "rows" in params:
            return Reply(["changed"], [[len(params["rows"])]])
        return Reply()

    srv = BoltServer(handler)
    servers.append(srv)
    db = tmp_path / "crm.db"
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", str(SAMPLE_DIR), "--store", str(db)]).exit_code == 0
    cfg = tmp_path / "neo.toml"
    cfg.write_text("[neo4j]\nbatch_rows = 1000\nretry_backoff_seconds = 0.001\n",
                   encoding="utf-8")
    res = runner.invoke(main, ["export", "--store", str(db), "--to", srv.uri, "--config",
                               str(cfg), "--json"],
                        env={"GRAPHCRM_NEO4J_PASSWORD": PASSWORD})
    assert res.exit_code == 0, res.output
    assert PASSWORD not in res.output
    out = json.loads(res.output)
    sent: dict[str, list[int]] = {}
    for query, params in srv.runs:
        if "rows" in params:
            name = next(n for n, s in STATEMENTS.items() if s.text == query)
            sent.setdefault(name, []).append(len(params["rows"]))
    for table in TABLES:
        rows = len(pd.read_csv(SAMPLE_DIR / f"{table.name}.csv"))
        if table is RELATIONSHIPS:
            got = sum(n for name, sizes in sent.items() if name.startswith("upsert_rel_")
                      for n in sizes)
            per_type = pd.read_csv(SAMPLE_DIR / "relationships.csv")["type"].value_counts()
            for rel_type, count in per_type.items():
                sizes = sent[f"upsert_rel_{rel_type}"]
                assert max(sizes) <= 1000 and sum(sizes) == count
        else:
            name = "upsert_" + table.name
            got = sum(sent[name])
            assert all(n == 1000 for n in sent[name][:-1]), sent[name]
        assert got == rows, table.name
        assert next(f for f in out["files"] if f["table"] == table.name)["changed"] == rows


def test_export_to_unreachable_neo4j_exits_1_with_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from graphcrm.cli import main

    db = tmp_path / "crm.db"
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", str(SAMPLE_DIR), "--store", str(db)]).exit_code == 0
    port = refused_port()
    res = runner.invoke(main, ["export", "--store", str(db), "--to",
                               f"neo4j://127.0.0.1:{port}"],
                        env={"GRAPHCRM_NEO4J_PASSWORD": PASSWORD})
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(
        f"error: cannot reach Neo4j at neo4j://127.0.0.1:{port}"), res.output


# -- reads: the server's records become the embedded store's frames ----------------------------
def test_records_become_template_frames(servers: list[Any]) -> None:
    answers = {
        "nodes_clients": Reply(["p"], [
            [{"id": "C1", "name": "张伟", "age": 41, "city": "上海"}],
            [{"id": "C2", "name": "李娜", "phone": "13812345678"}],
        ]),
        "relationships": Reply(["src_id", "dst_id", "type", "p"], [
            ["C1", "C2", "RELATIVE_OF", {"kind": "spouse", "confidence": 0.9}],
            ["A1", "C1", "SERVES", {}],
        ]),
        "labels_of": Reply(["id", "label"], [["C1", "Client"], ["A1", "Agent"]]),
        "counts": Reply(["Agent", "Client", "SERVES"], [[1, 2, 3]]),
        "data_version": Reply(["data_version"], [[7]]),
    }
    texts = {STATEMENTS[name].text: reply for name, reply in answers.items()}
    srv = BoltServer(lambda q, p: texts.get(q, Reply()))
    servers.append(srv)
    with Neo4jStore(srv.uri, settings=settings()) as store:
        clients = store.nodes(Label.CLIENT)
        rels = store.relationships(columns=["src_id", "dst_id", "type", "kind", "confidence"])
        labels = store.labels_of(["C1", "A1", "X"])
        counts = store.counts()
        version = store.data_version()
    assert list(clients.columns) == list(CLIENTS.column_names)
    assert clients["client_id"].tolist() == ["C1", "C2"]
    assert clients["age"].tolist()[0] == 41 and pd.isna(clients["age"].tolist()[1])
    assert clients["phone"].tolist() == [None, "13812345678"]
    assert clients["gender"].tolist() == [None, None]
    assert rels.to_dict("records")[0] == {"src_id": "C1", "dst_id": "C2", "type": "RELATIVE_OF",
                                          "kind": "spouse", "confidence": 0.9}
    assert rels["kind"].tolist()[1] is None and pd.isna(rels["confidence"].tolist()[1])
    assert labels == {"C1": Label.CLIENT, "A1": Label.AGENT}
    assert counts["Agent"] == 1 and counts["Client"] == 2 and counts["SERVES"] == 3
    assert counts["REFERRED"] == 0 and counts["merged_ids"] == 0
    assert version == 7
    # every read went with the parameters its statement declares
    for query, params in srv.runs:
        name = next(n for n, s in STATEMENTS.items() if s.text == query)
        assert set(params) == set(STATEMENTS[name].params), name


def test_spreadsheet_rows_are_named_when_the_job_passes_them(servers: list[Any]) -> None:
    srv, seen = _flaky_after(good_batches=0)
    servers.append(srv)
    frame = _agents(7)
    frame["__row"] = [2, 3, 5, 6, 7, 9, 10]  # validator's spreadsheet row numbers (gaps = rejects)
    store = Neo4jStore(srv.uri, settings=settings(batch_rows=5, max_retries=2))
    with store, pytest.raises(StoreError) as info, store.transaction():
        store.upsert(AGENTS, frame)
    assert str(info.value).startswith("agents: spreadsheet rows 2–7 failed 2 times")
    assert "committed before it: nothing" in str(info.value)
    assert seen == [5, 5]
    assert all("__row" not in r for _, p in srv.runs if "rows" in p for r in p["rows"])


# -- the GDS scaling path (docs/scaling.md) ----------------------------------------------------
def test_gds_calls_go_in_order_with_their_declared_parameters(servers: list[Any]) -> None:
    answers = {
        "gds_write_ties": lambda p: Reply(["written"], [[len(p["rows"])]]),
        "gds_pagerank_stream": lambda p: Reply(["id", "score"], [["C1", 0.75], ["C2", 0.25]]),
        "gds_dijkstra_stream": lambda p: Reply(["totalCost", "path", "costs"], [
            [0.5, ["C1", "C2"], [0.0, 0.5]]]) if p["target_id"] == "C2" else Reply(),
    }
    texts = {STATEMENTS[n].text: f for n, f in answers.items()}
    srv = BoltServer(lambda q, p: texts[q](p) if q in texts else Reply())
    servers.append(srv)
    edges = pd.DataFrame({"u": ["C1", "C1", "C2"], "v": ["C2", "C3", "C3"],
                          "strength": [0.9, 0.5, 0.6], "distance": [0.105, 0.693, 0.511]})
    with Neo4jStore(srv.uri, settings=settings(batch_rows=2, gds_graph_name="g1")) as store:
        srv.runs.clear()
        assert store.gds_load_ties(edges, version=4) == 3
        rank = store.gds_pagerank(0.85, 1e-10, 200)
        assert store.gds_dijkstra("C1", "C2") == (0.5, ["C1", "C2"])
        assert store.gds_dijkstra("C1", "C9") == (float("inf"), [])
    names = [next(n for n, s in STATEMENTS.items() if s.text == q) for q, _ in srv.runs]
    assert names == ["gds_write_ties", "gds_write_ties", "gds_drop_stale_ties", "gds_drop",
                     "gds_project", "gds_pagerank_stream", "gds_dijkstra_stream",
                     "gds_dijkstra_stream"]
    for (_, params), name in zip(srv.runs, names, strict=True):
        assert set(params) == set(STATEMENTS[name].params), name
    assert [len(p["rows"]) for _, p in srv.runs[:2]] == [2, 1]
    assert srv.runs[0][1]["rows"][0] == {"u": "C1", "v": "C2", "strength": 0.9,
                                         "distance": 0.105}
    assert {p.get("graph_name") for _, p in srv.runs[3:]} == {"g1"}
    assert srv.runs[5][1] == {"graph_name": "g1", "alpha": 0.85, "tol": 1e-10, "max_iter": 200}
    assert rank.to_dict() == {"C1": 0.75, "C2": 0.25}


def test_a_server_without_gds_says_so(servers: list[Any]) -> None:
    srv = BoltServer(lambda q, p: Reply(failure=(
        "Neo.ClientError.Procedure.ProcedureNotFound",
        "There is no procedure with the name `gds.graph.project` registered for this "
        "database instance.")) if q == STATEMENTS["gds_project"].text else Reply())
    servers.append(srv)
    store = Neo4jStore(srv.uri, settings=settings())
    with store, pytest.raises(StoreError) as info:
        store.gds_load_ties(pd.DataFrame(columns=["u", "v", "strength", "distance"]), 1)
    assert str(info.value).startswith(f"Neo4j at {srv.uri} has no Graph Data Science library "
                                      "(GDS): install the plugin or set neo4j.use_gds = false")


# -- erasure ------------------------------------------------------------------------------------
def test_forget_runs_every_erasure_statement_in_one_transaction(servers: list[Any]) -> None:
    """What `forget` sends: the statements of cypher/erasure.cypher in order, the merged id
    resolved, the journal decided word by word (a settled line rewritten under the pseudonym,
    a merged-row copy deleted, a record that only shares a prefix left alone)."""
    journal = [
        ["journal:1", "reward_settled", '{"line_id": "L1", "earner_id": "C1", "points": 5}'],
        ["journal:2", "merged_row", '{"alias_id": "C1-old", "client_id": "C1", "name": "x"}'],
        ["journal:3", "reward_settled", '{"line_id": "L3", "earner_id": "C10", "points": 1}'],
    ]
    text = {name: st.text for name, st in STATEMENTS.items()}

    def handler(query: str, params: dict[str, Any]) -> Reply:
        if query == text["forget_resolve"]:
            found = params["id"] in ("C1", "C1-old")
            return Reply(["client_id", "found", "aliases"],
                         [["C1" if found else params["id"], found, ["C1-old"] if found else []]])
        if query == text["forget_journal_naming"]:
            return Reply(["id", "kind", "payload"], journal)
        if query == text["forget_client_node"]:
            return Reply(["relationships", "clients"], [[4, 1]])
        if query.startswith("// ") or "changed" in query:
            return Reply(["changed"], [[len(params.get("rows", params.get("ids", [0])))]])
        return Reply()

    srv = BoltServer(handler)
    servers.append(srv)
    with Neo4jStore(srv.uri, settings=settings()) as store:
        srv.runs.clear()
        done = store.forget_client("C1-old", "ERASED-X")
        sent = [(q, p) for q, p in srv.runs]
        with pytest.raises(StoreError, match="unknown client id 'NOBODY'"):
            store.forget_client("NOBODY", "ERASED-Y")
    names = {st.text: name for name, st in STATEMENTS.items()}
    order = [names[q] for q, _ in sent if q in names
             and STATEMENTS[names[q]].file != "schema.cypher"]  # schema first, once
    assert order[:12] == ["forget_resolve", "forget_journal_naming", "forget_journal_rewrite",
                          "forget_journal_delete", "forget_pseudonym", "forget_policies_holder",
                          "forget_policies_insured", "forget_referrals_out",
                          "forget_referrals_in", "forget_interactions", "forget_aliases",
                          "forget_client_node"]
    assert order[12] == "bump_data_version"
    params = {names[q]: p for q, p in sent if q in names}
    assert params["forget_journal_naming"]["ids"] == ["C1", "C1-old"]
    rewritten = params["forget_journal_rewrite"]["rows"]
    assert [r["id"] for r in rewritten] == ["journal:1"]
    assert '"earner_id": "ERASED-X"' in rewritten[0]["payload"]
    assert params["forget_journal_delete"]["ids"] == ["journal:2"]
    assert params["forget_client_node"] == {"client_id": "C1"}  # the merged id resolved
    assert params["forget_pseudonym"] == {"pseudonym": "ERASED-X",
                                          "name": Neo4jStore.ERASED_NAME}
    assert done["client_id"] == "C1" and done["relationships"] == 4
    # the unknown id stopped at the look-up: nothing was deleted, no retry
    tail = [names.get(q) for q, _ in srv.runs[len(sent):]]
    assert tail == ["forget_resolve"], tail


def test_forget_command_on_neo4j_checks_and_audits_in_the_side_file(
        servers: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`graphcrm forget --store bolt://…` end to end on the wire: the merged id resolves, the
    erasure runs, `find_text` is asked for the mobile, ID number and ids afterwards, and the
    erasure is audited in the access side file (the graph database holds no audit)."""
    import json

    from click.testing import CliRunner

    from graphcrm.cli import main
    from graphcrm.config import AccessSettings
    from graphcrm.store.access import AccessStore

    text = {name: st.text for name, st in STATEMENTS.items()}
    asked: list[list[str]] = []

    def handler(query: str, params: dict[str, Any]) -> Reply:
        if query == text["data_version"]:
            return Reply(["data_version"], [[3]])
        if query == text["aliases"]:
            return Reply(["alias_id", "client_id"], [["C1-old", "C1"]])
        if query == text["get_clients"]:
            return Reply(["p"], [[{"id": "C1", "name": "张伟", "phone": "13812345678",
                                   "id_number": "420106199201140011"}]])
        if query == text["forget_resolve"]:
            return Reply(["client_id", "found", "aliases"], [["C1", True, ["C1-old"]]])
        if query == text["forget_journal_naming"]:
            return Reply(["id", "kind", "payload"], [])
        if query == text["forget_client_node"]:
            return Reply(["relationships", "clients"], [[3, 1]])
        if query == text["find_text"]:
            asked.append(list(params["needles"]))
            return Reply(["kind", "what", "properties"], [])
        if "changed" in query:
            return Reply(["changed"], [[0]])
        return Reply()

    srv = BoltServer(handler)
    servers.append(srv)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRAPHCRM_NEO4J_PASSWORD", PASSWORD)
    result = CliRunner().invoke(main, ["forget", "C1-old", "--reason", "request 7",
                                       "--store", srv.uri, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["client_id"] == "C1" and out["still_found"] == []
    assert out["snapshot_rebuilt"] is False  # a server has no snapshot file
    assert asked == [["13812345678", "420106199201140011", "C1", "C1-old"]]
    with AccessStore(tmp_path / "graphcrm-access.db", AccessSettings()) as acc:
        rows = acc.audit()
    forget = rows.loc[rows["action"] == "forget"]
    assert list(forget["target"]) == [out["pseudonym"]]
    assert "request 7" in forget.iloc[0]["detail"] and "C1" not in forget.iloc[0]["detail"]
