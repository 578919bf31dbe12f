#!/usr/bin/env node
// Does llama.cpp compute the same model from the converter's GGUF? First the tokenizer: a text through our Tekken
// and through llama.cpp's BPE on the GGUF's vocabulary (ids and the round trip back to text). Then the greedy
// continuation of the `ms4 bench` prompt by mistral4-runtime (the built library, `model.evaluate`) and by
// llama.cpp (llama-runner.mjs), token by token.
// Exact agreement is expected only when the GGUF holds the checkpoint's own weights, i.e. a BF16 checkpoint
// (`ms4 make-tiny DIR --quant bf16`); with NVFP4 experts requantized to Q4_0 the two drift apart after a while.
//
//   node bench/llamacpp/agreement.mjs --model DIR --gguf FILE [--prompt 64] [--generate 16] [--threads 2] [--text T]
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    gguf: { type: "string" },
    prompt: { type: "string", default: "64" },
    generate: { type: "string", default: "16" },
    threads: { type: "string", default: "2" },
    text: {
      type: "string",
      default:
        "Bonjour, le monde ! Ça va très bien: 12345 + 3.14 = ?\n\n  def f(x):\n\treturn x**2  # 日本語 😀",
    },
  },
});
if (!values.model || !values.gguf) {
  console.error(
    "usage: node bench/llamacpp/agreement.mjs --model DIR --gguf FILE [--prompt N] [--generate N]",
  );
  process.exit(2);
}
const { Model, Tekken } = createRequire(import.meta.url)(join(repo, "dist", "index.cjs"));

const ourIds = Tekken.fromFile(join(values.model, "tekken.json")).encode(values.text);
const llamaLib = await getLlama({
  gpu: false,
  build: "never",
  skipDownload: true,
  logLevel: LlamaLogLevel.error,
});
const vocabModel = await llamaLib.loadModel({ modelPath: values.gguf, vocabOnly: true });
const llamaIds = Array.from(vocabModel.tokenize(values.text, false));
const tokenizer = {
  ours: ourIds.length,
  llamaCpp: llamaIds.length,
  identical: JSON.stringify(ourIds) === JSON.stringify(llamaIds),
  llamaCppRoundTrip: vocabModel.detokenize(llamaIds) === values.text,
};
await vocabModel.dispose();
await llamaLib.dispose();
const model = await Model.load(values.model, { threads: Number(values.threads) });
const firstNormal = model.tokenizer.numSpecialTokens;
const vocab = model.tokenizer.vocabSize;
const ids = Array.from(
  { length: Number(values.prompt) },
  (_, i) => firstNormal + ((i * 7919) % (vocab - firstNormal)),
);
const ours = [];
for (let g = 0; g < Number(values.generate); g++) {
  const logits = await model.evaluate(ids);
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  ours.push(best);
  ids.push(best);
}
await model.dispose();

const llama = JSON.parse(
  execFileSync(
    process.execPath,
    [
      "bench/llamacpp/llama-runner.mjs",
      "--gguf",
      values.gguf,
      "--prompt",
      values.prompt,
      "--generate",
      values.generate,
      "--threads",
      values.threads,
      "--first-normal",
      String(firstNormal),
      "--vocab",
      String(vocab),
    ],
    { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  ),
).tokens;
let same = 0;
while (same < ours.length && ours[same] === llama[same]) same++;
console.log(
  JSON.stringify(
    { tokenizer, greedy: { ours, llamaCpp: llama, identicalPrefix: same, of: ours.length } },
    null,
    2,
  ),
);
process.exitCode = same === ours.length && tokenizer.identical && tokenizer.llamaCppRoundTrip ? 0 : 1;
