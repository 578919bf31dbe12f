#!/usr/bin/env node
// Builds the native addon from source into build/Release/mistral4.node: cmake-js (CMakeLists.txt) when cmake is
// on PATH, else node-gyp (binding.gyp, CPU backend only). Says plainly what is missing when neither can build.
// Environment:
//   MS4_CUDA=AUTO|ON|OFF      the CUDA backend (default AUTO: compiled when nvcc >= 12.0 can compile the
//                             architectures; cmake only). Models run on CUDA only with device "cuda" (docs/cuda-backend.md).
//   MS4_CUDA_ARCHS            GPU architectures (read by CMakeLists.txt; default: sm_90a, sm_100a, sm_120a, compute_80).
//   MS4_EMULATED_KERNELS=ON|OFF  the avx512-emulated test kernel path (needs SIMDe's headers). Default: ON in a
//                             development checkout (with test/), OFF in an installed package.
//   MS4_BUILD_JOBS=N          parallel compile jobs (default: all cores).
//   MS4_SANITIZE=LIST         cmake only: a test build with these sanitizers (e.g. address,undefined); see
//                             scripts/sanitize/test-sanitized.sh, which builds one into build-sanitize/.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolveBin } from "./native/resolve-tool.mjs";

const log = (msg) => console.error(`[mistral4-runtime] ${msg}`);

function has(cmd, args = ["--version"]) {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}

/** A folder holding include/node/node_api.h, so neither build tool downloads Node.js headers. */
function nodeHeadersDir() {
  const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), ".."), "/usr"];
  return candidates.find((dir) => dir && existsSync(join(dir, "include", "node", "node_api.h")));
}

/** npm's own copy of node-gyp: npm names it in npm_config_node_gyp for scripts; else beside npm. */
function npmNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      "..",
      "lib",
      "node_modules",
      "npm",
      "node_modules",
      "node-gyp",
      "bin",
      "node-gyp.js",
    ),
  ];
  return candidates.find((p) => p && existsSync(p));
}

/**
 * Builds the addon of the package at `root`. Returns 0 on success, else a non-zero status after saying why.
 * `outDir` is the cmake build folder (default root/build); `emulated`, `cuda` and `sanitize` override the environment.
 */
export function buildFromSource({ root, outDir = join(root, "build"), cuda, emulated, sanitize } = {}) {
  const compiler =
    process.env.CXX ?? (has("c++") ? "c++" : has("g++") ? "g++" : has("clang++") ? "clang++" : undefined);
  if (!compiler) {
    log("cannot build the native addon: no C++ compiler found (c++, g++ or clang++).");
    log("Install one (Debian/Ubuntu: apt-get install g++ cmake; macOS: xcode-select --install), then run");
    log("`npm rebuild mistral4-runtime`.");
    return 1;
  }
  const env = { ...process.env };
  const headers = nodeHeadersDir();
  if (headers) env.npm_config_nodedir = headers;
  const jobs = process.env.MS4_BUILD_JOBS ?? String(Math.max(1, cpus().length));
  const cudaMode = (cuda ?? process.env.MS4_CUDA ?? "AUTO").toUpperCase();
  if (!["AUTO", "ON", "OFF"].includes(cudaMode)) {
    log(`MS4_CUDA must be AUTO, ON or OFF, not ${cudaMode}`);
    return 1;
  }
  const devCheckout = existsSync(join(root, "test"));
  const emulatedMode = (
    emulated ??
    process.env.MS4_EMULATED_KERNELS ??
    (devCheckout ? "ON" : "OFF")
  ).toUpperCase();

  const sanitizers = sanitize ?? process.env.MS4_SANITIZE ?? "";
  if (!/^[a-z,]*$/.test(sanitizers)) {
    log(`MS4_SANITIZE must be a comma-separated list of sanitizer names, not ${sanitizers}`);
    return 1;
  }
  env.MS4_EMULATED_KERNELS = emulatedMode; // binding.gyp reads it
  if (!has("cmake") && sanitizers !== "") {
    log("MS4_SANITIZE needs cmake (the node-gyp build has no sanitizer option).");
    return 1;
  }
  if (!has("cmake")) {
    log(
      "cmake is not on PATH: building with node-gyp (binding.gyp). node-gyp builds the CPU backend only and",
    );
    log("never compiles CUDA code; install cmake for the primary build (apt-get install cmake).");
    const nodeGyp = resolveBin(root, "node-gyp") ?? npmNodeGyp();
    if (!nodeGyp) {
      log("cannot build the native addon: neither cmake nor node-gyp is available. Install cmake, then run");
      log("`npm rebuild mistral4-runtime`.");
      return 1;
    }
    return (
      spawnSync(process.execPath, [nodeGyp, "rebuild", "-j", jobs], { cwd: root, stdio: "inherit", env })
        .status ?? 1
    );
  }

  const cmakeJs = resolveBin(root, "cmake-js");
  if (!cmakeJs) {
    log(
      "cannot find cmake-js (a dependency of mistral4-runtime) from this package; reinstall mistral4-runtime.",
    );
    return 1;
  }
  const cmake = (mode, command) => {
    const args = [cmakeJs, command, "--directory", root, "--out", outDir, "--parallel", jobs];
    args.push(`--CDMS4_CUDA=${mode}`, `--CDMS4_EMULATED_KERNELS=${emulatedMode}`);
    args.push(`--CDMS4_SANITIZE=${sanitizers}`);
    return spawnSync(process.execPath, args, { cwd: root, stdio: "inherit", env }).status ?? 1;
  };
  log(
    `building the addon with cmake-js (CPU backend; CUDA backend: ${cudaMode}${sanitizers ? `; sanitizers: ${sanitizers}` : ""})`,
  );
  // Configure every time (seconds), so the settings above apply to an existing build folder too; then build
  // incrementally.
  const build = (mode) => cmake(mode, "configure") || cmake(mode, "build");
  const status = build(cudaMode);
  if (status !== 0 && cudaMode === "AUTO" && has("nvcc")) {
    // A CPU build must never fail because of the optional CUDA part.
    log("the build failed with the CUDA backend enabled; building the CPU backend alone (MS4_CUDA=OFF).");
    return build("OFF");
  }
  return status;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const status = buildFromSource({ root });
  if (status !== 0) {
    log("the native addon failed to build; the messages above say why. MS4_CUDA=OFF builds without CUDA.");
    process.exit(status);
  }
  log(`native addon built: ${join(root, "build", "Release", "mistral4.node")}`);
}
