/**
 * Model: the public facade. `Model.load()` parses the config and safetensors headers into a validated load
 * plan (TypeScript), then maps and checks the weight files on a worker thread (native), with progress and
 * cancellation. Text in and out goes through `tokenizer` and `renderChat`.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LoadPlan } from "../checkpoint/load-plan";
import { openCheckpoint } from "../checkpoint/open-checkpoint";
import type { ModelConfig } from "../config/model-config";
import {
  AbortError,
  CheckpointError,
  DisposedError,
  InvalidArgumentError,
  NativeAddonError,
} from "../errors";
import { loadNative, type NativeWeights, type SystemInfo } from "../native";
import { Tekken } from "../tokenizer/tekken";
import type { Tokenizer } from "../tokenizer/types";
import { ensureBuiltinModel } from "./builtin-model";
import { type LoadOptions, validateLoadOptions } from "./load-options";

export interface ModelMemory {
  /** Bytes of weights the model uses (sum of its tensors). */
  weightBytes: number;
  /** Bytes of checkpoint files mapped into memory. */
  mappedBytes: number;
}

export class Model implements AsyncDisposable {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  /** Where the model runs. */
  readonly device: "cpu";
  /** @internal */
  readonly plan: LoadPlan;
  /** @internal */
  weights: NativeWeights | undefined;

  private constructor(dir: string, plan: LoadPlan, tokenizer: Tokenizer, weights: NativeWeights) {
    this.dir = dir;
    this.plan = plan;
    this.config = plan.config;
    this.tokenizer = tokenizer;
    this.weights = weights;
    this.device = "cpu";
  }

  /**
   * Loads a checkpoint folder (Mistral-native or Hugging Face layout). Without `dir`, loads the built-in
   * tiny model (random weights, generated into a cache folder on first use).
   */
  static async load(dir?: string, options: LoadOptions = {}): Promise<Model> {
    validateLoadOptions(options);
    if (dir !== undefined && (typeof dir !== "string" || dir.length === 0)) {
      throw new InvalidArgumentError("dir", "a checkpoint folder path", dir);
    }
    const { signal, onProgress } = options;
    if (signal?.aborted) throw new AbortError("Model.load was aborted");
    const native = loadNative();
    resolveDevice(options.device ?? "auto", native.systemInfo());
    const folder = resolve(dir ?? (await ensureBuiltinModel()));
    const plan = await openCheckpoint(folder, { layout: options.layout });
    onProgress?.({ phase: "plan", done: plan.tensors.length, total: plan.tensors.length });
    const tokenizer = loadTokenizer(folder);
    if (signal?.aborted) throw new AbortError("Model.load was aborted");

    const weights = new native.NativeWeights();
    const onAbort = () => weights.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await weights.load(
        {
          files: plan.files.map((f) => ({ path: f.path, size: f.size })),
          tensors: plan.tensors.map((t) => ({
            name: t.name,
            file: t.fileIndex,
            offset: t.offset,
            length: t.length,
          })),
          prefetch: options.prefetch ?? true,
        },
        onProgress ? (ev) => onProgress({ phase: ev.phase, done: ev.done, total: ev.total }) : undefined,
      );
    } catch (cause) {
      weights.dispose();
      if (signal?.aborted) throw new AbortError("Model.load was aborted");
      throw new CheckpointError((cause as Error).message, { file: folder }, { cause });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    if (signal?.aborted) {
      weights.dispose();
      throw new AbortError("Model.load was aborted");
    }
    return new Model(folder, plan, tokenizer, weights);
  }

  /** Memory the loaded weights use. */
  memory(): ModelMemory {
    const weights = this.live();
    return {
      weightBytes: this.plan.tensors.reduce((a, t) => a + t.length, 0),
      mappedBytes: weights.stats().mappedBytes,
    };
  }

  get disposed(): boolean {
    return this.weights === undefined;
  }

  /** Releases the weights. Safe to call twice; any later use throws DisposedError. */
  async dispose(): Promise<void> {
    const weights = this.weights;
    this.weights = undefined;
    weights?.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** @internal */
  live(): NativeWeights {
    if (!this.weights) throw new DisposedError("Model");
    return this.weights;
  }
}

function loadTokenizer(dir: string): Tokenizer {
  const path = join(dir, "tekken.json");
  if (!existsSync(path))
    throw new CheckpointError("tekken.json not found: the checkpoint needs its Tekken tokenizer", {
      file: dir,
    });
  return Tekken.fromFile(path);
}

/** Checks the requested device against what this build and machine offer. Today every model runs on the CPU. */
function resolveDevice(device: string, info: SystemInfo): "cpu" {
  if (device === "auto" || device === "cpu") return "cpu";
  const reason = info.cuda.compiled
    ? info.cuda.devices.length === 0
      ? `no usable CUDA device (${info.cuda.error})`
      : "the CUDA backend does not run models yet in this version"
    : "this build of the addon has no CUDA backend";
  throw new NativeAddonError(
    `device ${JSON.stringify(device)} is unavailable: ${reason}; use device "cpu" or "auto"`,
  );
}
