// Lint Cypher statements with Neo4j's own parser and semantic analysis (lintCypherQuery from
// @neo4j-cypher/language-support, pinned in package.json). Used by tests/test_cypher_lint.py.
//
// stdin: {"labels": [...], "relationshipTypes": [...],
//         "statements": [{"name": ..., "text": ..., "params": [...]}, ...]}
// stdout: [{"name": ..., "diagnostics": [{"severity", "message", "line", "character"}]}, ...]
//
// The database schema given to the linter:
// - labels and relationship types: the ones GraphCRM writes (from graphcrm.model, passed in),
//   so a misspelt label or type is reported;
// - parameters: exactly the ones the statement declares in its `// params:` header, so an
//   undeclared or misspelt $parameter is reported;
// - procedures: only those in cypher/lint-schema.json (GDS), so any other CALL is reported;
// - functions: Neo4j 5's built-in functions (the package's bundled copy of SHOW FUNCTIONS)
//   plus the non-built-in ones in cypher/lint-schema.json, so an unknown function is reported.
'use strict';
const fs = require('fs');
const path = require('path');

let lib;
try {
  lib = require('@neo4j-cypher/language-support');
} catch (err) {
  process.stderr.write('error: @neo4j-cypher/language-support is not installed: run `npm ci` ' +
    'in the project root (' + err.message.split('\n')[0] + ')\n');
  process.exit(3);
}
const { lintCypherQuery, testData } = lib;

const VERSION = 'CYPHER 5';
const declared = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cypher', 'lint-schema.json'), 'utf8'));
const bundled = testData.mockSchema.functions[VERSION];
const builtins = Object.fromEntries(Object.entries(bundled).filter(([, f]) => f.isBuiltIn));

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = input.statements.map((st) => {
  const dbSchema = {
    labels: input.labels,
    relationshipTypes: input.relationshipTypes,
    parameters: Object.fromEntries(st.params.map((p) => [p, null])),
    procedures: { [VERSION]: declared.procedures },
    functions: { [VERSION]: { ...builtins, ...declared.functions } },
  };
  // The linter treats a parameter whose declared value is undefined as missing; null is declared.
  const diagnostics = lintCypherQuery(st.text, dbSchema).map((d) => ({
    severity: d.severity === 1 ? 'error' : d.severity === 2 ? 'warning' : 'info',
    message: d.message,
    line: d.range.start.line + 1,
    character: d.range.start.character + 1,
  }));
  return { name: st.name, diagnostics };
});
process.stdout.write(JSON.stringify(results) + '\n');
