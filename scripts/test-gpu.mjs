#!/usr/bin/env node
// npm run test:gpu: everything the CUDA backend must prove on a GPU, in one run that ends with ONE JSON summary on
// stdout (docs/cuda-backend.md#proof-on-a-gpu):
//   1. the addon and ms4-gpu-check built for this device's own architecture only (cmake-js, as an install would);
//   2. ms4-gpu-check: layout, op and whole-model checks CPU vs CUDA, kernel and model benchmarks;
//   3. vitest test/gpu on that addon: the forward against the float64 reference on generated checkpoints (both
//      layouts, three weight formats), CPU and CUDA greedy tokens, batch invariance, device memory errors.
// Where no GPU is present it says so and exits 1. Environment: MS4_GPU_DEVICE (0), MS4_BUILD_JOBS (all cores),
// MS4_CUDA_ARCHS (override the detected architecture), MS4_GPU_SKIP_BENCH=1, MS4_GPU_OUT (a folder for the logs and
// the full JSON; default build-gpu).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const device = process.env.MS4_GPU_DEVICE ?? "0";
const out = process.env.MS4_GPU_OUT ?? join(root, "build-gpu");
const jobs = process.env.MS4_BUILD_JOBS ?? String(cpus().length);
mkdirSync(out, { recursive: true });
const log = (msg) => console.error(`[test:gpu] ${msg}`);
const started = Date.now();
const summary = { device: Number(device), architecture: null, build: null, gpuCheck: null, vitest: null };

function run(cmd, args, options = {}) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", maxBuffer: 1 << 28, ...options });
  return {
    status: r.status ?? 1,
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? "",
    seconds: (Date.now() - t0) / 1000,
  };
}

/** The device's architecture as a CMake entry: sm_90a-style targets where they exist, else plain ones. */
function detectArchitecture() {
  if (process.env.MS4_CUDA_ARCHS) return process.env.MS4_CUDA_ARCHS;
  let cc = "";
  const smi = run("nvidia-smi", ["--query-gpu=compute_cap", "--format=csv,noheader", "-i", device]);
  if (smi.status === 0) cc = smi.stdout.trim().replace(".", "");
  if (!cc) {
    const query = run("__nvcc_device_query", []);
    if (query.status === 0) cc = query.stdout.trim().split(",")[Number(device)] ?? "";
  }
  if (!/^\d+$/.test(cc)) return null;
  return ["90", "100", "101", "103", "110", "120", "121"].includes(cc) ? `${cc}a-real` : `${cc}-real`;
}

function finish(code) {
  summary.seconds = (Date.now() - started) / 1000;
  summary.ok = code === 0;
  writeFileSync(join(out, "test-gpu.json"), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary));
  process.exit(code);
}

summary.architecture = detectArchitecture();
if (!summary.architecture) {
  summary.error = `no GPU found: nvidia-smi and __nvcc_device_query answer nothing for device ${device}`;
  log(summary.error);
  finish(1);
}

// 1. Build: the addon (cmake-js, when this checkout has its node_modules) and ms4-gpu-check in one CMake build.
const env = {
  ...process.env,
  MS4_CUDA: "ON",
  MS4_CUDA_ARCHS: summary.architecture,
  MS4_GPU_CHECK: "ON",
  MS4_BUILD_JOBS: jobs,
};
const haveModules =
  existsSync(join(root, "node_modules", "cmake-js")) && existsSync(join(root, "node_modules", "vitest"));
log(
  `building for ${summary.architecture} with ${jobs} jobs${haveModules ? "" : " (no node_modules: ms4-gpu-check only)"}`,
);
const build = haveModules
  ? run(process.execPath, [join(root, "scripts", "build-native.mjs")], { env })
  : run("bash", [join(root, "scripts", "gpu-check.sh"), "--build-only"], {
      env: { ...env, MS4_GPU_OUT: out },
    });
writeFileSync(join(out, "build.log"), build.stdout + build.stderr);
summary.build = { ok: build.status === 0, seconds: build.seconds };
if (build.status !== 0) {
  summary.build.tail = (build.stdout + build.stderr).split("\n").slice(-30).join("\n");
  finish(1);
}

// 2. ms4-gpu-check.
const checkBinary = [join(root, "build", "ms4-gpu-check"), join(root, "build-gpu", "ms4-gpu-check")].find(
  existsSync,
);
const checkArgs = ["--device", device, "--out", join(out, "gpu-check.json")];
if (process.env.MS4_GPU_SKIP_BENCH === "1") checkArgs.push("--skip-bench");
log(`running ${checkBinary}`);
const check = run(checkBinary, checkArgs, { stdio: ["ignore", "pipe", "inherit"] });
try {
  summary.gpuCheck = JSON.parse(readFileSync(join(out, "gpu-check.json"), "utf8"));
} catch {
  summary.gpuCheck = {
    error: `ms4-gpu-check exited ${check.status} without a result`,
    stdout: check.stdout.slice(-4000),
  };
}

// 3. vitest on the GPU tests, against the addon just built.
if (haveModules) {
  const report = join(out, "vitest.json");
  const vitest = run(
    process.execPath,
    [
      join(root, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "test/gpu",
      "--reporter=json",
      `--outputFile=${report}`,
    ],
    { env: { ...process.env, MS4_TEST_DEVICE: `cuda:${device}` }, stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    const r = JSON.parse(readFileSync(report, "utf8"));
    const tests = r.testResults.flatMap((f) => f.assertionResults);
    summary.vitest = {
      seconds: vitest.seconds,
      passed: tests.filter((t) => t.status === "passed").length,
      failed: tests.filter((t) => t.status === "failed").length,
      skipped: tests.filter((t) => t.status !== "passed" && t.status !== "failed").length,
      failures: tests
        .filter((t) => t.status === "failed")
        .map((t) => ({ test: t.fullName, message: (t.failureMessages ?? []).join("\n").slice(0, 2000) })),
    };
  } catch {
    summary.vitest = {
      error: `vitest exited ${vitest.status} without a report`,
      output: vitest.stdout.slice(-4000),
    };
  }
} else {
  summary.vitest = { notRun: "node_modules with vitest and cmake-js are not in this checkout" };
}

const vitestOk =
  summary.vitest.notRun !== undefined || (summary.vitest.failed === 0 && !summary.vitest.error);
finish(check.status === 0 && summary.gpuCheck?.ok === true && vitestOk ? 0 : 1);
