/** `ms4 bench`: prefill / decode speed of one sequence, as a table or JSON. */
import { parseArgs } from "node:util";
import { type BenchResult, runBench } from "../../bench/model-bench";
import type { DeviceOption } from "../../model/load-options";
import { physicalCores } from "../../model/threads";
import { intOption, oneOf, UsageError } from "../args";
import type { Command } from "../command";
import { formatBytes, formatNumber, formatSeconds, formatTable } from "../format";
import { loadModelWithProgress } from "../load-model";

export function formatBenchResult(r: BenchResult & { loadSeconds: number }): string {
  return formatTable([
    ["model", r.model],
    ["kernel path", `${r.kernelPath}, NVFP4 × ${r.nvfp4Activations} activations, ${r.threads} threads`],
    ["load", formatSeconds(r.loadSeconds)],
    [
      "prefill",
      `${formatNumber(r.prefillTokensPerSecond, 1)} tokens/s  (${r.promptTokens} tokens in ${formatSeconds(r.prefillSeconds)})`,
    ],
    [
      "decode",
      `${formatNumber(r.decodeTokensPerSecond, 1)} tokens/s  (${r.generateTokens} tokens in ${formatSeconds(r.decodeSeconds)})`,
    ],
    [
      "read per decode token",
      `${formatBytes(r.decodeWeightBytesPerToken)} weights + ${formatBytes(r.decodeKvBytesPerToken)} KV`,
    ],
    [
      "decode bandwidth",
      `${r.decodeGigabytesPerSecond.toFixed(1)} GB/s of ${r.memoryBandwidthGBps.toFixed(1)} GB/s measured (${(100 * r.decodeFractionOfBound).toFixed(0)} % of the bound)`,
    ],
    ["weights", formatBytes(r.weightBytes)],
    ["peak RSS", formatBytes(r.peakRssBytes)],
  ]);
}

export const benchCommand: Command = {
  name: "bench",
  summary: "prefill and decode tokens/s of one sequence, bytes per token, bandwidth, peak memory",
  help: `Usage: ms4 bench [--model DIR] [--prompt N] [--generate N] [--threads N]
                 [--cpu-path portable|avx2|avx512] [--activations auto|f32|int16|int8]
                 [--device cpu|cuda|cuda:N] [--json]

Prefill and decode speed of one sequence on the native forward, the bytes one decode token reads, the
measured memory bandwidth and the fraction of the decode bound reached, peak RSS.

Options:
  --model DIR            checkpoint folder (default: the built-in tiny model)
  --prompt N             prompt tokens (default 128)
  --generate N           decoded tokens (default 32)
  --threads N            compute threads (default: physical cores)
  --cpu-path PATH        force a CPU kernel path
  --activations MODE     what NVFP4 weights multiply (auto, f32, int16, int8)
  --device DEVICE        cpu (default), cuda or cuda:N (the CUDA backend; bandwidth measured on the device)
  --json                 print the result as JSON (for scripts)`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        prompt: { type: "string" },
        generate: { type: "string" },
        threads: { type: "string" },
        "cpu-path": { type: "string" },
        activations: { type: "string" },
        device: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    const threads = intOption(values.threads, "threads", 1) ?? physicalCores();
    const promptTokens = intOption(values.prompt, "prompt", 1) ?? 128;
    const generateTokens = intOption(values.generate, "generate", 1) ?? 32;
    if (promptTokens < 1 || generateTokens < 1)
      throw new UsageError("--prompt and --generate expect positive integers", "bench");
    const loadStart = performance.now();
    const model = await loadModelWithProgress(values.model, {
      threads,
      maxContext: promptTokens + generateTokens,
      maxBatchSize: 1,
      // avx512-emulated (a test path, see docs/cpu-backend.md) is accepted but not offered.
      cpuPath:
        values["cpu-path"] === "avx512-emulated"
          ? "avx512-emulated"
          : oneOf(values["cpu-path"], ["portable", "avx2", "avx512"] as const, "cpu-path"),
      nvfp4Activations: oneOf(values.activations, ["auto", "f32", "int16", "int8"] as const, "activations"),
      ...(values.device === undefined ? {} : { device: values.device as DeviceOption }),
    });
    const loadSeconds = (performance.now() - loadStart) / 1000;
    try {
      const cudaDevice = model.device === "cuda" ? values.device : undefined;
      const options = { promptTokens, generateTokens, ...(cudaDevice === undefined ? {} : { cudaDevice }) };
      const result = { ...(await runBench(model, options, threads)), loadSeconds };
      console.log(values.json ? JSON.stringify(result, null, 2) : formatBenchResult(result));
    } finally {
      await model.dispose();
    }
    return 0;
  },
};
