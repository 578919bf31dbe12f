import { Tiktoken as WasmTiktoken } from "tiktoken/lite";
import { Tekken } from "../../lib/tokenizer/tekken.js";
import { multilingualDocuments } from "../../test/tokenizer/multilingual-corpus.js";
import { o200kTekkenJson, o200kTiktokenFile } from "../../test/tokenizer/o200k-tekken.js";
import { TEKKEN_PATTERN } from "../../lib/tokenizer/tekken-json.js";
let t = performance.now();
const tk = Tekken.fromJson(o200kTekkenJson(), "o200k");
console.log("load ours", performance.now() - t);
t = performance.now();
const wasm = new WasmTiktoken(o200kTiktokenFile(), {}, TEKKEN_PATTERN);
console.log("load wasm", performance.now() - t);
const docs = multilingualDocuments(1, 1_000_000);
let bad = 0;
let to = 0, tw = 0;
for (const [di, d] of docs.entries()) {
  let t0 = performance.now();
  const a = tk.encode(d);
  to += performance.now() - t0;
  t0 = performance.now();
  const b = Array.from(wasm.encode_ordinary(d), (x) => x + 1000);
  tw += performance.now() - t0;
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    bad++;
    let i = 0; while (a[i] === b[i]) i++;
    if (bad < 5) console.log("doc", di, "diff at", i, JSON.stringify(tk.decode(a.slice(Math.max(0,i-3), i+3))), JSON.stringify(tk.decode(b.slice(Math.max(0,i-3), i+3))));
  }
  if (tk.decode(a) !== d) console.log("roundtrip fail", di);
}
console.log("docs", docs.length, "bad", bad, "ours ms", to, "wasm ms", tw);
