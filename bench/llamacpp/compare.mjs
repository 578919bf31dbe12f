#!/usr/bin/env node
// Prefill / decode of mistral4-runtime (`ms4 bench`) against llama.cpp (llama-runner.mjs, node-llama-cpp) on the
// same checkpoint, prompt, output length and threads, run alternately (ours, llama.cpp, llama.cpp, ours, …) so that load
// from other programs falls on both. Writes the GGUF first when --gguf does not exist yet (convert-cli.ts).
//
//   node bench/llamacpp/compare.mjs --model DIR --gguf FILE [--rounds 3] [--prompt 512] [--generate 64]
//     [--threads 2] [--flash-attention] [--json]
// --flash-attention turns on llama.cpp's flash attention (node-llama-cpp's default is off).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..");
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    gguf: { type: "string" },
    rounds: { type: "string", default: "3" },
    prompt: { type: "string", default: "512" },
    generate: { type: "string", default: "64" },
    threads: { type: "string", default: "2" },
    json: { type: "boolean", default: false },
    "flash-attention": { type: "boolean", default: false },
  },
});
if (!values.model || !values.gguf) {
  console.error("usage: node bench/llamacpp/compare.mjs --model DIR --gguf FILE [--rounds N] [--prompt N]");
  process.exit(2);
}
const run = (args) =>
  JSON.parse(
    execFileSync(process.execPath, args, {
      cwd: repo,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 26,
    }),
  );

if (!existsSync(values.gguf)) {
  console.error(`writing ${values.gguf} from ${values.model} …`);
  run([
    "bench/run-ts.mjs",
    "bench/llamacpp/convert-cli.ts",
    "--model",
    values.model,
    "--out",
    values.gguf,
    "--quiet",
  ]);
}
// The prompt ids of `ms4 bench`: normal tokens start after the special ones.
const tekken = JSON.parse(readFileSync(join(values.model, "tekken.json"), "utf8")).config;
const common = { prompt: values.prompt, generate: values.generate, threads: values.threads };

const rows = [];
const runOurs = (round) => {
  const ours = run([
    "bin/ms4.cjs",
    "bench",
    "--model",
    values.model,
    "--prompt",
    common.prompt,
    "--generate",
    common.generate,
    "--threads",
    common.threads,
    "--json",
  ]);
  rows.push({
    round,
    engine: "mistral4-runtime",
    prefill: ours.prefillTokensPerSecond,
    decode: ours.decodeTokensPerSecond,
    loadAverage1m: loadavg()[0],
    detail: ours,
  });
  return ours;
};
const runLlama = (round) => {
  const llama = run([
    "bench/llamacpp/llama-runner.mjs",
    "--gguf",
    values.gguf,
    "--prompt",
    common.prompt,
    "--generate",
    common.generate,
    "--threads",
    common.threads,
    "--first-normal",
    String(tekken.default_num_special_tokens),
    "--vocab",
    String(tekken.default_vocab_size),
    ...(values["flash-attention"] ? ["--flash-attention"] : []),
  ]);
  rows.push({
    round,
    engine: "llama.cpp",
    prefill: llama.prefillTokensPerSecond,
    decode: llama.decodeTokensPerSecond,
    loadAverage1m: loadavg()[0],
    detail: llama,
  });
  return llama;
};
// Odd rounds start with ours, even rounds with llama.cpp, so a slow drift of the machine favours neither.
for (let round = 1; round <= Number(values.rounds); round++) {
  let ours;
  let llama;
  if (round % 2) {
    ours = runOurs(round);
    llama = runLlama(round);
  } else {
    llama = runLlama(round);
    ours = runOurs(round);
  }
  console.error(
    `round ${round}: ours prefill ${ours.prefillTokensPerSecond.toFixed(1)} decode ${ours.decodeTokensPerSecond.toFixed(2)} | ` +
      `llama.cpp prefill ${llama.prefillTokensPerSecond.toFixed(1)} decode ${llama.decodeTokensPerSecond.toFixed(2)} tok/s ` +
      `(1-min load average ${loadavg()[0].toFixed(1)})`,
  );
}

const pick = (engine, key) => rows.filter((r) => r.engine === engine).map((r) => r[key]);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = {};
for (const key of ["prefill", "decode"]) {
  const ours = pick("mistral4-runtime", key);
  const llama = pick("llama.cpp", key);
  const perRound = ours.map((x, i) => x / llama[i]);
  summary[key] = {
    ours: { min: Math.min(...ours), median: median(ours), max: Math.max(...ours) },
    llamaCpp: { min: Math.min(...llama), median: median(llama), max: Math.max(...llama) },
    ratioPerRound: perRound,
    ratioOfMedians: median(ours) / median(llama),
  };
}
const firstLlama = rows.find((r) => r.engine === "llama.cpp").detail;
const firstOurs = rows.find((r) => r.engine === "mistral4-runtime").detail;
const setup = {
  model: values.model,
  gguf: values.gguf,
  promptTokens: Number(common.prompt),
  generateTokens: Number(common.generate),
  threads: Number(common.threads),
  oursKernelPath: firstOurs.kernelPath,
  oursActivations: firstOurs.nvfp4Activations,
  llamaCpp: `node-llama-cpp ${firstLlama.nodeLlamaCpp} (llama.cpp ${firstLlama.llamaCpp.repo} ${firstLlama.llamaCpp.release}, ${firstLlama.buildType})`,
  llamaCppSystemInfo: firstLlama.systemInfo,
  llamaCppFlashAttention: firstLlama.flashAttention,
};
if (values.json) {
  console.log(JSON.stringify({ setup, summary, rows: rows.map(({ detail, ...r }) => r) }, null, 2));
} else {
  const f = (x, d) => x.toFixed(d);
  const range = (s, d) => `${f(s.min, d)}–${f(s.max, d)} (median ${f(s.median, d)})`;
  console.log(`${setup.llamaCpp}; ours: ${setup.oursKernelPath}, NVFP4 × ${setup.oursActivations}`);
  console.log(
    `prompt ${setup.promptTokens}, ${setup.generateTokens} decoded tokens, ${setup.threads} threads, ${values.rounds} rounds each, alternating\n`,
  );
  const loads = rows.map((r) => r.loadAverage1m);
  console.log(
    `1-min load average after the runs: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}\n`,
  );
  console.log("| tok/s   | mistral4-runtime | llama.cpp Q4_0 | ours ÷ llama.cpp (per round) |");
  console.log("| ------- | ---------------- | -------------- | ---------------------------- |");
  for (const key of ["prefill", "decode"]) {
    const s = summary[key];
    const d = key === "prefill" ? 1 : 2;
    console.log(
      `| ${key} | ${range(s.ours, d)} | ${range(s.llamaCpp, d)} | ${f(s.ratioOfMedians, 2)} (${s.ratioPerRound.map((x) => f(x, 2)).join(", ")}) |`,
    );
  }
}
