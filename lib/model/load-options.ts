/**
 * Validation of Model.load options: their keys and the shape of each value. Choices that depend on the
 * machine or the environment (device, CPU kernel path, NVFP4 activations) are resolved in resolve-backend.ts;
 * native code receives concrete values and checks nothing of its own.
 */
import { InvalidArgumentError } from "../errors";
import { type ImageFetchPolicy, resolveImageFetchPolicy } from "../image/fetch";
import type { CpuKernelPath } from "../native";
import { checkKnownKeys } from "../options/known-keys";

export type DeviceOption = "auto" | "cpu" | "cuda" | `cuda:${number}`;

export interface LoadProgress {
  /** "plan" (headers parsed), "map" (files mapped), "repack" (weights copied into kernel layouts). */
  phase: string;
  done: number;
  total: number;
}

export interface LoadOptions {
  device?: DeviceOption;
  threads?: number;
  maxContext?: number;
  maxBatchSize?: number;
  /** Bytes for the paged KV pool, or "auto". */
  kvCacheMemory?: number | "auto";
  /**
   * Load even when the weights, the KV pool and the scratch need more host memory than the process can have now (the
   * machine's available memory within its cgroup's limit): default false, when that is an OutOfMemoryError before
   * anything is allocated. The pool is then sized against the machine's total memory, as if nothing else ran.
   */
  allowMemoryOvercommit?: boolean;
  /** Which layout to load when a folder holds both params.json and config.json. */
  layout?: "native" | "hf";
  /** KV cache element type: "bf16" (default, as the real runtimes) or "f32" (exact, twice the memory). */
  kvCacheDtype?: "bf16" | "f32";
  /** Tokens per KV block (default 16). */
  kvBlockSize?: number;
  /**
   * The CPU kernel path: "portable", "avx2" or "avx512" ("avx512-emulated" is a test path, see CpuKernelPath);
   * default "auto" (or MS4_CPU_PATH): the best this CPU and build run.
   */
  cpuPath?: "auto" | CpuKernelPath;
  /**
   * What NVFP4 weights are multiplied with on the CPU (default "auto", or MS4_NVFP4_ACTIVATIONS):
   * "f32" exact (the oracle, slowest), "int16" per-16-block int16 activations (~1e-5 relative error, about
   * twice as fast), "int8" (~1e-2, fastest). "auto" = int16 on the vector paths (avx2, avx512), f32 on the
   * portable path.
   */
  nvfp4Activations?: "auto" | "f32" | "int16" | "int8";
  /** Prompt and decode tokens one engine step may run at most (default 2048): caps prefill chunks. */
  maxTokensPerStep?: number;
  /** Reuse the KV blocks of prompt prefixes seen before (default true). */
  prefixCaching?: boolean;
  /**
   * The largest image side before an image is scaled down (default: the tokenizer's `max_image_size`, 1540 for
   * Mistral Small 4); a smaller value gives images fewer tokens and a faster encoder (CPU users). At least one
   * patch × merge cell (28 pixels).
   */
  maxImageSize?: number;
  /** Largest encoded image accepted, in bytes (default 50 MiB); checked before reading or decoding. */
  maxImageBytes?: number;
  /** Largest width × height accepted (default 8192 × 6144), read from the header before decoding. */
  maxImagePixels?: number;
  /**
   * Fetch `http(s)` image URLs under this policy (byte, time and redirect limits, content types); off by default,
   * when such URLs are an ImageError.
   */
  imageFetch?: ImageFetchPolicy;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /** The addon binary to load (for bundled or packaged apps); also setNativeAddonPath() and MS4_ADDON_PATH. */
  addonPath?: string;
}

/** Every load option (the compiler keeps this list equal to LoadOptions). */
export const LOAD_OPTION_KEYS: readonly string[] = Object.keys({
  device: true,
  threads: true,
  maxContext: true,
  maxBatchSize: true,
  kvCacheMemory: true,
  allowMemoryOvercommit: true,
  layout: true,
  kvCacheDtype: true,
  kvBlockSize: true,
  cpuPath: true,
  nvfp4Activations: true,
  maxTokensPerStep: true,
  prefixCaching: true,
  maxImageSize: true,
  maxImageBytes: true,
  maxImagePixels: true,
  imageFetch: true,
  onProgress: true,
  signal: true,
  addonPath: true,
} satisfies Record<keyof LoadOptions, true>);

const CPU_PATHS: readonly string[] = ["auto", "portable", "avx2", "avx512", "avx512-emulated"];
const NVFP4_ACTIVATIONS: readonly string[] = ["auto", "f32", "int16", "int8"];

export function validateLoadOptions(o: LoadOptions): void {
  if (o === null || typeof o !== "object" || Array.isArray(o))
    throw new InvalidArgumentError("options", "an object", o);
  checkKnownKeys(o, LOAD_OPTION_KEYS, { path: "options" });
  const { device } = o;
  if (
    device !== undefined &&
    !(device === "auto" || device === "cpu" || device === "cuda" || /^cuda:\d+$/.test(String(device)))
  ) {
    throw new InvalidArgumentError("options.device", '"auto", "cpu", "cuda" or "cuda:N"', device);
  }
  const positiveInt = (name: string, v: unknown) => {
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 1)) {
      throw new InvalidArgumentError(`options.${name}`, "a positive integer", v);
    }
  };
  positiveInt("threads", o.threads);
  positiveInt("maxContext", o.maxContext);
  positiveInt("maxBatchSize", o.maxBatchSize);
  positiveInt("kvBlockSize", o.kvBlockSize);
  positiveInt("maxTokensPerStep", o.maxTokensPerStep);
  positiveInt("maxImageSize", o.maxImageSize);
  positiveInt("maxImageBytes", o.maxImageBytes);
  positiveInt("maxImagePixels", o.maxImagePixels);
  if (o.imageFetch !== undefined) resolveImageFetchPolicy(o.imageFetch, "options.imageFetch");
  if (o.allowMemoryOvercommit !== undefined && typeof o.allowMemoryOvercommit !== "boolean") {
    throw new InvalidArgumentError("options.allowMemoryOvercommit", "a boolean", o.allowMemoryOvercommit);
  }
  if (o.prefixCaching !== undefined && typeof o.prefixCaching !== "boolean") {
    throw new InvalidArgumentError("options.prefixCaching", "a boolean", o.prefixCaching);
  }
  if (o.kvCacheDtype !== undefined && o.kvCacheDtype !== "bf16" && o.kvCacheDtype !== "f32") {
    throw new InvalidArgumentError("options.kvCacheDtype", '"bf16" or "f32"', o.kvCacheDtype);
  }
  if (o.cpuPath !== undefined && !CPU_PATHS.includes(o.cpuPath)) {
    throw new InvalidArgumentError("options.cpuPath", '"auto", "portable", "avx2" or "avx512"', o.cpuPath);
  }
  if (o.nvfp4Activations !== undefined && !NVFP4_ACTIVATIONS.includes(o.nvfp4Activations)) {
    throw new InvalidArgumentError(
      "options.nvfp4Activations",
      '"auto", "f32", "int16" or "int8"',
      o.nvfp4Activations,
    );
  }
  if (
    o.kvCacheMemory !== undefined &&
    o.kvCacheMemory !== "auto" &&
    !(Number.isSafeInteger(o.kvCacheMemory) && o.kvCacheMemory > 0)
  ) {
    throw new InvalidArgumentError(
      "options.kvCacheMemory",
      'a positive number of bytes or "auto"',
      o.kvCacheMemory,
    );
  }
  if (o.layout !== undefined && o.layout !== "native" && o.layout !== "hf") {
    throw new InvalidArgumentError("options.layout", '"native" or "hf"', o.layout);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") {
    throw new InvalidArgumentError("options.onProgress", "a function", o.onProgress);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError("options.signal", "an AbortSignal", o.signal);
  }
  if (o.addonPath !== undefined && !(typeof o.addonPath === "string" && o.addonPath.length > 0))
    throw new InvalidArgumentError("options.addonPath", "the path of a mistral4.node file", o.addonPath);
}
