#!/usr/bin/env node
// Builds the native addon at install time: cmake-js (CMakeLists.txt) first; node-gyp (binding.gyp, CPU only)
// when cmake is missing. Says plainly what is missing when neither can build.
// Environment: MS4_CUDA=AUTO|ON|OFF (default AUTO: CUDA backend when nvcc is found),
//              MS4_SKIP_NATIVE_BUILD=1 (skip; the library then fails clearly when the addon is needed),
//              MS4_BUILD_JOBS=N (parallel compile jobs),
//              MS4_EMULATED_KERNELS=OFF (leave out the avx512-emulated test kernel path; default ON when SIMDe's
//              headers are installed).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const log = (msg) => console.error(`[mistral4-runtime] ${msg}`);

if (process.env.MS4_SKIP_NATIVE_BUILD === "1") {
  log("MS4_SKIP_NATIVE_BUILD=1: not building the native addon");
  process.exit(0);
}

function has(cmd, args = ["--version"]) {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return r.status === 0;
}

function nodeHeadersDir() {
  // Prefer the configured nodedir (npm sets npm_config_nodedir); else the headers that ship beside node.
  const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), ".."), "/usr"];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, "include", "node", "node_api.h"))) return dir;
  }
  return undefined;
}

const compiler =
  process.env.CXX ?? (has("c++") ? "c++" : has("g++") ? "g++" : has("clang++") ? "clang++" : undefined);
if (!compiler) {
  log("cannot build the native addon: no C++ compiler found (c++, g++ or clang++).");
  log(
    "Install one (Debian/Ubuntu: apt-get install g++ cmake; macOS: xcode-select --install), then npm rebuild.",
  );
  process.exit(1);
}

const headers = nodeHeadersDir();
const env = { ...process.env };
if (headers) env.npm_config_nodedir = headers;
const jobs = process.env.MS4_BUILD_JOBS ?? String(Math.max(1, cpus().length));
const cudaMode = (process.env.MS4_CUDA ?? "AUTO").toUpperCase();
if (!["AUTO", "ON", "OFF"].includes(cudaMode)) {
  log(`MS4_CUDA must be AUTO, ON or OFF, not ${process.env.MS4_CUDA}`);
  process.exit(1);
}

let status;
if (has("cmake")) {
  const cmakeJs = join(root, "node_modules", "cmake-js", "bin", "cmake-js");
  const emulated = (process.env.MS4_EMULATED_KERNELS ?? "ON").toUpperCase() === "OFF" ? "OFF" : "ON";
  const args = [
    cmakeJs,
    "compile",
    "--directory",
    root,
    "--parallel",
    jobs,
    "--CDMS4_CUDA=" + cudaMode,
    "--CDMS4_EMULATED_KERNELS=" + emulated,
  ];
  if (!existsSync(cmakeJs)) {
    log("cmake-js is not installed (it is a dependency of this package); run npm install again.");
    process.exit(1);
  }
  log(`building the addon with cmake-js (CUDA: ${cudaMode})`);
  status = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit", env }).status;
} else {
  log("cmake not found: building the CPU addon with node-gyp instead (no CUDA backend).");
  log("Install cmake (apt-get install cmake) to get the primary build and the CUDA backend.");
  const nodeGyp = [
    join(root, "node_modules", "node-gyp", "bin", "node-gyp.js"),
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
  ].find(existsSync);
  if (!nodeGyp) {
    log(
      "cannot build the native addon: neither cmake nor node-gyp is available. Install cmake and run npm rebuild.",
    );
    process.exit(1);
  }
  status = spawnSync(process.execPath, [nodeGyp, "rebuild", "-j", jobs], {
    cwd: root,
    stdio: "inherit",
    env,
  }).status;
}

if (status !== 0) {
  log("the native addon failed to build; the messages above say why.");
  log("Set MS4_CUDA=OFF to build without CUDA, or MS4_SKIP_NATIVE_BUILD=1 to install without the addon.");
  process.exit(status ?? 1);
}
log("native addon built: build/Release/mistral4.node");
