// oracle.js reads queries as JSON lines on stdin ({"id": ..., "text": ...,
// "analyze": bool}) and prints, for each, a JSON line saying whether
// Microsoft's KQL parser (npm @kusto/language-service-next) reports errors:
//   {"id": ..., "ok": true|false, "error": "first message", "offset": n}
// and, when analyzed, "columns": "Name:type,..." (the result's columns).
// Without "analyze" only syntax is checked (KustoCode.Parse). With it the
// query is also analyzed (KustoCode.ParseAndAnalyze) against the tables in
// the JSON file given as the second argument: {"Table": "(Col:type, ...)"}.
// Usage: node oracle.js NODE_MODULES_DIR [TABLES.json] < queries.jsonl
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const dir = path.resolve(process.argv[2] || 'node_modules', '@kusto', 'language-service-next');
global.Bridge = require(path.join(dir, 'bridge.js'));
require(path.join(dir, 'Kusto.Language.Bridge.js'));
const K = global.Kusto.Language;

let globals = null;
if (process.argv[3]) {
  const tables = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const symbols = Object.keys(tables).map((name) => new K.Symbols.TableSymbol.$ctor7(name, tables[name], ''));
  globals = K.GlobalState.Default.WithDatabase(new K.Symbols.DatabaseSymbol.$ctor2('streamhunt', null, symbols));
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const q = JSON.parse(line);
  const code = q.analyze && globals ? K.KustoCode.ParseAndAnalyze(q.text, globals) : K.KustoCode.Parse(q.text);
  const diags = code.GetDiagnostics();
  let out = { id: q.id, ok: true };
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    if (String(d.Severity) === 'Error') {
      out = { id: q.id, ok: false, error: d.Message, offset: d.Start };
      break;
    }
  }
  const rt = q.analyze && globals ? code.ResultType : null;
  if (rt && rt.Columns) {
    const cols = [];
    for (let i = 0; i < rt.Columns.Count; i++) {
      const c = rt.Columns.getItem(i);
      cols.push(c.Name + ':' + c.Type.Name);
    }
    out.columns = cols.join(',');
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
