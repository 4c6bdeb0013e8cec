// Parses LogQL queries with Grafana's own grammar (@grafana/lezer-logql, the parser Grafana's Loki
// query editor uses) and fails on any error node.
//
//   node scripts/check_logql.mjs QUERIES.json     (needs NODE_PATH with @grafana/lezer-logql)
//
// QUERIES.json: [{"where": "...", "expr": "..."}], written by scripts/check_stack.py. Grafana
// variables are replaced by plausible values first, as Grafana does before sending a query.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { parser } = require('@grafana/lezer-logql');

const VARIABLES = [
  [/\$\$\{__trace\.traceId\}|\$\{__trace\.traceId\}/g, '0af7651916cd43dd8448eb211c80319c'],
  [/\$\$\{__span\.spanId\}|\$\{__span\.spanId\}/g, 'b7ad6b7169203331'],
  [/\$\{?__(auto|interval|rate_interval|range)\}?/g, '1m'],
  [/\$\{request_id(:\w+)?\}|\$request_id\b/g, '01a20eee-8959-763f-8d3c-b6263da19310'],
];

function substitute(expr) {
  let out = expr;
  for (const [pattern, value] of VARIABLES) out = out.replace(pattern, value);
  return out;
}

const queries = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let failed = 0;
for (const { where, expr } of queries) {
  const text = substitute(expr);
  const left = text.match(/\$\{?[\w.]+/);
  const errors = [];
  if (left) errors.push(`unsubstituted variable ${left[0]}`);
  const tree = parser.parse(text);
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push(`syntax error at ${node.from}: ...${text.slice(Math.max(0, node.from - 20), node.from)}<here>${text.slice(node.from, node.from + 20)}...`);
      }
    },
  });
  if (tree.topNode.name !== 'LogQL') errors.push(`top node is ${tree.topNode.name}`);
  if (errors.length) {
    failed += 1;
    console.log(`FAIL ${where}: ${expr}\n     ${errors.join('\n     ')}`);
  }
}
if (failed) {
  console.log(`${failed} of ${queries.length} LogQL queries do not parse`);
  process.exit(1);
}
console.log(`ok: ${queries.length} LogQL queries parse with @grafana/lezer-logql`);
