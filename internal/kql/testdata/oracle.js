// oracle.js reads queries as JSON lines on stdin ({"id": ..., "text": ...})
// and prints, for each, a JSON line saying whether Microsoft's KQL parser
// (npm @kusto/language-service-next) reports syntax errors:
//   {"id": ..., "ok": true|false, "error": "first message", "offset": n}
// Usage: node oracle.js NODE_MODULES_DIR < queries.jsonl
'use strict';
const path = require('path');
const readline = require('readline');

const dir = path.resolve(process.argv[2] || 'node_modules', '@kusto', 'language-service-next');
global.Bridge = require(path.join(dir, 'bridge.js'));
require(path.join(dir, 'Kusto.Language.Bridge.js'));
const Kusto = global.Kusto;

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const q = JSON.parse(line);
  const diags = Kusto.Language.KustoCode.Parse(q.text).GetDiagnostics();
  let out = { id: q.id, ok: true };
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    if (String(d.Severity) === 'Error') {
      out = { id: q.id, ok: false, error: d.Message, offset: d.Start };
      break;
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
