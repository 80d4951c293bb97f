// The scaling path (docs/scaling.md): whole-graph metrics inside Neo4j with the Graph Data
// Science library (GDS 2.x) instead of NetworkX. The analysis graph's collapsed ties (strength
// and distance = -ln strength, computed by graphcrm.graph.strength exactly as for NetworkX,
// distrusted ties left out) are written as (:Entity)-[:TIE]->(:Entity), projected into a named
// in-memory graph, and PageRank / Dijkstra stream their results back.

// name: gds_version
CALL gds.version() YIELD gdsVersion
RETURN gdsVersion

// name: gds_write_ties
// params: rows, version
UNWIND $rows AS row
MATCH (a:Entity {id: row.u})
MATCH (b:Entity {id: row.v})
MERGE (a)-[t:TIE]->(b)
SET t.strength = row.strength, t.distance = row.distance, t.version = $version
RETURN count(t) AS written

// name: gds_drop_stale_ties
// params: version
// Ties of an older analysis graph (a tie that became distrusted or whose endpoints went).
MATCH ()-[t:TIE]->()
WHERE t.version <> $version
DELETE t
RETURN count(*) AS deleted

// name: gds_project
// Clients and organizations only: agents and their ties are not paths of a client's influence
// (GDS loads only the ties whose two ends are projected).
// params: graph_name
CALL gds.graph.project(
  $graph_name,
  ['Client', 'Organization'],
  {TIE: {orientation: 'UNDIRECTED', properties: ['strength', 'distance']}}
)
YIELD graphName, nodeCount, relationshipCount
RETURN graphName, nodeCount, relationshipCount

// name: gds_drop
// params: graph_name
CALL gds.graph.drop($graph_name, false)
YIELD graphName
RETURN graphName

// name: gds_pagerank_stream
// params: graph_name, alpha, tol, max_iter
// Weighted PageRank (settings.metrics.pagerank_*); scaled to sum 1 like networkx.pagerank.
CALL gds.pageRank.stream($graph_name, {
  relationshipWeightProperty: 'strength',
  dampingFactor: $alpha,
  tolerance: $tol,
  maxIterations: $max_iter,
  scaler: 'L1Norm'
})
YIELD nodeId, score
RETURN gds.util.asNode(nodeId).id AS id, score

// name: gds_dijkstra_stream
// params: graph_name, source_id, target_id
// The connection distance d(u, v) = min sum of -ln strength (no hop bound) and its path.
MATCH (s:Entity {id: $source_id})
MATCH (t:Entity {id: $target_id})
CALL gds.shortestPath.dijkstra.stream($graph_name, {
  sourceNode: s,
  targetNode: t,
  relationshipWeightProperty: 'distance'
})
YIELD totalCost, nodeIds, costs
RETURN totalCost, [n IN nodeIds | gds.util.asNode(n).id] AS path, costs
