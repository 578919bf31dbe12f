import { Tekken } from "../../lib/tokenizer/tekken.js";
import { o200kTekkenJson } from "../../test/tokenizer/o200k-tekken.js";
const tk = Tekken.fromJson(o200kTekkenJson(), "x");
for (const s of ["a".repeat(1e6), " ".repeat(1e6)]) {
  for (let k = 0; k < 3; k++) { const t = performance.now(); const ids = tk.encode(s); console.log(ids.length, "encode ms", performance.now() - t); }
}
