// Validates AsyncAPI documents with the AsyncAPI parser (the spec's JSON Schemas, the bindings'
// schemas and the spectral ruleset the AsyncAPI CLI runs). Exit status 1 if any document has an
// error; warnings are printed but do not fail.
//
//   node tools/asyncapi/validate.mjs FILE...
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const parser = new Parser();
const severityName = { 0: "error", 1: "warning", 2: "info", 3: "hint" };
let failed = false;

for (const file of process.argv.slice(2)) {
  const diagnostics = await parser.validate(await readFile(file, "utf8"), { source: file });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  for (const d of diagnostics) {
    const where = d.path.length ? d.path.join("/") : "(document)";
    console.log(`${file}: ${severityName[d.severity]} ${d.code} at ${where}: ${d.message}`);
  }
  console.log(`${file}: ${errors.length ? "INVALID" : "valid"} (${errors.length} errors, ${diagnostics.length - errors.length} other diagnostics)`);
  failed ||= errors.length > 0;
}
process.exit(failed ? 1 : 0);
