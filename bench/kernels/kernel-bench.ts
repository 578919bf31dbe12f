// CPU kernel micro-benchmarks (docs/cpu-backend.md#kernel-benchmarks), printed as ONE JSON object:
//   - memory read bandwidth with the run's threads (best of several passes over 1 GiB);
//   - NVFP4 GEMV 4096×4096 (fp32 activations = the exact path, int16 (the default) and int8 activations), and its
//     compute ceiling with cache-resident weights on one thread;
//   - one fused MoE layer at real sizes (4 routed experts + the shared expert; gate+up [2048×4096], SiLU·mul,
//     down [4096×2048]) with both activation modes;
//   - BF16 GEMV 4096×4096 and 131072×4096 (the lm_head / router / attention format) and FP8 GEMV 4096×4096;
//   - prefill 4096×4096 at T = 64 for NVFP4 (f32 activations: the GEMM; int16 / int8: the quantized kernels in
//     4-token blocks), BF16 and FP8, in GFLOP/s;
//   - MLA decode attention (absorbed form), one decoding token, real dims (H 32, L 256, R 64), BF16 cache,
//     context 4096 and 32768: GB/s of cache read (ctx × 320 × 2 bytes) and GFLOP/s (2 × 32 × (320 + 256) × ctx).
// Weights rotate over ≥ 512 MiB of copies, so every call reads them from DRAM (the L3 here is 32 MiB).
// Usage: node bench/run-ts.mjs bench/kernels/kernel-bench.ts [--threads N] [--path avx2|avx512|portable]
import { cpus } from "node:os";
import { physicalCores } from "../../lib/model/threads";
import { loadNative } from "../../lib/native";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const native = loadNative();
const threads = Number(arg("threads") ?? physicalCores());
const path = arg("path") ?? "";
const common: Record<string, number | string> = { threads, ...(path ? { path } : {}) };

const bw = native.kernelBench("bandwidth", { threads, bytes: 1 << 30, passes: 7 });
const bandwidthGBps = Number(bw.bestGbps);

type Row = Record<string, number | string | undefined>;
const kernels: Row[] = [];
function run(label: string, name: string, params: Record<string, number | string>) {
  const r = native.kernelBench(name, { ...common, ...params });
  kernels.push({
    kernel: label,
    kernelPath: r.kernelPath,
    threads: r.threads,
    act: r.format === "nvfp4" ? r.act : "-",
    bytes: r.bytes,
    msPerCall: Number(r.seconds) * 1e3,
    bestMsPerCall: Number(r.bestSeconds) * 1e3,
    gbps: Number(r.gbps),
    bestGbps: Number(r.bestGbps),
    pctOfBandwidth: (100 * Number(r.gbps)) / bandwidthGBps,
    calls: r.calls,
    distinctBytes: r.distinctBytes,
    ...(r.gflops !== undefined ? { gflops: Number(r.gflops), bestGflops: Number(r.bestGflops) } : {}),
  });
}

for (const act of ["f32", "int16", "int8"]) {
  run("nvfp4 gemv 4096x4096 (T=1)", "linear", { format: "nvfp4", rows: 4096, cols: 4096, act });
}
for (const act of ["f32", "int16", "int8"]) {
  run("moe layer 4+1 experts, D 4096, I 2048 (T=1)", "moeLayer", { D: 4096, I: 2048, act });
}
run("bf16 gemv 4096x4096 (T=1)", "linear", { format: "bf16", rows: 4096, cols: 4096 });
run("bf16 gemv 131072x4096, the lm_head (T=1)", "linear", { format: "bf16", rows: 131072, cols: 4096 });
run("fp8 gemv 4096x4096 (T=1)", "linear", { format: "fp8", rows: 4096, cols: 4096 });
for (const act of ["int16", "int8"]) {
  run("nvfp4 gemv 4096x4096 (T=4)", "linear", { format: "nvfp4", rows: 4096, cols: 4096, T: 4, act });
}
// NVFP4 compute ceiling: 1 thread, weights cache-resident (2 copies of 2.4 MB)
for (const act of ["f32", "int16", "int8"]) {
  run("nvfp4 gemv 1024x4096 in cache, 1 thread (T=1)", "linear", {
    format: "nvfp4",
    rows: 1024,
    cols: 4096,
    act,
    threads: 1,
    minBytes: 1 << 20,
    iters: 300,
  });
}
// prefill GEMM (T >= 16 takes the GEMM kernels; GFLOP/s = 2 · rows · cols · T / time)
for (const act of ["f32", "int16", "int8"]) {
  run("nvfp4 gemm 4096x4096 (T=64)", "linear", { format: "nvfp4", rows: 4096, cols: 4096, T: 64, act });
}
run("bf16 gemm 4096x4096 (T=64)", "linear", { format: "bf16", rows: 4096, cols: 4096, T: 64 });
run("fp8 gemm 4096x4096 (T=64)", "linear", { format: "fp8", rows: 4096, cols: 4096, T: 64 });
run("mla decode attention, ctx 4096, bf16 cache (T=1)", "mlaDecode", { ctx: 4096, kv: "bf16" });
run("mla decode attention, ctx 32768, bf16 cache (T=1)", "mlaDecode", { ctx: 32768, kv: "bf16" });

const info = native.systemInfo();
console.log(
  JSON.stringify(
    {
      cpu: cpus()[0]?.model ?? "?",
      features: Object.entries(info.cpu)
        .filter(([, v]) => v === true)
        .map(([k]) => k),
      threads,
      bandwidth: {
        bytes: bw.bytes,
        passes: bw.passes,
        bestGbps: bandwidthGBps,
        meanGbps: Number(bw.gbps),
      },
      kernels,
    },
    null,
    2,
  ),
);
