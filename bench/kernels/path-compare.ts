// Kernel paths (or two builds of the addon) side by side, op by op, in alternating runs: for every round and every
// op, each variant runs once, one after the other (A B A B ...), so a machine shared with other work slows both
// alike within a round. Every round also measures the read bandwidth and the fp32 FMA peak of the run's threads,
// so each op's rate is reported as a fraction of the limit measured in the same round. Printed as ONE JSON object:
// per op and variant the range over the rounds of ms per call (mean over its calls), of the best call, of the fraction
// of the limit (from the mean), and of the per-round time ratio of each variant to the first, from the means
// (`timeVsFirst`) and from the best calls (`bestVsFirst`: on a machine shared with other work the best call is the
// steadier figure).
// Usage: node bench/run-ts.mjs bench/kernels/path-compare.ts [--variants avx2,avx512] [--rounds 3] [--threads N]
//          [--ops substring,substring]
// A variant is a kernel path, optionally with another build of the addon: `avx512@/tmp/before.node` runs path
// avx512 of that file (its label is the whole string).

import { createRequire } from "node:module";
import { cpus } from "node:os";
import { physicalCores } from "../../lib/model/threads";
import { loadNative, type NativeBinding } from "../../lib/native";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

type Params = Record<string, number | string>;
interface Op {
  name: string;
  bench: string;
  params: Params;
  /**
   * What the rate is a fraction of: memory bandwidth (GB/s of bytes per call), the FMA peak (GFLOP/s), or nothing
   * (GB/s of weights decoded from cache by one thread: the kernel's compute ceiling).
   */
  limit: "bandwidth" | "fma" | "none";
}

const nvfp4 = { format: "nvfp4", rows: 4096, cols: 4096 };
const OPS: Op[] = [
  ...["f32", "int16", "int8"].map(
    (act): Op => ({
      name: `nvfp4 gemv 4096² T=1 ${act}`,
      bench: "linear",
      params: { ...nvfp4, act },
      limit: "bandwidth",
    }),
  ),
  ...["int16", "int8"].map(
    (act): Op => ({
      name: `nvfp4 gemv 4096² T=4 ${act}`,
      bench: "linear",
      params: { ...nvfp4, act, T: 4 },
      limit: "fma",
    }),
  ),
  ...["f32", "int16", "int8"].map(
    (act): Op => ({
      name: `nvfp4 gemv 1024×4096 in cache, 1 thread, T=1 ${act}`,
      bench: "linear",
      params: { format: "nvfp4", rows: 1024, cols: 4096, act, threads: 1, minBytes: 1 << 20, iters: 300 },
      limit: "none",
    }),
  ),
  ...["f32", "int16", "int8"].map(
    (act): Op => ({
      name: `moe layer 4+1 T=1 ${act}`,
      bench: "moeLayer",
      params: { act },
      limit: "bandwidth",
    }),
  ),
  {
    name: "bf16 gemv 4096² T=1",
    bench: "linear",
    params: { format: "bf16", rows: 4096, cols: 4096 },
    limit: "bandwidth",
  },
  {
    name: "bf16 gemv lm_head 131072×4096 T=1",
    bench: "linear",
    params: { format: "bf16", rows: 131072, cols: 4096, iters: 8 },
    limit: "bandwidth",
  },
  {
    name: "fp8 gemv 4096² T=1",
    bench: "linear",
    params: { format: "fp8", rows: 4096, cols: 4096 },
    limit: "bandwidth",
  },
  ...["f32", "int16", "int8"].map(
    (act): Op => ({
      name: `nvfp4 gemm 4096² T=64 ${act}`,
      bench: "linear",
      params: { ...nvfp4, act, T: 64 },
      limit: "fma",
    }),
  ),
  {
    name: "bf16 gemm 4096² T=64",
    bench: "linear",
    params: { format: "bf16", rows: 4096, cols: 4096, T: 64 },
    limit: "fma",
  },
  {
    name: "fp8 gemm 4096² T=64",
    bench: "linear",
    params: { format: "fp8", rows: 4096, cols: 4096, T: 64 },
    limit: "fma",
  },
  ...["int16", "int8"].map(
    (act): Op => ({
      name: `moe layer 4+1 T=16 ${act}`,
      bench: "moeLayer",
      params: { act, T: 16 },
      limit: "fma",
    }),
  ),
  { name: "mla decode ctx 4096", bench: "mlaDecode", params: { ctx: 4096, kv: "bf16" }, limit: "fma" },
  { name: "mla decode ctx 32768", bench: "mlaDecode", params: { ctx: 32768, kv: "bf16" }, limit: "fma" },
  {
    name: "vision attention 32×32 patches",
    bench: "visionAttention",
    params: { patchRows: 32, patchCols: 32, iters: 3 },
    limit: "fma",
  },
];

const threads = Number(arg("threads") ?? physicalCores());
const rounds = Number(arg("rounds") ?? 3);
const variants = (arg("variants") ?? "avx2,avx512").split(",");
const opFilter = arg("ops")?.split(",");
const ops = opFilter ? OPS.filter((o) => opFilter.some((f) => o.name.includes(f))) : OPS;

const requireAddon = createRequire(import.meta.url);
const defaultBinding = loadNative();
function bindingOf(variant: string): { path: string; binding: NativeBinding } {
  const [path, file] = variant.split("@") as [string, string | undefined];
  return { path, binding: file ? (requireAddon(file) as NativeBinding) : defaultBinding };
}
const runners = variants.map(bindingOf);

/** Flops of one call: the bench's own count, or for the MoE layer 2 · multiply-adds of its linears. */
function flopsOf(op: Op, r: Params): number {
  if (r.gflops !== undefined) return Number(r.gflops) * 1e9 * Number(r.seconds);
  if (op.bench === "moeLayer") {
    const D = Number(r.D),
      I = Number(r.I),
      T = Number(r.T);
    return 2 * T * (5 * 3 * D * I + 4 * D); // 4 routed + shared expert (gate, up, down) and the router
  }
  return 0;
}

interface Sample {
  ms: number;
  bestMs: number;
  rate: number; // GB/s or GFLOP/s
  fraction: number;
}
const samples = new Map<string, Sample[]>();
const limits: { bandwidthGBps: number; fmaGflops: number }[] = [];

for (let round = 0; round < rounds; ++round) {
  const bw = Number(defaultBinding.kernelBench("bandwidth", { threads, bytes: 1 << 30, passes: 5 }).bestGbps);
  const fma = Number(defaultBinding.kernelBench("fmaPeak", { threads, iters: 2e7, passes: 3 }).bestGflops);
  limits.push({ bandwidthGBps: bw, fmaGflops: fma });
  for (const op of ops) {
    for (let v = 0; v < runners.length; ++v) {
      const { path, binding } = runners[v]!;
      const r = binding.kernelBench(op.bench, { threads, path, ...op.params }) as Params;
      const seconds = Number(r.seconds);
      const rate = op.limit === "fma" ? flopsOf(op, r) / seconds / 1e9 : Number(r.gbps);
      const limit = op.limit === "bandwidth" ? bw : op.limit === "fma" ? fma : Number.NaN;
      const key = `${op.name}\u0000${variants[v]}`;
      const list = samples.get(key) ?? [];
      list.push({ ms: seconds * 1e3, bestMs: Number(r.bestSeconds) * 1e3, rate, fraction: rate / limit });
      samples.set(key, list);
    }
  }
}

const range = (xs: number[], digits: number) => {
  const lo = Math.min(...xs),
    hi = Math.max(...xs);
  return lo.toFixed(digits) === hi.toFixed(digits)
    ? lo.toFixed(digits)
    : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
};
const rows = ops.map((op) => {
  const base = samples.get(`${op.name}\u0000${variants[0]}`)!;
  return {
    op: op.name,
    unit: op.limit === "fma" ? "GFLOP/s" : "GB/s",
    limit: op.limit,
    variants: variants.map((v) => {
      const s = samples.get(`${op.name}\u0000${v}`)!;
      return {
        variant: v,
        ms: range(
          s.map((x) => x.ms),
          3,
        ),
        bestMs: range(
          s.map((x) => x.bestMs),
          3,
        ),
        rate: range(
          s.map((x) => x.rate),
          1,
        ),
        pctOfLimit:
          op.limit === "none"
            ? "-"
            : range(
                s.map((x) => 100 * x.fraction),
                0,
              ),
        timeVsFirst: range(
          s.map((x, i) => x.ms / base[i]!.ms),
          2,
        ),
        bestVsFirst: range(
          s.map((x, i) => x.bestMs / base[i]!.bestMs),
          2,
        ),
      };
    }),
  };
});

console.log(
  JSON.stringify(
    {
      cpu: cpus()[0]?.model ?? "?",
      threads,
      rounds,
      limits: {
        bandwidthGBps: range(
          limits.map((l) => l.bandwidthGBps),
          1,
        ),
        fmaGflops: range(
          limits.map((l) => l.fmaGflops),
          1,
        ),
      },
      rows,
    },
    null,
    2,
  ),
);
