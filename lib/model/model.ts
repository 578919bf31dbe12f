/**
 * Model: the public facade. `Model.load()` parses the config and safetensors headers into a validated load
 * plan (TypeScript), maps the files and repacks every weight into the kernel layouts on a worker thread
 * (native), sizes the paged KV pool, and exposes text in / text out through `tokenizer` and `renderChat`.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ChatRequest, RenderedChat } from "../chat";
import { imageTokenIds, renderChat as renderChatTokens } from "../chat";
import { loadDefaultSystemPrompt } from "../chat/system-prompt";
import type { LoadPlan } from "../checkpoint/load-plan";
import { openCheckpoint } from "../checkpoint/open-checkpoint";
import type { ModelConfig } from "../config/model-config";
import { Engine, type EngineStats } from "../engine/engine";
import { AbortError, CheckpointError, DisposedError, InvalidArgumentError, Ms4Error } from "../errors";
import { Generator } from "../generation/generator";
import type {
  EvaluateChatRequest,
  EvaluateOptions,
  GenerateRequest,
  GenerateResult,
  StreamEvent,
} from "../generation/types";
import { GENERATE_REQUEST_KEYS } from "../generation/validate";
import { fetchImageBytes } from "../image/fetch";
import { DEFAULT_IMAGE_LIMITS, type ImageLimits, isHttpUrl, loadImage } from "../image/sources";
import { loadNative, type NativeBackendOptions, type NativeModel } from "../native";
import { checkKnownKeys } from "../options/known-keys";
import { Tekken } from "../tokenizer/tekken";
import type { Tokenizer, TokenizerImageConfig } from "../tokenizer/types";
import { type ImageInput, imageRefOf } from "../vision/image-inputs";
import { noVisionTower, PromptImages } from "../vision/prompt-images";
import { VisionEncoder } from "../vision/vision-encoder";
import { ensureBuiltinModel } from "./builtin-model";
import { planCpuMemory } from "./cpu-memory";
import { planCudaMemory } from "./cuda-memory";
import { readHostMemory, usableBytes } from "./host-memory";
import {
  cudaMemoryTarget,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_MAX_TOKENS_PER_STEP,
  defaultMaxContext,
  hostMemoryTarget,
  type KvPlan,
  planKvCache,
} from "./kv-budget";
import { type LoadOptions, validateLoadOptions } from "./load-options";
import { NativeCalls } from "./native-calls";
import { buildNativeSpec, nativeLoadPlan } from "./native-spec";
import { resolveBackend } from "./resolve-backend";
import { physicalCores } from "./threads";

export interface ModelMemory {
  /** Where the bytes below live: host memory ("cpu") or the CUDA device's memory ("cuda"). */
  device: "cpu" | "cuda";
  /** Bytes of weights in kernel layouts. */
  weightBytes: number;
  /** Bytes of the paged KV pool. */
  kvCacheBytes: number;
  kvBlocks: number;
  kvBlockSize: number;
}

/** What the serving engine is doing now: see EngineStats. */
export type ModelStats = EngineStats;

export interface RenderChatOptions {
  /** Use the checkpoint's SYSTEM_PROMPT.txt when the request has no system message (default true). */
  defaultSystemPrompt?: boolean;
}

/** One image through the vision encoder (Model.embedImages). */
export interface EmbeddedImage {
  /** Token grid: `[IMG]` columns per row and rows. */
  readonly columns: number;
  readonly rows: number;
  /** The token ids the image renders to in a prompt (`[IMG]` rows, `[IMG_BREAK]`, a final `[IMG_END]`). */
  readonly tokens: number[];
  /** [rows · columns, hiddenSize] projected features, row-major over the grid (one per `[IMG]`). */
  readonly embeddings: Float32Array;
}

type ImageSettings = Pick<LoadOptions, "maxImageBytes" | "maxImagePixels" | "imageFetch"> & {
  imageConfig: TokenizerImageConfig | undefined;
};

export class Model implements AsyncDisposable {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  /** Where the model runs. */
  readonly device: "cpu" | "cuda";
  /** The kernel path in use, e.g. "cpu-avx2", or "cuda-sm_90" on a CUDA device. */
  readonly kernelPath: string;
  /** What NVFP4 weights are multiplied with: "f32" (exact), "int16" or "int8" activations. */
  readonly nvfp4Activations: string;
  /** Whether the checkpoint has a vision tower (requests may carry images). */
  readonly hasVision: boolean;
  /** @internal */
  readonly plan: LoadPlan;
  /** @internal */
  readonly kv: KvPlan;
  /** @internal */
  native: NativeModel | undefined;
  /** @internal */
  readonly engine: Engine;
  private readonly generator: Generator;
  private readonly systemPrompt: string | undefined;
  /** One native call at a time: the engine's steps and image-encoder passes. */
  private readonly calls = new NativeCalls();
  private readonly imageLimits: ImageLimits;
  /** The tokenizer's image settings with the maxImageSize load option applied. */
  private readonly imageConfig: TokenizerImageConfig | undefined;
  private readonly images: PromptImages;
  private readonly encoder: VisionEncoder | undefined;
  private readonly imageFetch: LoadOptions["imageFetch"];

  private constructor(
    dir: string,
    plan: LoadPlan,
    tokenizer: Tokenizer,
    native: NativeModel,
    kv: KvPlan,
    device: "cpu" | "cuda",
    engineOptions: Pick<LoadOptions, "maxTokensPerStep" | "prefixCaching">,
    imageSettings: ImageSettings,
  ) {
    this.dir = dir;
    this.plan = plan;
    this.config = plan.config;
    this.tokenizer = tokenizer;
    this.native = native;
    this.kv = kv;
    this.device = device;
    const info = native.info();
    this.kernelPath = info.kernelPath;
    this.nvfp4Activations = info.nvfp4Activations;
    this.hasVision = info.hasVision;
    this.systemPrompt = loadDefaultSystemPrompt(dir, { modelName: "Mistral-Small-4-119B-2603" });
    this.imageLimits = {
      maxBytes: imageSettings.maxImageBytes ?? DEFAULT_IMAGE_LIMITS.maxBytes,
      maxPixels: imageSettings.maxImagePixels ?? DEFAULT_IMAGE_LIMITS.maxPixels,
    };
    this.imageConfig = imageSettings.imageConfig;
    this.imageFetch = imageSettings.imageFetch;
    this.encoder =
      this.hasVision && this.imageConfig !== undefined
        ? new VisionEncoder({
            encode: (pass) => this.calls.run(() => this.live().encodeImages(pass)),
            imageConfig: this.imageConfig,
            hiddenSize: plan.config.hiddenSize,
            limits: this.imageLimits,
          })
        : undefined;
    this.images = new PromptImages({
      encoder: this.encoder,
      hiddenSize: plan.config.hiddenSize,
      fetchPolicy: this.imageFetch,
    });
    this.engine = new Engine({
      runStep: (batch) => this.calls.run(() => this.live().step(batch)),
      numBlocks: kv.numBlocks,
      blockSize: kv.blockSize,
      vocabSize: plan.config.vocabSize,
      hiddenSize: plan.config.hiddenSize,
      eosId: tokenizer.eosId,
      maxContext: kv.maxContext,
      maxBatchSize: kv.maxBatchSize,
      maxTokensPerStep: engineOptions.maxTokensPerStep ?? kv.maxTokensPerStep,
      prefixCaching: engineOptions.prefixCaching ?? true,
    });
    this.generator = new Generator({
      tokenizer,
      engine: this.engine,
      renderChat: (request, fetched) => this.render(request, fetched, true),
      images: this.images,
    });
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
    const checkAbort = () => {
      if (signal?.aborted) throw new AbortError("Model.load was aborted");
    };
    checkAbort();
    const binding = loadNative({ addonPath: options.addonPath });
    const system = binding.systemInfo();
    const backend = resolveBackend(options, system);
    const folder = resolve(dir ?? (await ensureBuiltinModel()));
    const plan = await openCheckpoint(folder, { layout: options.layout });
    onProgress?.({ phase: "plan", done: plan.tensors.length, total: plan.tensors.length });
    const tokenizer = loadTokenizer(folder);
    if (tokenizer.vocabSize > plan.config.vocabSize) {
      throw new CheckpointError(
        `tekken.json has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${plan.config.vocabSize}`,
        { file: join(folder, "tekken.json") },
      );
    }
    const imageConfig = effectiveImageConfig(
      plan,
      tokenizer,
      options.maxImageSize,
      join(folder, "tekken.json"),
    );
    const kvOptions = {
      kvCacheMemory: options.kvCacheMemory,
      maxContext: options.maxContext,
      maxBatchSize: options.maxBatchSize,
      kvCacheDtype: options.kvCacheDtype,
      blockSize: options.kvBlockSize,
    };
    let kv: KvPlan;
    if (backend.device === "cuda") {
      // On the device: the weights in the CUDA layouts, the arena, the workspace and the context must fit beside the
      // pool in the device's free memory.
      const cuda = system.cuda.devices.find((d) => d.index === backend.deviceIndex);
      const maxTokensPerStep = options.maxTokensPerStep ?? DEFAULT_MAX_TOKENS_PER_STEP;
      const need = planCudaMemory(plan, {
        maxTokensPerStep,
        logitRowsPerChunk: logitRowsPerChunk(
          maxTokensPerStep,
          options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
        ),
        maxContext: options.maxContext ?? defaultMaxContext(plan.config),
      });
      kv = planKvCache(
        plan.config,
        kvOptions,
        need.totalBytes,
        cuda?.freeMemory ?? 0,
        cudaMemoryTarget(backend.deviceIndex, cuda?.name ?? "?"),
      );
    } else {
      // In host memory: the weights in the CPU layouts, the step and vision scratch and a reserve must fit beside the
      // pool in what the process can have now (available memory within its cgroup's limit), unless the caller opts
      // in to overcommit.
      const maxTokensPerStep = options.maxTokensPerStep ?? DEFAULT_MAX_TOKENS_PER_STEP;
      const need = planCpuMemory(plan, {
        maxTokensPerStep,
        logitRowsPerChunk: logitRowsPerChunk(
          maxTokensPerStep,
          options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
        ),
      });
      const host = readHostMemory();
      const overcommit = options.allowMemoryOvercommit === true;
      kv = planKvCache(
        plan.config,
        kvOptions,
        need.totalBytes,
        overcommit ? host.totalBytes : usableBytes(host),
        hostMemoryTarget(host),
        overcommit,
      );
    }
    checkAbort();

    const maxTokensPerStep = options.maxTokensPerStep ?? kv.maxTokensPerStep;
    const weights = new binding.NativeWeights();
    const native = new binding.NativeModel();
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      weights.abort();
      native.abort();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const progress = onProgress
      ? (ev: { phase: string; done: number; total: number }) => onProgress({ ...ev })
      : undefined;
    try {
      await weights.load(nativeLoadPlan(plan), progress);
      checkAbort();
      const spec = buildNativeSpec(plan, {
        kvCache: { numBlocks: kv.numBlocks, blockSize: kv.blockSize, dtype: kv.dtype },
        scratch: {
          maxStepTokens: maxTokensPerStep,
          logitRowsPerChunk: logitRowsPerChunk(maxTokensPerStep, kv.maxBatchSize),
        },
      });
      const nativeBackend: NativeBackendOptions = {
        device: backend.device,
        deviceIndex: backend.deviceIndex,
        cpu: {
          threads: options.threads ?? physicalCores(),
          path: backend.cpuPath,
          nvfp4Activations: backend.nvfp4Activations,
          hugePages: backend.hugePages,
        },
      };
      await native.load(weights, spec, nativeBackend, (ev) => {
        if (aborted) return;
        progress?.(ev);
      });
      checkAbort();
    } catch (cause) {
      native.dispose();
      if (signal?.aborted || aborted) throw new AbortError("Model.load was aborted");
      if (cause instanceof Ms4Error) throw cause;
      throw new CheckpointError((cause as Error).message, { file: folder }, { cause });
    } finally {
      signal?.removeEventListener("abort", onAbort);
      weights.dispose();
    }
    return new Model(
      folder,
      plan,
      tokenizer,
      native,
      kv,
      backend.device,
      { maxTokensPerStep, prefixCaching: options.prefixCaching },
      {
        imageConfig,
        maxImageBytes: options.maxImageBytes,
        maxImagePixels: options.maxImagePixels,
        imageFetch: options.imageFetch,
      },
    );
  }

  /**
   * Generates one response end to end: chat encoding, prefill, decode until EOS / a stop string / maxTokens.
   * Resolves with finishReason "abort" when `signal` aborts it.
   */
  generate(request: GenerateRequest): Promise<GenerateResult> {
    return this.generator.generate(request);
  }

  /** Text, reasoning and tool-call deltas as they are produced, then `{ type: "done", result }`. Breaking out aborts. */
  stream(request: GenerateRequest): AsyncIterable<StreamEvent> {
    return this.generator.stream(request);
  }

  /**
   * Logits for the last position ([vocab]) or, with `allPositions`, for every position ([T × vocab]), over token ids
   * or over the prompt a chat request renders to (its images through the vision encoder).
   */
  evaluate(input: ArrayLike<number> | EvaluateChatRequest, options?: EvaluateOptions): Promise<Float32Array> {
    return this.generator.evaluate(input, options);
  }

  /**
   * The exact prompt the model will see for a chat request: token ids and their text (specials spelled out), and
   * where each image's tokens are. Image parts are read and their headers checked (not decoded); http(s) image
   * URLs are fetched only by generate / stream / evaluate / embedImages.
   */
  renderChat(request: ChatRequest, options: RenderChatOptions = {}): RenderedChat {
    this.live();
    // A whole generate request may be passed (to count its prompt): its other fields are known, not rendered.
    if (request !== null && typeof request === "object") checkKnownKeys(request, GENERATE_REQUEST_KEYS);
    if (options !== null && typeof options === "object")
      checkKnownKeys(options, ["defaultSystemPrompt"], { path: "options" });
    return this.render(request, undefined, options.defaultSystemPrompt !== false);
  }

  /**
   * Runs images through the vision encoder and projector: per image, its token grid, the token ids it renders to
   * and its [rows · columns, hiddenSize] features (one per `[IMG]`, row-major). An image's features do not depend
   * on the others passed with it. UnsupportedFeatureError without a vision tower; ImageError for an image that
   * cannot be read or decoded.
   */
  async embedImages(
    images: readonly ImageInput[],
    options: { signal?: AbortSignal } = {},
  ): Promise<EmbeddedImage[]> {
    this.live();
    if (!Array.isArray(images)) throw new InvalidArgumentError("images", "an array of images", images);
    if (options !== null && typeof options === "object")
      checkKnownKeys(options, ["signal"], { path: "options" });
    const refs = images.map((input, imageIndex) => imageRefOf(input, { imageIndex }));
    if (this.encoder === undefined) throw noVisionTower(images.length);
    const fetched = new Map<string, Uint8Array>();
    for (const [imageIndex, ref] of refs.entries()) {
      if (ref.kind !== "url" || !isHttpUrl(ref.url) || this.imageFetch === undefined || fetched.has(ref.url))
        continue;
      fetched.set(
        ref.url,
        await fetchImageBytes(ref.url, this.imageFetch, { signal: options.signal, where: { imageIndex } }),
      );
    }
    const files = refs.map((ref, imageIndex) => ({
      file: loadImage(ref, { imageIndex }, { limits: this.imageLimits, fetched }),
      where: { imageIndex },
    }));
    const features = await this.encoder.encode(files, options.signal);
    const ids = {
      img: this.tokenizer.specialId("[IMG]"),
      imgBreak: this.tokenizer.specialId("[IMG_BREAK]"),
      imgEnd: this.tokenizer.specialId("[IMG_END]"),
    };
    return features.map((f) => ({ ...f, tokens: imageTokenIds(f, ids) }));
  }

  private render(
    request: ChatRequest,
    fetched: ReadonlyMap<string, Uint8Array> | undefined,
    useDefaultSystemPrompt: boolean,
  ): RenderedChat {
    return renderChatTokens(this.tokenizer, request, {
      defaultSystemPrompt: useDefaultSystemPrompt ? this.systemPrompt : undefined,
      loadImage: (ref, where) => loadImage(ref, where, { limits: this.imageLimits, fetched }),
      imageConfig: this.imageConfig,
    });
  }

  /** Memory the model holds. */
  memory(): ModelMemory {
    const info = this.live().info();
    return {
      device: this.device,
      weightBytes: info.weightBytes,
      kvCacheBytes: info.kvBytes,
      kvBlocks: info.numBlocks,
      kvBlockSize: info.blockSize,
    };
  }

  /**
   * The serving engine now: running / waiting / paused sequences, KV blocks used / free / cached,
   * preemptions, prefix-cache hit tokens, and prefill / decode tokens per second over the last 10 s.
   */
  stats(): ModelStats {
    this.live();
    return this.engine.stats();
  }

  get disposed(): boolean {
    return this.native === undefined;
  }

  /**
   * Aborts running requests, waits for the step in flight, then releases the weights and the KV pool.
   * Safe to call twice; any later use throws DisposedError.
   */
  async dispose(): Promise<void> {
    if (this.native === undefined) return;
    await this.engine.close();
    const native = this.native;
    this.native = undefined;
    await this.calls.idle(); // an image pass in flight; queued ones find the model disposed
    native?.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** @internal */
  live(): NativeModel {
    if (!this.native) throw new DisposedError("Model");
    return this.native;
  }
}

/**
 * The tokenizer's image settings with the maxImageSize load option applied, checked against the vision tower's patch
 * and merge sizes (the prompt's grid and the encoder's patches must agree).
 */
function effectiveImageConfig(
  plan: LoadPlan,
  tokenizer: Tokenizer,
  maxImageSize: number | undefined,
  tekkenFile: string,
): TokenizerImageConfig | undefined {
  const image = tokenizer.image;
  const vision = plan.config.vision;
  if (image === undefined) {
    if (maxImageSize !== undefined)
      throw new InvalidArgumentError(
        "options.maxImageSize",
        "no value: tekken.json has no image settings",
        maxImageSize,
      );
    return undefined;
  }
  if (
    vision !== null &&
    (image.imagePatchSize !== vision.patchSize || image.spatialMergeSize !== vision.spatialMergeSize)
  ) {
    throw new CheckpointError(
      `the image block (patch ${image.imagePatchSize}, merge ${image.spatialMergeSize}) disagrees with the vision ` +
        `tower (patch ${vision.patchSize}, merge ${vision.spatialMergeSize})`,
      { file: tekkenFile },
    );
  }
  if (maxImageSize === undefined) return image;
  const cell = image.imagePatchSize * image.spatialMergeSize;
  if (maxImageSize < cell || maxImageSize > image.maxImageSize) {
    throw new InvalidArgumentError(
      "options.maxImageSize",
      `a size in [${cell}, ${image.maxImageSize}] (one ${cell}-pixel cell up to the tokenizer's max_image_size)`,
      maxImageSize,
    );
  }
  return { ...image, maxImageSize };
}

/** Logit rows the arena holds at once: a decode step's rows (maxBatchSize, at least 64), never above the step size. */
function logitRowsPerChunk(maxTokensPerStep: number, maxBatchSize: number): number {
  return Math.min(maxTokensPerStep, Math.max(maxBatchSize, 64));
}

function loadTokenizer(dir: string): Tokenizer {
  const path = join(dir, "tekken.json");
  if (!existsSync(path))
    throw new CheckpointError("tekken.json not found: the checkpoint needs its Tekken tokenizer", {
      file: dir,
    });
  return Tekken.fromFile(path);
}
