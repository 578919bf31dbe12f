#!/usr/bin/env node
// The llama.cpp side of the comparison: loads a GGUF through node-llama-cpp's prebuilt CPU binary (never
// downloads or builds llama.cpp), prefills one prompt of token ids in one batch, decodes greedily, and prints
// JSON. The weights are read into memory, not mapped: on a machine short of memory the kernel drops pages of a
// mapping and reads them from disk again mid-run, which never happens to the weights ours repacks at load. The prompt is the one `ms4 bench` uses: id firstNormal + (i · 7919 mod (vocab − firstNormal)).
//
//   node bench/llamacpp/llama-runner.mjs --gguf FILE [--prompt 512] [--generate 64] [--threads 2]
//     [--first-normal 1000] [--vocab 131072] [--flash-attention]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const { values } = parseArgs({
  options: {
    gguf: { type: "string" },
    prompt: { type: "string", default: "512" },
    generate: { type: "string", default: "64" },
    threads: { type: "string", default: "2" },
    "first-normal": { type: "string", default: "1000" },
    vocab: { type: "string", default: "131072" },
    "flash-attention": { type: "boolean", default: false },
  },
});
if (!values.gguf) {
  console.error(
    "usage: node bench/llamacpp/llama-runner.mjs --gguf FILE [--prompt N] [--generate N] [--threads N]",
  );
  process.exit(2);
}
const promptTokens = Number(values.prompt);
const generateTokens = Number(values.generate);
const threads = Number(values.threads);
const firstNormal = Number(values["first-normal"]);
const vocab = Number(values.vocab);

const llama = await getLlama({
  gpu: false,
  build: "never",
  skipDownload: true,
  usePrebuiltBinaries: true,
  maxThreads: 0,
  logLevel: LlamaLogLevel.error,
});
const loadStart = performance.now();
const model = await llama.loadModel({ modelPath: values.gguf, gpuLayers: 0, useMmap: false });
const context = await model.createContext({
  contextSize: promptTokens + generateTokens + 16,
  batchSize: promptTokens,
  sequences: 1,
  threads,
  flashAttention: values["flash-attention"],
});
const loadSeconds = (performance.now() - loadStart) / 1000;
const sequence = context.getSequence();
const prompt = Array.from(
  { length: promptTokens },
  (_, i) => firstNormal + ((i * 7919) % (vocab - firstNormal)),
);

// First token out = the prompt in one batch + sampling; every later token = one decode step of one token.
const tokens = [];
const t0 = performance.now();
let t1 = t0;
for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
  tokens.push(token);
  if (tokens.length === 1) t1 = performance.now();
  if (tokens.length === generateTokens + 1) break;
}
const t2 = performance.now();
const decoded = tokens.length - 1;
console.log(
  JSON.stringify(
    {
      engine: "llama.cpp",
      llamaCpp: llama.llamaCppRelease,
      nodeLlamaCpp: JSON.parse(
        readFileSync(new URL("./node_modules/node-llama-cpp/package.json", import.meta.url)),
      ).version,
      buildType: llama.buildType,
      systemInfo: llama.systemInfo,
      gguf: values.gguf,
      threads,
      flashAttention: values["flash-attention"],
      promptTokens,
      generateTokens: decoded,
      loadSeconds,
      prefillSeconds: (t1 - t0) / 1000,
      prefillTokensPerSecond: promptTokens / ((t1 - t0) / 1000),
      decodeSeconds: (t2 - t1) / 1000,
      decodeTokensPerSecond: decoded / ((t2 - t1) / 1000),
      tokens,
    },
    null,
    2,
  ),
);
await context.dispose();
await model.dispose();
await llama.dispose();
