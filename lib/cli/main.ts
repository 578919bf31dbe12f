import { parseArgs } from "node:util";
import { runBench } from "../bench/model-bench";
import { Ms4Error } from "../errors";
import { formatInspectReport, inspectCheckpoint } from "../inspect/inspect";
import { builtinModelDir, ensureBuiltinModel } from "../model/builtin-model";
import type { DeviceOption } from "../model/load-options";
import { Model } from "../model/model";
import { physicalCores } from "../model/threads";
import { loadNative } from "../native";
import { makeTiny } from "../tiny/make-tiny";
import { PRESET_NAMES, type PresetName } from "../tiny/presets";
import { runChat } from "./chat";

const USAGE = `ms4 — run Mistral Small 4 from Node.js

Usage:
  ms4 chat [--model DIR] [PROMPT] [--max-tokens N] [--temperature T] [--seed N] [--reasoning none|high] [--system TEXT]
      Answer PROMPT (streamed), or chat interactively without one (/exit to leave).
  ms4 inspect [DIR] [--layout native|hf] [--json]
      Architecture, parameter counts, bytes per dtype, quantized vs ignored modules, memory for
      weights and KV cache. Without DIR: the built-in tiny model.
  ms4 make-tiny DIR [--layout native|hf] [--quant nvfp4|fp8|bf16] [--seed N] [--preset ${PRESET_NAMES.join("|")}] [--shards N]
      Write a deterministic generated checkpoint (random weights) with the real architecture.
  ms4 bench [--model DIR] [--prompt N] [--generate N] [--threads N] [--cpu-path portable|avx2|avx512]
            [--activations auto|f32|int16|int8] [--device cpu|cuda|cuda:N]
      Prefill and decode speed of one sequence (JSON), with bytes read per decode token and peak memory.
  ms4 info
      CPU features and CUDA devices the native addon sees (JSON).
  ms4 help

The built-in tiny model (random weights, meaningless text) is generated on first use into
${builtinModelDir()} (set MS4_CACHE_DIR to move it).`;

class UsageError extends Error {}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError(`--${name} expects a non-negative integer, got ${value}`);
  return n;
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T))
    throw new UsageError(`--${name} expects one of ${allowed.join(", ")}, got ${value}`);
  return value as T;
}

async function cmdInspect(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { layout: { type: "string" }, json: { type: "boolean", default: false } },
  });
  if (positionals.length > 1) throw new UsageError("inspect takes at most one folder");
  const dir = positionals[0] ?? (await ensureBuiltinModel());
  const report = await inspectCheckpoint(dir, {
    layout: oneOf(values.layout, ["native", "hf"] as const, "layout"),
  });
  if (values.json) {
    const { config, ...rest } = report;
    console.log(JSON.stringify({ ...rest, config }, null, 2));
  } else {
    console.log(formatInspectReport(report));
  }
}

async function cmdMakeTiny(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      layout: { type: "string" },
      quant: { type: "string" },
      seed: { type: "string" },
      preset: { type: "string" },
      shards: { type: "string" },
    },
  });
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw new UsageError("make-tiny needs exactly one output folder");
  const started = Date.now();
  let lastReport = 0;
  const result = await makeTiny(dir, {
    layout: oneOf(values.layout, ["native", "hf"] as const, "layout"),
    quant: oneOf(values.quant, ["nvfp4", "fp8", "bf16"] as const, "quant"),
    seed: intOption(values.seed, "seed"),
    preset: oneOf(values.preset, PRESET_NAMES, "preset") as PresetName | undefined,
    shards: intOption(values.shards, "shards"),
    onProgress: ({ done, total }) => {
      const now = Date.now();
      if (process.stderr.isTTY && (now - lastReport > 500 || done === total)) {
        lastReport = now;
        process.stderr.write(`\rwriting weights ${((100 * done) / total).toFixed(0)}%`);
      }
    },
  });
  if (process.stderr.isTTY) process.stderr.write("\n");
  console.log(
    `wrote ${result.files.length} weight file(s), ${(result.bytes / 2 ** 20).toFixed(1)} MiB, to ${result.dir} in ${((Date.now() - started) / 1000).toFixed(1)} s (random weights)`,
  );
}

async function cmdBench(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      model: { type: "string" },
      prompt: { type: "string" },
      generate: { type: "string" },
      threads: { type: "string" },
      "cpu-path": { type: "string" },
      activations: { type: "string" },
      device: { type: "string" },
    },
  });
  void positionals;
  const threads = intOption(values.threads, "threads") ?? physicalCores();
  if (threads < 1) throw new UsageError("--threads expects a positive integer");
  const promptTokens = intOption(values.prompt, "prompt") ?? 128;
  const generateTokens = intOption(values.generate, "generate") ?? 32;
  if (promptTokens < 1 || generateTokens < 1)
    throw new UsageError("--prompt and --generate expect positive integers");
  const loadStart = performance.now();
  const model = await Model.load(values.model, {
    threads,
    maxContext: promptTokens + generateTokens,
    maxBatchSize: 1,
    cpuPath: oneOf(
      values["cpu-path"],
      ["portable", "avx2", "avx512", "avx512-emulated"] as const,
      "cpu-path",
    ),
    nvfp4Activations: oneOf(values.activations, ["auto", "f32", "int16", "int8"] as const, "activations"),
    ...(values.device === undefined ? {} : { device: values.device as DeviceOption }),
  });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  try {
    const cudaDevice = model.device === "cuda" ? values.device : undefined;
    const result = await runBench(
      model,
      { promptTokens, generateTokens, ...(cudaDevice === undefined ? {} : { cudaDevice }) },
      threads,
    );
    console.log(JSON.stringify({ ...result, loadSeconds }, null, 2));
  } finally {
    await model.dispose();
  }
}

async function cmdChat(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      "max-tokens": { type: "string" },
      temperature: { type: "string" },
      seed: { type: "string" },
      reasoning: { type: "string" },
      system: { type: "string" },
      threads: { type: "string" },
    },
  });
  if (positionals.length > 1) throw new UsageError("chat takes one prompt (quote it)");
  const temperature = values.temperature === undefined ? undefined : Number(values.temperature);
  if (temperature !== undefined && !(temperature >= 0))
    throw new UsageError("--temperature expects a number >= 0");
  const model = await Model.load(values.model, { threads: intOption(values.threads, "threads") });
  const note =
    values.model === undefined
      ? "[ms4] built-in tiny model: random weights, so the text is meaningless; pass --model DIR for a real checkpoint"
      : undefined;
  try {
    await runChat(
      model,
      positionals[0],
      {
        maxTokens:
          intOption(values["max-tokens"], "max-tokens") ?? (values.model === undefined ? 48 : undefined),
        temperature,
        seed: intOption(values.seed, "seed"),
        reasoningEffort: oneOf(values.reasoning, ["none", "high"] as const, "reasoning"),
        system: values.system,
      },
      note,
    );
  } finally {
    await model.dispose();
  }
}

function cmdInfo(): void {
  console.log(JSON.stringify(loadNative().systemInfo(), null, 2));
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "inspect":
        await cmdInspect(rest);
        return 0;
      case "make-tiny":
        await cmdMakeTiny(rest);
        return 0;
      case "info":
        cmdInfo();
        return 0;
      case "bench":
        await cmdBench(rest);
        return 0;
      case "chat":
        await cmdChat(rest);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`ms4: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof Ms4Error) {
      console.error(`ms4: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
