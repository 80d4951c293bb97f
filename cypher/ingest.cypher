// GraphCRM batched, idempotent writes. Each statement takes one batch ($rows, default 5,000
// rows: settings.neo4j.batch_rows) and returns how many records it inserted or actually
// changed: a row identical to the stored record (same property map) is skipped, so re-running
// an ingest changes nothing. Nodes: each row is the node's full property map (template
// columns, key as `id`, nulls left out) and replaces the stored map (SET n = row), exactly like
// the embedded store's UPDATE of every column. Relationships: {src_id, dst_id, props}.
// Labels and relationship types cannot be parameters, so there is one statement per node label
// and per relationship type.


// name: upsert_agents
// params: rows
UNWIND $rows AS row
OPTIONAL MATCH (old:Agent {id: row.id})
WITH row, old
WHERE old IS NULL OR properties(old) <> row
MERGE (n:Agent {id: row.id})
SET n = row, n:Entity
RETURN count(*) AS changed

// name: upsert_organizations
// params: rows
UNWIND $rows AS row
OPTIONAL MATCH (old:Organization {id: row.id})
WITH row, old
WHERE old IS NULL OR properties(old) <> row
MERGE (n:Organization {id: row.id})
SET n = row, n:Entity
RETURN count(*) AS changed

// name: upsert_clients
// params: rows
UNWIND $rows AS row
OPTIONAL MATCH (old:Client {id: row.id})
WITH row, old
WHERE old IS NULL OR properties(old) <> row
MERGE (n:Client {id: row.id})
SET n = row, n:Entity
RETURN count(*) AS changed

// name: upsert_policies
// params: rows
// A policy also gets (holder:Client)-[:HOLDS]->(policy); a changed holder moves the HOLDS tie.
UNWIND $rows AS row
OPTIONAL MATCH (old:Policy {id: row.id})
WITH row, old
WHERE old IS NULL OR properties(old) <> row
MERGE (p:Policy {id: row.id})
SET p = row
WITH p, row
CALL (p, row) {
  OPTIONAL MATCH (p)<-[h:HOLDS]-(c:Client)
  WHERE c.id <> row.holder_id
  DELETE h
}
CALL (p, row) {
  MATCH (c:Client {id: row.holder_id})
  MERGE (c)-[:HOLDS]->(p)
}
RETURN count(*) AS changed

// name: upsert_interactions
// params: rows
// An interaction is a node (its id is the key) tied (i)-[:BY_AGENT]->(agent) and
// (i)-[:WITH_CLIENT]->(client); a changed agent or client moves the ties.
UNWIND $rows AS row
OPTIONAL MATCH (old:Interaction {id: row.id})
WITH row, old
WHERE old IS NULL OR properties(old) <> row
MERGE (i:Interaction {id: row.id})
SET i = row
WITH i, row
CALL (i) {
  OPTIONAL MATCH (i)-[r:BY_AGENT|WITH_CLIENT]->()
  DELETE r
}
CALL (i, row) {
  MATCH (a:Agent {id: row.agent_id})
  MERGE (i)-[:BY_AGENT]->(a)
}
CALL (i, row) {
  MATCH (c:Client {id: row.client_id})
  MERGE (i)-[:WITH_CLIENT]->(c)
}
RETURN count(*) AS changed

// name: upsert_rel_SERVES
// params: rows
UNWIND $rows AS row
MATCH (a:Agent {id: row.src_id})
MATCH (b:Client {id: row.dst_id})
OPTIONAL MATCH (a)-[old:SERVES]->(b)
WITH a, b, row, old
WHERE old IS NULL OR properties(old) <> row.props
MERGE (a)-[r:SERVES]->(b)
SET r = row.props
RETURN count(*) AS changed

// name: upsert_rel_RELATIVE_OF
// params: rows
UNWIND $rows AS row
MATCH (a:Client {id: row.src_id})
MATCH (b:Client {id: row.dst_id})
OPTIONAL MATCH (a)-[old:RELATIVE_OF]->(b)
WITH a, b, row, old
WHERE old IS NULL OR properties(old) <> row.props
MERGE (a)-[r:RELATIVE_OF]->(b)
SET r = row.props
RETURN count(*) AS changed

// name: upsert_rel_COLLEAGUE_OF
// params: rows
UNWIND $rows AS row
MATCH (a:Client {id: row.src_id})
MATCH (b:Client {id: row.dst_id})
OPTIONAL MATCH (a)-[old:COLLEAGUE_OF]->(b)
WITH a, b, row, old
WHERE old IS NULL OR properties(old) <> row.props
MERGE (a)-[r:COLLEAGUE_OF]->(b)
SET r = row.props
RETURN count(*) AS changed

// name: upsert_rel_WORKS_AT
// params: rows
UNWIND $rows AS row
MATCH (a:Client {id: row.src_id})
MATCH (b:Organization {id: row.dst_id})
OPTIONAL MATCH (a)-[old:WORKS_AT]->(b)
WITH a, b, row, old
WHERE old IS NULL OR properties(old) <> row.props
MERGE (a)-[r:WORKS_AT]->(b)
SET r = row.props
RETURN count(*) AS changed

// name: upsert_rel_FRIEND_OF
// params: rows
UNWIND $rows AS row
MATCH (a:Client {id: row.src_id})
MATCH (b:Client {id: row.dst_id})
OPTIONAL MATCH (a)-[old:FRIEND_OF]->(b)
WITH a, b, row, old
WHERE old IS NULL OR properties(old) <> row.props
MERGE (a)-[r:FRIEND_OF]->(b)
SET r = row.props
RETURN count(*) AS changed

// name: upsert_rel_REFERRED
// params: rows
UNWIND $rows AS row
MATCH (a:Client {id: row.src_id})
MATCH (b:Client {id: row.dst_id})
OPTIONAL MATCH (a)-[old:REFERRED]->(b)
WITH a, b, row, old
WHERE old IS NULL OR properties(old) <> row.props
MERGE (a)-[r:REFERRED]->(b)
SET r = row.props
RETURN count(*) AS changed

// name: upsert_rel_BUSINESS_TIE
// params: rows
// Either end is a client or an organization: matched by the shared :Entity key.
UNWIND $rows AS row
MATCH (a:Entity {id: row.src_id})
MATCH (b:Entity {id: row.dst_id})
OPTIONAL MATCH (a)-[old:BUSINESS_TIE]->(b)
WITH a, b, row, old
WHERE old IS NULL OR properties(old) <> row.props
MERGE (a)-[r:BUSINESS_TIE]->(b)
SET r = row.props
RETURN count(*) AS changed

// name: add_aliases
// params: rows
// A merged identity: (:Alias {id: alias_id, client_id, source_file, source_row, reason})
// -[:ALIAS_OF]->(client). Known aliases are left as they are (like the embedded store).
UNWIND $rows AS row
OPTIONAL MATCH (old:Alias {id: row.id})
WITH row, old
WHERE old IS NULL
MATCH (c:Client {id: row.client_id})
CREATE (a:Alias)
SET a = row
CREATE (a)-[:ALIAS_OF]->(c)
RETURN count(*) AS changed

// name: remove_alias
// params: alias_id
// An undone merge: the alias and its ALIAS_OF tie are removed.
MATCH (a:Alias {id: $alias_id})
DETACH DELETE a
RETURN count(*) AS changed

// name: append_journal
// params: kind, recorded_at, payloads
// Append-only journal records (merged rows, undone merges, settled reward lines); the sequence
// number comes from one counter on the meta node, which the write locks.
MERGE (m:GraphCRMMeta {key: 'journal'})
SET m.seq = coalesce(m.seq, 0) + size($payloads)
WITH m.seq - size($payloads) AS base
UNWIND range(0, size($payloads) - 1) AS i
CREATE (j:Journal {id: 'journal:' + toString(base + i + 1), kind: $kind, seq: base + i + 1,
                   recorded_at: $recorded_at, payload: $payloads[i]})
RETURN count(*) AS changed

// name: missing_entities
// params: ids
// The ids of a batch's endpoints and references that are not stored: a batch that names one
// is refused whole with the ids, instead of MATCH silently dropping its rows.
UNWIND $ids AS id
OPTIONAL MATCH (n:Entity {id: id})
WITH id, n
WHERE n IS NULL
RETURN collect(id) AS missing

// name: bump_data_version
// params: updated, schema_version
// After a unit of work that changed something: caches keyed by the data version refresh.
MERGE (m:GraphCRMMeta {key: 'store'})
SET m.data_version = coalesce(m.data_version, 0) + 1,
    m.updated = $updated,
    m.schema_version = $schema_version
RETURN m.data_version AS data_version

// name: delete_graphcrm_nodes
// params: labels, limit
// Empties GraphCRM's part of the database, $limit nodes per transaction (the contract tests
// start from an empty store with it). Nodes with none of GraphCRM's labels are not touched.
MATCH (n)
WHERE any(l IN labels(n) WHERE l IN $labels)
WITH n
LIMIT $limit
DETACH DELETE n
RETURN count(*) AS deleted
