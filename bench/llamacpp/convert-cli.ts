/**
 * Writes a llama.cpp GGUF of a checkpoint: NVFP4 experts as Q4_0, everything else in its own float type
 * (convert/mistral4-to-gguf.ts). Usage:
 *   node bench/run-ts.mjs bench/llamacpp/convert-cli.ts --model DIR --out FILE.gguf
 */
import { parseArgs } from "node:util";
import { convertCheckpointToGguf } from "./convert/mistral4-to-gguf";

const { values } = parseArgs({
  options: { model: { type: "string" }, out: { type: "string" }, quiet: { type: "boolean", default: false } },
});
if (!values.model || !values.out) {
  console.error("usage: node bench/run-ts.mjs bench/llamacpp/convert-cli.ts --model DIR --out FILE.gguf");
  process.exit(2);
}
const summary = await convertCheckpointToGguf(values.model, values.out, {
  onTensor: (name, i, count) => {
    if (!values.quiet) process.stderr.write(`[${i + 1}/${count}] ${name}\n`);
  },
});
console.log(JSON.stringify(summary, null, 2));
