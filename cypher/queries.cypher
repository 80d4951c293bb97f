// GraphCRM reads: what the GraphStore interface, the metrics and the app need.
// Node reads return the stored property map (`p`); the store turns maps into template columns
// (key `id` back to agent_id, client_id, ...). Relationship reads return
// src_id, dst_id, type and the property map `p`.

// name: data_version
OPTIONAL MATCH (m:GraphCRMMeta {key: 'store'})
RETURN coalesce(m.data_version, 0) AS data_version

// name: nodes_agents
MATCH (n:Agent)
RETURN properties(n) AS p

// name: nodes_clients
MATCH (n:Client)
RETURN properties(n) AS p

// name: nodes_organizations
MATCH (n:Organization)
RETURN properties(n) AS p

// name: nodes_policies
MATCH (n:Policy)
RETURN properties(n) AS p

// name: get_agents
// params: ids
UNWIND $ids AS id
MATCH (n:Agent {id: id})
RETURN properties(n) AS p

// name: get_clients
// params: ids
UNWIND $ids AS id
MATCH (n:Client {id: id})
RETURN properties(n) AS p

// name: get_organizations
// params: ids
UNWIND $ids AS id
MATCH (n:Organization {id: id})
RETURN properties(n) AS p

// name: get_policies
// params: ids
UNWIND $ids AS id
MATCH (n:Policy {id: id})
RETURN properties(n) AS p

// name: labels_of
// params: ids, labels
UNWIND $ids AS id
MATCH (n:Entity {id: id})
RETURN n.id AS id, [l IN labels(n) WHERE l IN $labels][0] AS label

// name: relationships
// params: types
MATCH (a:Entity)-[r]->(b:Entity)
WHERE type(r) IN $types
RETURN a.id AS src_id, b.id AS dst_id, type(r) AS type, properties(r) AS p

// name: relationships_of
// params: ids, types
UNWIND $ids AS id
MATCH (:Entity {id: id})-[r]-(:Entity)
WHERE type(r) IN $types
WITH DISTINCT r
RETURN startNode(r).id AS src_id, endNode(r).id AS dst_id, type(r) AS type, properties(r) AS p

// name: interactions
MATCH (i:Interaction)
RETURN properties(i) AS p

// name: interactions_of
// params: ids
UNWIND $ids AS id
MATCH (i:Interaction {client_id: id})
RETURN properties(i) AS p

// name: aliases
MATCH (a:Alias)
RETURN a.id AS alias_id, a.client_id AS client_id

// name: journal
// params: kind
MATCH (j:Journal {kind: $kind})
RETURN j.seq AS seq, j.recorded_at AS recorded_at, j.payload AS payload
ORDER BY seq

// name: search_people
// params: text, limit
// $text is lower-cased by the caller; ids and names match case-insensitively, like SQLite LIKE.
CALL () {
  MATCH (n:Client)
  WHERE toLower(n.id) CONTAINS $text OR toLower(n.name) CONTAINS $text OR n.phone CONTAINS $text
  RETURN n.id AS id, 'Client' AS label, n.name AS name, n.phone AS phone, n.city AS city
  UNION ALL
  MATCH (n:Agent)
  WHERE toLower(n.id) CONTAINS $text OR toLower(n.name) CONTAINS $text OR n.phone CONTAINS $text
  RETURN n.id AS id, 'Agent' AS label, n.name AS name, n.phone AS phone, n.region AS city
}
RETURN id, label, name, phone, city
LIMIT $limit

// name: counts
// params: in_force
// Prospect = clients holding no in-force policy (the embedded store's definition).
RETURN COUNT { (:Agent) } AS Agent,
       COUNT { (:Organization) } AS Organization,
       COUNT { (:Client) } AS Client,
       COUNT { (:Policy) } AS Policy,
       COUNT { (c:Client) WHERE NOT EXISTS { (c)-[:HOLDS]->(:Policy {status: $in_force}) } }
         AS Prospect,
       COUNT { ()-[:SERVES]->() } AS SERVES,
       COUNT { ()-[:RELATIVE_OF]->() } AS RELATIVE_OF,
       COUNT { ()-[:COLLEAGUE_OF]->() } AS COLLEAGUE_OF,
       COUNT { ()-[:WORKS_AT]->() } AS WORKS_AT,
       COUNT { ()-[:FRIEND_OF]->() } AS FRIEND_OF,
       COUNT { ()-[:REFERRED]->() } AS REFERRED,
       COUNT { ()-[:BUSINESS_TIE]->() } AS BUSINESS_TIE,
       COUNT { (:Interaction) } AS INTERACTION,
       COUNT { (:Alias) } AS merged_ids

// name: agent_book
// params: agent_id
// An agent's book: the clients and prospects the agent SERVES, with their in-force premium.
MATCH (:Agent {id: $agent_id})-[:SERVES]->(c:Client)
OPTIONAL MATCH (c)-[:HOLDS]->(p:Policy)
WITH c, sum(CASE WHEN p.status = 'in_force' THEN p.annual_premium ELSE 0 END) AS premium,
     count(p) AS policies
RETURN c.id AS client_id, c.name AS name, c.phone AS phone, c.city AS city,
       policies, premium
ORDER BY premium DESC, client_id

// name: neighbourhood_2hop
// params: person_id, types
// Every tie on a path of at most two hops from one person (the 2-hop circle the app draws).
MATCH (:Entity {id: $person_id})-[rels*1..2]-(:Entity)
WHERE all(r IN rels WHERE type(r) IN $types)
UNWIND rels AS r
WITH DISTINCT r
RETURN startNode(r).id AS src_id, endNode(r).id AS dst_id, type(r) AS type, properties(r) AS p

// name: warm_path_candidates
// params: agent_id, target_id, types
// The candidate subgraph of the warm-path search for max_hops <= 4: every tie among the people
// within two hops of the agent or of the target (a path of at most four hops has every tie
// inside that set). The search itself (strengths, hop bound, top-k) runs in graphcrm.metrics.
MATCH (s:Entity)
WHERE s.id IN [$agent_id, $target_id]
MATCH (s)-[:SERVES|RELATIVE_OF|COLLEAGUE_OF|WORKS_AT|FRIEND_OF|REFERRED|BUSINESS_TIE*0..2]-(m:Entity)
WITH collect(DISTINCT m) AS ball
UNWIND ball AS u
MATCH (u)-[r]->(v:Entity)
WHERE type(r) IN $types AND v IN ball
RETURN u.id AS src_id, v.id AS dst_id, type(r) AS type, properties(r) AS p

// name: foreign_nodes
// params: labels
// Nodes that are not GraphCRM's (the contract tests refuse to run on a database holding any).
MATCH (n)
WHERE none(l IN labels(n) WHERE l IN $labels)
RETURN count(n) AS n
