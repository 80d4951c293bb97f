"""Every statement in cypher/ passes Neo4j's own parser and semantic analysis.

``lintCypherQuery`` from the npm package ``@neo4j-cypher/language-support`` (pinned in
package.json / package-lock.json, installed by ``npm ci``) runs under Node on each statement,
with the labels and relationship types GraphCRM writes, the parameters the statement declares,
and the GDS procedures of cypher/lint-schema.json. Any diagnostic (error, warning or
deprecation) fails. Deliberately broken statements prove the check can fail.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from graphcrm.model import TABLES, Label, RelType
from graphcrm.store.neo4j import (
    CYPHER_DIR,
    GRAPHCRM_LABELS,
    REL_TYPES,
    UPSERT_STATEMENTS,
    Statement,
    load_statements,
    parse_statements,
)

from .conftest import ROOT

LINTER = ROOT / "tests" / "lint_cypher.cjs"
PACKAGE = ROOT / "node_modules" / "@neo4j-cypher" / "language-support"

#: the labels and relationship types the Neo4j back end writes
LABELS = [lbl.value for lbl in Label] + ["Entity", "Interaction", "Alias", "GraphCRMMeta",
                                        "Journal"]
assert set(LABELS) == set(GRAPHCRM_LABELS)
REL_TYPE_NAMES = [t.value for t in RelType] + ["HOLDS", "BY_AGENT", "WITH_CLIENT", "ALIAS_OF",
                                               "TIE"]

#: statements that must fail the check, with a fragment of the message expected
BROKEN = [
    ("broken_syntax", "MATCH (n:Client RETURN n", [], "Invalid input"),
    ("broken_parameter", "MATCH (n:Client {id: $client}) RETURN n", ["id"],
     "Parameter $client is not defined"),
    ("broken_label", "MATCH (n:Clinet) RETURN n.id AS id", [], "Label Clinet is not present"),
    ("broken_rel_type", "MATCH (:Client)-[r:REFERED]->(:Client) RETURN r", [],
     "REFERED is not present"),
    ("broken_procedure", "CALL gds.pageRank.strem('g', {}) YIELD nodeId RETURN nodeId", [],
     "Procedure gds.pageRank.strem is not present"),
    ("broken_function", "MATCH (n:Client) RETURN toLowr(n.name) AS name", [], "toLowr"),
    ("broken_deprecated",
     "MATCH (n:Client) CALL { WITH n MATCH (n)-[:HOLDS]->(p:Policy) RETURN count(p) AS c } "
     "RETURN n.id, c", [], "deprecated"),
    ("broken_semantics", "MATCH (n:Client) RETURN m.id AS id", [], "Variable `m` not defined"),
]


def _lint(statements: list[tuple[str, str, list[str]]]) -> dict[str, list[dict[str, object]]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node 20 (the Cypher check runs Neo4j's parser "
                    "under Node)")
    if not PACKAGE.is_dir():
        pytest.fail(f"{PACKAGE} is missing: run `npm ci` in {ROOT} "
                    "(installs the pinned @neo4j-cypher/language-support; CI does this)")
    payload = {
        "labels": LABELS,
        "relationshipTypes": REL_TYPE_NAMES,
        "statements": [{"name": n, "text": t, "params": p} for n, t, p in statements],
    }
    proc = subprocess.run([node, str(LINTER)], input=json.dumps(payload), capture_output=True,
                          text=True, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, f"linter failed: {proc.stderr.strip()}"
    return {r["name"]: r["diagnostics"] for r in json.loads(proc.stdout)}


@pytest.fixture(scope="module")
def statements() -> dict[str, Statement]:
    return load_statements()


@pytest.fixture(scope="module")
def linted(statements: dict[str, Statement]) -> dict[str, list[dict[str, object]]]:
    batch = [(s.name, s.text, list(s.params)) for s in statements.values()]
    batch += [(n, t, p) for n, t, p, _ in BROKEN]
    return _lint(batch)


def test_every_cypher_statement_passes_neo4j_lint(
    statements: dict[str, Statement], linted: dict[str, list[dict[str, object]]]
) -> None:
    assert len(statements) >= 40  # schema, ingest, queries and gds files were all read
    problems = [
        f"{s.file}:{s.line} {s.name}: line {d['line']}:{d['character']} {d['severity']}: "
        f"{d['message']}"
        for s in statements.values() for d in linted[s.name]
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("name", "text", "params", "expected"), BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_broken_statements_are_caught(linted: dict[str, list[dict[str, object]]], name: str,
                                      text: str, params: list[str], expected: str) -> None:
    messages = [str(d["message"]) for d in linted[name]]
    assert messages, f"{name} passed the check: {text}"
    assert any(expected in m for m in messages), messages


def test_declared_parameters_are_exactly_the_ones_used(
    statements: dict[str, Statement],
) -> None:
    wrong = {}
    for s in statements.values():
        text = "\n".join(line for line in s.text.splitlines()
                         if not line.strip().startswith("//"))
        used = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text))
        if used != set(s.params):
            wrong[s.name] = (sorted(s.params), sorted(used))
    assert not wrong, wrong


def test_one_upsert_statement_per_table_and_relationship_type(
    statements: dict[str, Statement],
) -> None:
    assert set(UPSERT_STATEMENTS) == {t.name for t in TABLES}
    needed = {n for names in UPSERT_STATEMENTS.values() for n in names}
    assert {f"upsert_rel_{t}" for t in RelType} <= needed
    assert needed <= set(statements), needed - set(statements)
    for t in REL_TYPES:
        text = statements[f"upsert_rel_{t}"].text
        assert text.startswith("UNWIND $rows AS row") and f"MERGE (a)-[r:{t}]->(b)" in text


def test_schema_has_a_uniqueness_constraint_per_id(statements: dict[str, Statement]) -> None:
    schema = [s.text for s in statements.values() if s.file == "schema.cypher"]
    for label in [*LABELS]:
        key = "key" if label == "GraphCRMMeta" else "id"
        assert any(f"(n:{label}) REQUIRE n.{key} IS UNIQUE" in t for t in schema), label


def test_no_cypher_is_built_in_python() -> None:
    # Cypher-only openings (SQL in sqlite.py has none of them)
    pattern = re.compile(r"""["']\s*(MATCH|MERGE|UNWIND|OPTIONAL MATCH|CREATE CONSTRAINT|"""
                         r"""CREATE TEXT INDEX|CALL gds|CREATE \()""")
    hits = []
    for py in sorted((ROOT / "graphcrm").rglob("*.py")):
        for no, line in enumerate(py.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                hits.append(f"{py.relative_to(ROOT)}:{no}: {line.strip()}")
    assert not hits, "Cypher belongs in cypher/*.cypher:\n" + "\n".join(hits)


def test_statement_files_parse_by_name(tmp_path: Path) -> None:
    text = ("// preamble\n\n// name: first\n// params: a, b\n// what it does\n"
            "MATCH (n) WHERE n.x = $a AND n.y = $b\nRETURN n\n\n// name: second\nRETURN 1\n")
    got = parse_statements(text, "t.cypher")
    assert [(s.name, s.params, s.line) for s in got] == [("first", ("a", "b"), 3),
                                                         ("second", (), 9)]
    assert got[0].text == "MATCH (n) WHERE n.x = $a AND n.y = $b\nRETURN n"
    assert got[1].text == "RETURN 1"
    from graphcrm.store.base import StoreError

    with pytest.raises(StoreError, match="used twice: first"):
        parse_statements("// name: first\nRETURN 1\n// name: first\nRETURN 2\n", "t.cypher")
    with pytest.raises(StoreError, match="no text"):
        parse_statements("// name: empty\n// name: other\nRETURN 1\n", "t.cypher")
    assert CYPHER_DIR == ROOT / "cypher"
