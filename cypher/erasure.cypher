// Erasure (`graphcrm forget`, docs/privacy.md): one client's personal data and ties go; the
// policies they hold or are insured by and their referral ties move to a pseudonym client with
// no personal data, so settled reward lines keep their points. The store runs these statements
// one after the other in ONE write transaction (Neo4jStore.forget_client): all or nothing.

// name: forget_resolve
// params: id
// The client an id names (an id merged into another resolves to that client), whether it is
// stored, and every id merged into it.
OPTIONAL MATCH (a:Alias {id: $id})
WITH coalesce(a.client_id, $id) AS cid
OPTIONAL MATCH (c:Client {id: cid})
OPTIONAL MATCH (m:Alias {client_id: cid})
RETURN cid AS client_id, c IS NOT NULL AS found, collect(m.id) AS aliases

// name: forget_journal_naming
// params: ids
// Journal records whose payload mentions one of the ids (the store decides, word by word,
// which of them really name the person: erase_in_journal).
MATCH (j:Journal)
WHERE any(i IN $ids WHERE j.payload CONTAINS i)
RETURN j.id AS id, j.kind AS kind, j.payload AS payload

// name: forget_journal_rewrite
// params: rows
// Settled reward lines, rewritten under the pseudonym ({id, payload}).
UNWIND $rows AS row
MATCH (j:Journal {id: row.id})
SET j.payload = row.payload
RETURN count(*) AS changed

// name: forget_journal_delete
// params: ids
// Merged-row copies and merge undos of the person (personal data).
UNWIND $ids AS id
MATCH (j:Journal {id: id})
DETACH DELETE j
RETURN count(*) AS changed

// name: forget_pseudonym
// params: pseudonym, name
// The pseudonym: a client with an id and the erased-name marker, nothing else.
MERGE (p:Client {id: $pseudonym})
ON CREATE SET p.name = $name
SET p:Entity
RETURN count(*) AS changed

// name: forget_policies_holder
// params: client_id, pseudonym
// Policies the person holds move to the pseudonym, HOLDS tie included.
MATCH (pol:Policy {holder_id: $client_id})
SET pol.holder_id = $pseudonym
WITH pol
CALL (pol) {
  OPTIONAL MATCH (:Client {id: $client_id})-[h:HOLDS]->(pol)
  DELETE h
}
CALL (pol) {
  MATCH (p:Client {id: $pseudonym})
  MERGE (p)-[:HOLDS]->(pol)
}
RETURN count(*) AS changed

// name: forget_policies_insured
// params: client_id, pseudonym
MATCH (pol:Policy {insured_id: $client_id})
SET pol.insured_id = $pseudonym
RETURN count(*) AS changed

// name: forget_referrals_out
// params: client_id, pseudonym
// Referral records are reward evidence: the ties the person made are copied to the pseudonym
// (their properties too; a tie the pseudonym already has is left as it is).
MATCH (:Client {id: $client_id})-[r:REFERRED]->(o:Client)
WHERE o.id <> $client_id
MATCH (p:Client {id: $pseudonym})
MERGE (p)-[n:REFERRED]->(o)
ON CREATE SET n = properties(r)
RETURN count(*) AS changed

// name: forget_referrals_in
// params: client_id, pseudonym
MATCH (o:Client)-[r:REFERRED]->(:Client {id: $client_id})
WHERE o.id <> $client_id
MATCH (p:Client {id: $pseudonym})
MERGE (o)-[n:REFERRED]->(p)
ON CREATE SET n = properties(r)
RETURN count(*) AS changed

// name: forget_interactions
// params: client_id
MATCH (i:Interaction {client_id: $client_id})
DETACH DELETE i
RETURN count(*) AS changed

// name: forget_aliases
// params: client_id
MATCH (a:Alias)
WHERE a.client_id = $client_id OR a.id = $client_id
DETACH DELETE a
RETURN count(*) AS changed

// name: forget_client_node
// params: client_id
// The client and every tie it has (the REFERRED ones were copied above; analysis TIEs too).
MATCH (c:Client {id: $client_id})
OPTIONAL MATCH (c)-[r]-()
WITH c, count(r) AS ties
DETACH DELETE c
RETURN ties AS relationships, 1 AS clients

// name: find_text
// params: needles
// Every GraphCRM node or relationship with a property whose text contains one of the needles
// (an operator's check after an erasure: `graphcrm forget` runs it; the contract test too).
CALL () {
  MATCH (n)
  WHERE any(k IN keys(n) WHERE any(x IN $needles WHERE toStringOrNull(n[k]) CONTAINS x))
  RETURN 'node' AS kind, labels(n) AS what, [k IN keys(n) WHERE any(x IN $needles WHERE toStringOrNull(n[k]) CONTAINS x)] AS properties
  UNION ALL
  MATCH ()-[r]->()
  WHERE any(k IN keys(r) WHERE any(x IN $needles WHERE toStringOrNull(r[k]) CONTAINS x))
  RETURN 'relationship' AS kind, [type(r)] AS what, [k IN keys(r) WHERE any(x IN $needles WHERE toStringOrNull(r[k]) CONTAINS x)] AS properties
}
RETURN kind, what, properties
