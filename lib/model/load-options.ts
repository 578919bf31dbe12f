/** Validation of Model.load options (DESIGN.md §1); all checks and messages live here, not in C++. */
import { InvalidArgumentError } from "../errors";

export type DeviceOption = "auto" | "cpu" | "cuda" | `cuda:${number}`;

export interface LoadProgress {
  /** "plan" (headers parsed), "map" (files mapped), "read" (bytes paged in). */
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
  /** Which layout to load when a folder holds both params.json and config.json. */
  layout?: "native" | "hf";
  /** Page all weights in during load (default true). */
  prefetch?: boolean;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
}

export function validateLoadOptions(o: LoadOptions): void {
  if (o === null || typeof o !== "object") throw new InvalidArgumentError("options", "an object", o);
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
}
