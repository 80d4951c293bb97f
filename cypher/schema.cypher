// GraphCRM schema for Neo4j 5 (5.23 or later): constraints first, then lookup indexes.
// Every statement is idempotent (IF NOT EXISTS); the store runs them all before the first write.
//
// Node keys: every node stores its template id as `id` (agents.agent_id -> Agent.id, ...).
// Agents, clients and organizations also carry the label :Entity, whose `id` is unique across
// all three (model.py: ids are unique across node labels), so a relationship endpoint and
// labels_of() need one index lookup whatever the label.

// name: constraint_entity_id
CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE

// name: constraint_agent_id
CREATE CONSTRAINT agent_id IF NOT EXISTS FOR (n:Agent) REQUIRE n.id IS UNIQUE

// name: constraint_client_id
CREATE CONSTRAINT client_id IF NOT EXISTS FOR (n:Client) REQUIRE n.id IS UNIQUE

// name: constraint_organization_id
CREATE CONSTRAINT organization_id IF NOT EXISTS FOR (n:Organization) REQUIRE n.id IS UNIQUE

// name: constraint_policy_id
CREATE CONSTRAINT policy_id IF NOT EXISTS FOR (n:Policy) REQUIRE n.id IS UNIQUE

// name: constraint_interaction_id
CREATE CONSTRAINT interaction_id IF NOT EXISTS FOR (n:Interaction) REQUIRE n.id IS UNIQUE

// name: constraint_alias_id
CREATE CONSTRAINT alias_id IF NOT EXISTS FOR (n:Alias) REQUIRE n.id IS UNIQUE

// name: constraint_meta_key
CREATE CONSTRAINT graphcrm_meta_key IF NOT EXISTS FOR (n:GraphCRMMeta) REQUIRE n.key IS UNIQUE

// name: constraint_journal_id
CREATE CONSTRAINT journal_id IF NOT EXISTS FOR (n:Journal) REQUIRE n.id IS UNIQUE

// name: index_journal_kind
CREATE INDEX journal_kind IF NOT EXISTS FOR (n:Journal) ON (n.kind, n.seq)

// name: index_client_name
CREATE INDEX client_name IF NOT EXISTS FOR (n:Client) ON (n.name)

// name: index_client_phone
CREATE INDEX client_phone IF NOT EXISTS FOR (n:Client) ON (n.phone)

// name: index_client_id_number
CREATE INDEX client_id_number IF NOT EXISTS FOR (n:Client) ON (n.id_number)

// name: index_agent_name
CREATE INDEX agent_name IF NOT EXISTS FOR (n:Agent) ON (n.name)

// name: index_agent_phone
CREATE INDEX agent_phone IF NOT EXISTS FOR (n:Agent) ON (n.phone)

// name: index_client_name_text
// Text indexes serve the CONTAINS searches of search_people.
CREATE TEXT INDEX client_name_text IF NOT EXISTS FOR (n:Client) ON (n.name)

// name: index_agent_name_text
CREATE TEXT INDEX agent_name_text IF NOT EXISTS FOR (n:Agent) ON (n.name)

// name: index_interaction_client
CREATE INDEX interaction_client IF NOT EXISTS FOR (n:Interaction) ON (n.client_id)

// name: index_policy_holder
CREATE INDEX policy_holder IF NOT EXISTS FOR (n:Policy) ON (n.holder_id)
