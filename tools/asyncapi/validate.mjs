// Parse and validate an AsyncAPI document with the official parser; exit 1 on any error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"), { source: path });
// Severity 0 is an error; 1-3 are warnings, information and hints, printed but not fatal.
for (const d of diagnostics) {
  console.log(`${["error", "warning", "info", "hint"][d.severity]} ${d.code} at /${d.path.join("/")}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === 0);
if (!document || errors.length > 0) {
  console.error(`${path}: ${errors.length} error(s) from @asyncapi/parser`);
  process.exit(1);
}
console.log(`${path}: valid AsyncAPI ${document.version()} (${document.channels().length} channels, ${document.operations().length} operations, ${document.messages().length} messages)`);
