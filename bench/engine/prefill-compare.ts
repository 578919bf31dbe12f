// Prefill and decode of one checkpoint on two (or more) variants in alternating runs: each round starts one process
// per variant, one after the other, so a machine shared with other work slows both alike within a round. Round r
// starts with variant r (A B, then B A, ...): on the 2-core VM the later process of a round measured up to 1.5–2×
// faster whatever its variant (page cache and huge-page state left by the one before), so only rounds in both
// orders compare variants fairly. A process loads the model once and runs `ms4 bench`'s measurement (lib/bench/model-bench.ts) `--repeat`
// times; the round keeps each variant's best prefill and best decode. Printed as ONE JSON object: per variant and
// round the tokens/s, and per round the ratio of each variant to the first.
// Usage: node bench/run-ts.mjs bench/engine/prefill-compare.ts --model DIR [--variants avx2,avx512] [--rounds 2]
//          [--prompt 512] [--generate 16] [--repeat 2] [--threads N] [--activations auto|f32|int16|int8]
// A variant is a kernel path, optionally with another build of the addon: `avx512@/tmp/before.node` loads that
// file (MS4_ADDON_PATH) and runs its avx512 path.

import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { runBench } from "../../lib/bench/model-bench";
import { Model } from "../../lib/model/model";
import { physicalCores } from "../../lib/model/threads";
import type { CpuKernelPath } from "../../lib/native";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const model = arg("model");
if (model === undefined) throw new Error("--model DIR is required");
const promptTokens = Number(arg("prompt") ?? 512);
const generateTokens = Number(arg("generate") ?? 16);
const repeat = Number(arg("repeat") ?? 2);
const threads = Number(arg("threads") ?? physicalCores());
const activations = (arg("activations") ?? "auto") as "auto" | "f32" | "int16" | "int8";

interface RunResult {
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  decodeFractionOfBound: number;
}

async function child(path: CpuKernelPath): Promise<void> {
  const m = await Model.load(model!, {
    threads,
    cpuPath: path,
    nvfp4Activations: activations,
    maxContext: promptTokens + generateTokens,
    maxBatchSize: 1,
  });
  try {
    const runs: RunResult[] = [];
    for (let i = 0; i < repeat; ++i) runs.push(await runBench(m, { promptTokens, generateTokens }, threads));
    console.log(
      JSON.stringify({
        kernelPath: m.kernelPath,
        nvfp4Activations: m.nvfp4Activations,
        prefillTokensPerSecond: Math.max(...runs.map((r) => r.prefillTokensPerSecond)),
        decodeTokensPerSecond: Math.max(...runs.map((r) => r.decodeTokensPerSecond)),
        decodeFractionOfBound: Math.max(...runs.map((r) => r.decodeFractionOfBound)),
      }),
    );
  } finally {
    await m.dispose();
  }
}

function parent(): void {
  const variants = (arg("variants") ?? "avx2,avx512").split(",");
  const rounds = Number(arg("rounds") ?? 2);
  const script = fileURLToPath(import.meta.url);
  const results: Record<string, RunResult & { kernelPath: string; nvfp4Activations: string }>[] = [];
  for (let round = 0; round < rounds; ++round) {
    const row: (typeof results)[number] = {};
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const v of order) {
      const [path, addon] = v.split("@") as [string, string | undefined];
      const argv = process.argv
        .slice(2)
        .filter((a, i, all) => a !== "--variants" && all[i - 1] !== "--variants");
      const r = spawnSync(process.execPath, [script, ...argv, "--child", path], {
        encoding: "utf8",
        env: addon ? { ...process.env, MS4_ADDON_PATH: addon } : process.env,
        maxBuffer: 1 << 24,
      });
      const line = r.stdout.trim().split("\n").pop() ?? "";
      if (r.status !== 0 || !line.startsWith("{"))
        throw new Error(`variant ${v} failed: ${r.stderr.slice(-2000)}`);
      row[v] = JSON.parse(line);
    }
    results.push(row);
  }
  const first = variants[0]!;
  console.log(
    JSON.stringify(
      {
        cpu: cpus()[0]?.model ?? "?",
        model,
        threads,
        promptTokens,
        generateTokens,
        repeat,
        rounds: results.map((row, round) => ({
          order: variants.map((_, i) => variants[(i + round) % variants.length]!).join(" → "),
          ...Object.fromEntries(
            variants.map((v) => {
              const r = row[v]!;
              return [
                v,
                {
                  kernelPath: r.kernelPath,
                  act: r.nvfp4Activations,
                  prefillTokPerS: Number(r.prefillTokensPerSecond.toFixed(1)),
                  decodeTokPerS: Number(r.decodeTokensPerSecond.toFixed(2)),
                  decodeFractionOfBound: Number(r.decodeFractionOfBound.toFixed(2)),
                  prefillVsFirst: Number(
                    (r.prefillTokensPerSecond / row[first]!.prefillTokensPerSecond).toFixed(2),
                  ),
                  decodeVsFirst: Number(
                    (r.decodeTokensPerSecond / row[first]!.decodeTokensPerSecond).toFixed(2),
                  ),
                },
              ];
            }),
          ),
        })),
      },
      null,
      2,
    ),
  );
}

const childPath = arg("child");
if (childPath !== undefined) await child(childPath as CpuKernelPath);
else parent();
