import { compileRustPattern } from "../../lib/tokenizer/rust-regex.js";
import { TEKKEN_PATTERN } from "../../lib/tokenizer/tekken-json.js";
import { Tekken } from "../../lib/tokenizer/tekken.js";
import { o200kTekkenJson } from "../../test/tokenizer/o200k-tekken.js";
const re = compileRustPattern(TEKKEN_PATTERN);
for (const s of ["a".repeat(1e6), " ".repeat(1e6), "\n".repeat(1e6), " \t".repeat(5e5)]) {
  const y = new RegExp(re.source, "uy");
  const t = performance.now();
  y.lastIndex = 0; const ok = y.test(s);
  console.log(JSON.stringify(s.slice(0,2)), ok, y.lastIndex, "regex ms", performance.now() - t);
}
const tk = Tekken.fromJson(o200kTekkenJson(), "x");
for (const s of ["a".repeat(1e6), " ".repeat(1e6), "\n".repeat(1e6)]) {
  for (let k = 0; k < 2; k++) { const t = performance.now(); const ids = tk.encode(s); console.log(ids.length, "encode ms", performance.now() - t); }
}
