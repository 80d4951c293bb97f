"""neo4j.use_gds: the whole-graph PageRank comes from Neo4j GDS, over real Bolt.

The server is the minimal Bolt server of the driver tests (a real socket, the real driver):
it records what GraphCRM sends and answers the GDS statements as GDS would.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from graphcrm.graph import apply_gds, build_graph
from graphcrm.metrics.influence import influence_scores, pagerank, people_graph
from graphcrm.store.neo4j import Neo4jStore, load_statements
from graphcrm.store.sqlite import SQLiteStore

from .bolt_server import BoltServer, Reply
from .graph_fixtures import build_world
from .test_neo4j_driver import settings

STATEMENTS = load_statements()


def test_use_gds_sends_the_ties_and_takes_pagerank_from_gds(tmp_store: SQLiteStore) -> None:
    build_world(tmp_store)
    ag = build_graph(tmp_store)
    ids = list(people_graph(ag)[0])  # GDS projects clients and organizations only
    # GDS's answer: scores we choose, so the test sees they are the ones used (one node absent)
    gds_scores = {node: float(i + 1) for i, node in enumerate(ids[:-1])}

    def handler(query: str, params: dict[str, Any]) -> Reply:
        if query == STATEMENTS["gds_write_ties"].text:
            return Reply(["written"], [[len(params["rows"])]])
        if query == STATEMENTS["gds_pagerank_stream"].text:
            return Reply(["id", "score"], [[k, v] for k, v in gds_scores.items()])
        return Reply()

    srv = BoltServer(handler)
    try:
        with Neo4jStore(srv.uri, settings=settings(batch_rows=4)) as neo:
            srv.runs.clear()
            apply_gds(neo, ag)
    finally:
        srv.close()

    sent = [r for q, p in srv.runs if q == STATEMENTS["gds_write_ties"].text
            for r in p["rows"]]
    assert len(sent) == len(ag.edges)  # every collapsed tie, in batches of 4
    got = pd.DataFrame(sent).sort_values(["u", "v"]).reset_index(drop=True)
    want = ag.edges[["u", "v", "strength"]].sort_values(["u", "v"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[["u", "v", "strength"]], want, check_dtype=False)
    names = [STATEMENTS[n].text for n in ("gds_drop", "gds_project", "gds_pagerank_stream")]
    order = [q for q, _ in srv.runs if q in names]
    assert order == names  # drop the old projection, project, then stream PageRank
    pagerank_params = next(p for q, p in srv.runs if q == names[2])
    assert pagerank_params["alpha"] == ag.settings.metrics.pagerank_alpha

    pr = pagerank(ag)
    assert pr[ids[0]] == gds_scores[ids[0]] and pr[ids[-1]] == 0.0
    assert influence_scores(ag)["pagerank"].to_dict() == pr.to_dict()
    # asking for other parameters than the configured ones computes them here
    assert pagerank(ag, alpha=0.5).sum() == pytest.approx(1.0)
