/**
 * The one place that loads the native addon. Everything native goes through `loadNative()`, which returns
 * the typed binding or throws a single NativeAddonError saying what is missing and how to build it.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NativeAddonError } from "./errors";

/** Bumped together with kAbiVersion in native/addon.cc whenever the binding changes shape. */
export const EXPECTED_ABI_VERSION = 1;

export interface NativeProgressEvent {
  phase: string;
  done: number;
  total: number;
}

export interface NativeLoadPlan {
  files: { path: string; size: number }[];
  tensors: { name: string; file: number; offset: number; length: number }[];
  /** Page every tensor in during load (reports "read" progress). */
  prefetch: boolean;
}

export interface NativeWeights {
  load(plan: NativeLoadPlan, onProgress?: (ev: NativeProgressEvent) => void): Promise<void>;
  readTensor(index: number, offset?: number, length?: number): Buffer;
  abort(): void;
  dispose(): void;
  stats(): { mappedBytes: number; tensorCount: number; disposed: boolean };
}

export interface CpuFeatures {
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
  avxVnni: boolean;
  amxTile: boolean;
  amxBf16: boolean;
  amxInt8: boolean;
  logicalCores: number;
}

export interface CudaDevice {
  index: number;
  name: string;
  totalMemory: number;
  freeMemory: number;
  computeCapability: string;
  multiprocessors: number;
}

export interface SystemInfo {
  cpu: CpuFeatures;
  cuda: {
    compiled: boolean;
    runtimeVersion: number;
    driverVersion: number;
    error: string;
    devices: CudaDevice[];
  };
}

export interface NativeBinding {
  abiVersion: number;
  NativeWeights: new () => NativeWeights;
  systemInfo(): SystemInfo;
}

/** The package root: lib/ (sources, tests) and dist/ (built) both sit one level below it. */
export function packageRoot(): string {
  const here = typeof __dirname === "string" ? __dirname : dirname(fileURLToPath(import.meta.url));
  return resolve(here, "..");
}

/** Where the addon is looked for, in order. MS4_ADDON_PATH overrides everything. */
export function addonCandidates(root = packageRoot()): string[] {
  const fromEnv = process.env.MS4_ADDON_PATH;
  if (fromEnv) return [resolve(fromEnv)];
  return [
    join(root, "build", "Release", "mistral4.node"),
    join(root, "build", "Debug", "mistral4.node"),
    join(root, "prebuilds", `${process.platform}-${process.arch}`, "mistral4.node"),
  ];
}

let cached: NativeBinding | undefined;

export function loadNative(): NativeBinding {
  if (cached) return cached;
  const candidates = addonCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new NativeAddonError(
      `The native addon is not built (looked for ${candidates.join(", ")}). ` +
        "Run `npm rebuild mistral4-runtime` (or `npm run build:native` in a clone); it needs a C++ compiler and cmake.",
    );
  }
  let binding: NativeBinding;
  try {
    const require = createRequire(join(packageRoot(), "package.json"));
    binding = require(found) as NativeBinding;
  } catch (cause) {
    throw new NativeAddonError(
      `The native addon at ${found} failed to load: ${(cause as Error).message}. ` +
        "Rebuild it for this Node.js/Electron version with `npm rebuild mistral4-runtime`.",
      { cause },
    );
  }
  if (binding.abiVersion !== EXPECTED_ABI_VERSION || typeof binding.NativeWeights !== "function") {
    throw new NativeAddonError(
      `The native addon at ${found} has binding version ${String(binding.abiVersion)} but this library needs ` +
        `${EXPECTED_ABI_VERSION}; rebuild it with \`npm rebuild mistral4-runtime\`.`,
    );
  }
  cached = binding;
  return binding;
}

/** For tests: forget the cached binding so the next loadNative() searches again. */
export function resetNativeForTests(): void {
  cached = undefined;
}
