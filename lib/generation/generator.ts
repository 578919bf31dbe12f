/**
 * Generator: the text side of generate / stream / evaluate. It turns a request into prompt tokens
 * (messages through the chat template, raw text as a document after BOS, or ids as given), validates it,
 * hands it to the Engine, and turns the sampled ids back into text, reasoning and tool calls with
 * stop strings applied. Abort (signal, or leaving a stream early) ends the request with finishReason
 * "abort"; the engine frees its blocks.
 */

import type { ChatRequest, ImagePlacement } from "../chat/types";
import { DecodingConstraint, type ThinkingMode } from "../constrain/constraint";
import type { Grammar } from "../constrain/grammar";
import { buildGrammar } from "../constrain/request";
import { type TokenTable, tokenTableFor } from "../constrain/token-table";
import type { Engine, EngineEvent } from "../engine/engine";
import type { InputEmbeddingSpan } from "../engine/input-embeddings";
import { maskWords, validateSamplingParams } from "../engine/sampling-params";
import type { TokenConstraint } from "../engine/sequence";
import { AbortError, ImageError, InvalidArgumentError } from "../errors";
import { checkKnownKeys } from "../options/known-keys";
import type { Tokenizer } from "../tokenizer/types";
import { noVisionTower, type PromptImages } from "../vision/prompt-images";
import { continuedPart } from "./continuation";
import { ForbiddenTokenConstraint } from "./forbidden-token";
import { OutputAssembler } from "./output-assembler";
import type {
  EvaluateChatRequest,
  EvaluateOptions,
  FinishReason,
  GenerateRequest,
  GenerateResult,
  StreamEvent,
  TokenLogprob,
} from "./types";
import {
  type CheckedRequest,
  checkEvaluateOptionKeys,
  checkGenerateRequest,
  checkTokenIds,
} from "./validate";

/** maxTokens when a request gives none (capped by the room left in the context and the KV pool). */
export const DEFAULT_MAX_TOKENS = 4096;

export interface GeneratorOptions {
  readonly tokenizer: Tokenizer;
  /** Runs the steps; also gives vocabSize, eosId, maxContext and the KV pool's capacity. */
  readonly engine: Engine;
  /**
   * The model's chat template (Model.renderChat); `fetched` holds the bytes of the request's http(s) image URLs
   * fetched beforehand.
   */
  readonly renderChat: (
    request: ChatRequest,
    fetched?: ReadonlyMap<string, Uint8Array>,
  ) => {
    readonly tokens: readonly number[];
    readonly text: string;
    /** The images the prompt holds (their `[IMG]` runs). */
    readonly images: readonly ImagePlacement[];
  };
  /** How the prompt's images reach the model; without it a request with images is an UnsupportedFeatureError. */
  readonly images?: PromptImages | undefined;
  readonly defaultMaxTokens?: number;
  /**
   * With reasoningEffort "high" and a grammar (responseFormat or a forced tool call): whether the answer
   * may ("optional", the default) or must ("required") be preceded by a `[THINK]…[/THINK]` block.
   */
  readonly grammarThinking?: Exclude<ThinkingMode, "forbidden">;
}

export class Generator {
  private readonly tokenizer: Tokenizer;
  private readonly engine: Engine;
  private readonly renderChat: GeneratorOptions["renderChat"];
  private readonly images: PromptImages | undefined;
  private readonly defaultMaxTokens: number;
  private readonly grammarThinking: Exclude<ThinkingMode, "forbidden">;

  constructor(options: GeneratorOptions) {
    this.tokenizer = options.tokenizer;
    this.engine = options.engine;
    this.renderChat = options.renderChat;
    this.images = options.images;
    this.defaultMaxTokens = options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS;
    this.grammarThinking = options.grammarThinking ?? "optional";
  }

  /** Generates a whole response. Resolves with finishReason "abort" when aborted. */
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    let result: GenerateResult | undefined;
    for await (const ev of this.stream(req)) if (ev.type === "done") result = ev.result;
    if (result === undefined) throw new Error("Generator: the stream ended without a result");
    return result;
  }

  /**
   * Streams text / reasoning / tool-call deltas, then `{ type: "done", result }`. Text deltas never split
   * a character and never contain text that could still turn into a stop string. Leaving the loop early
   * aborts the request.
   */
  async *stream(req: GenerateRequest): AsyncGenerator<StreamEvent, void, undefined> {
    const checked = checkGenerateRequest(req);
    const sampling = validateSamplingParams(req);
    let prompt: number[];
    let inputEmbeddings: InputEmbeddingSpan[] | undefined;
    try {
      ({ tokens: prompt, inputEmbeddings } = await this.prompt(req, checked));
    } catch (error) {
      // Aborted while its images were fetched or encoded: the same ending as an abort in the engine.
      if (checked.signal?.aborted && (error instanceof AbortError || error instanceof ImageError)) {
        yield { type: "done", result: abortedResult() };
        return;
      }
      throw error;
    }
    const startInReasoning = checked.continuesMessage && this.continuesReasoning(prompt, checked);
    const maxTokens = this.maxTokens(prompt.length, checked.maxTokens, checked.source);
    const { constraint, grammar } = this.constraint(req, checked, maxTokens);
    const assembler = new OutputAssembler(this.tokenizer, {
      // The grammar decides where a constrained answer ends: stop strings would cut it.
      stop: grammar === null ? checked.stop : [],
      tools: checked.toolChoice.type === "none" ? null : checked.tools.map((t) => t.name),
      startInReasoning,
    });
    const handle = this.engine.addRequest({
      promptTokens: prompt,
      maxTokens,
      sampling,
      onToken: (id) => assembler.push(id),
      signal: checked.signal,
      constraint,
      inputEmbeddings,
    });

    const tokens: number[] = [];
    const logprobs: TokenLogprob[] = [];
    let reason: "stop" | "length" | "abort" | undefined;
    try {
      for await (const ev of handle) {
        if (ev.type === "token") {
          tokens.push(ev.id);
          if (sampling.logprobs) logprobs.push(this.logprobEntry(ev));
          yield* assembler.takeEvents();
        } else if (ev.type === "finish") reason = ev.reason;
      }
    } finally {
      if (reason === undefined) handle.abort();
    }
    if (reason === undefined) throw new Error("Generator: the engine ended a request without finishing it");
    assembler.finish();
    yield* assembler.takeEvents();

    const toolCalls = assembler.calls;
    // Only a valid call (to a declared tool) ends the answer with "tool_calls".
    const finishReason: FinishReason =
      reason === "stop" && toolCalls.length > 0 && !assembler.stopped ? "tool_calls" : reason;
    const result: GenerateResult = {
      text: assembler.text,
      reasoning: assembler.reasoning,
      toolCalls,
      invalidToolCalls: assembler.invalidToolCalls.map((c) => ({ ...c })),
      finishReason,
      usage: {
        promptTokens: prompt.length,
        completionTokens: tokens.length,
        cachedPromptTokens: handle.cachedPromptTokens,
      },
      tokens,
      ...(sampling.logprobs ? { logprobs } : {}),
    };
    yield { type: "done", result };
  }

  /**
   * Logits of the model over `tokens` (or over the prompt a chat request renders to, images included): [vocab] for
   * the last position, or [T × vocab] (row-major) with allPositions. Rejects with AbortError when aborted.
   */
  async evaluate(
    input: ArrayLike<number> | EvaluateChatRequest,
    options: EvaluateOptions = {},
  ): Promise<Float32Array> {
    if (options === null || typeof options !== "object")
      throw new InvalidArgumentError("options", "an object", options);
    checkEvaluateOptionKeys(options);
    const { allPositions, startPosition, signal } = options;
    if (allPositions !== undefined && typeof allPositions !== "boolean")
      throw new InvalidArgumentError("options.allPositions", "a boolean", allPositions);
    if (startPosition !== undefined && !(Number.isSafeInteger(startPosition) && startPosition >= 0))
      throw new InvalidArgumentError("options.startPosition", "a non-negative integer", startPosition);
    if (signal !== undefined && !(signal instanceof AbortSignal))
      throw new InvalidArgumentError("options.signal", "an AbortSignal", signal);
    let ids: number[];
    let inputEmbeddings: InputEmbeddingSpan[] | undefined;
    if (isChatRequest(input)) {
      checkKnownKeys(input, EVALUATE_CHAT_KEYS, { path: "request" });
      try {
        ({ tokens: ids, inputEmbeddings } = await this.chatPrompt(
          {
            messages: input.messages,
            tools: input.tools ?? null,
            reasoningEffort: input.reasoningEffort ?? null,
            ...(input.continueFinalMessage !== undefined
              ? { continueFinalMessage: input.continueFinalMessage }
              : {}),
          },
          signal,
        ));
      } catch (error) {
        if (signal?.aborted && (error instanceof AbortError || error instanceof ImageError))
          throw new AbortError("evaluate was aborted");
        throw error;
      }
    } else {
      ids = checkTokenIds("tokens", input, this.engine.vocabSize);
      this.rejectImageTokens(ids, "tokens");
    }
    const { maxContext } = this.engine;
    if (ids.length > maxContext)
      throw new InvalidArgumentError("tokens", `at most ${maxContext} tokens (the context size)`, ids.length);
    if (signal?.aborted) throw new AbortError("evaluate was aborted");

    const handle = this.engine.addEvaluate({
      tokens: ids,
      allPositions: allPositions ?? false,
      startPosition: startPosition ?? 0,
      signal,
      inputEmbeddings,
    });
    let logits: Float32Array | undefined;
    for await (const ev of handle) {
      if (ev.type === "logits") logits = ev.logits;
      else if (ev.type === "finish" && ev.reason === "abort") throw new AbortError("evaluate was aborted");
    }
    if (logits === undefined) throw new Error("Generator: the engine returned no logits");
    return logits;
  }

  private async prompt(
    req: GenerateRequest,
    checked: CheckedRequest,
  ): Promise<{ tokens: number[]; inputEmbeddings?: InputEmbeddingSpan[] | undefined }> {
    const vocab = this.engine.vocabSize;
    if (checked.source === "tokens") {
      const ids = checkTokenIds("tokens", req.tokens!, vocab);
      this.rejectImageTokens(ids, "tokens");
      return { tokens: ids };
    }
    if (checked.source === "prompt")
      return { tokens: [this.tokenizer.bosId, ...this.tokenizer.encode(req.prompt!)] };
    return this.chatPrompt(
      {
        messages: req.messages!,
        tools: req.tools ?? null,
        reasoningEffort: req.reasoningEffort ?? null,
        ...(req.continueFinalMessage !== undefined ? { continueFinalMessage: req.continueFinalMessage } : {}),
      },
      checked.signal,
    );
  }

  /** A chat's prompt tokens and, for its images, the input embeddings of their `[IMG]` positions. */
  private async chatPrompt(
    request: ChatRequest,
    signal: AbortSignal | undefined,
  ): Promise<{ tokens: number[]; inputEmbeddings?: InputEmbeddingSpan[] | undefined }> {
    const fetched = this.images === undefined ? undefined : await this.images.fetch(request.messages, signal);
    const rendered = this.renderChat(request, fetched);
    if (rendered.images.length === 0) return { tokens: [...rendered.tokens] };
    if (this.images === undefined) throw noVisionTower(rendered.images.length);
    return {
      tokens: [...rendered.tokens],
      inputEmbeddings: await this.images.spans(rendered.images, signal),
    };
  }

  /**
   * Image placeholders in token ids mean nothing without their features, which only image parts of a chat request
   * carry.
   */
  private rejectImageTokens(ids: readonly number[], argument: string): void {
    const imageIds = ["[IMG]", "[IMG_BREAK]", "[IMG_END]"]
      .map((s) => this.tokenizer.findSpecialId(s))
      .filter((id) => id !== undefined);
    const at = ids.findIndex((id) => imageIds.includes(id));
    if (at >= 0)
      throw new InvalidArgumentError(
        `${argument}[${at}]`,
        "no image token ids (an image's features come from an image part of a chat request: messages)",
        this.tokenizer.specialString(ids[at]!),
      );
  }

  /**
   * Whether a continued message ends inside an open `[THINK]` block (the answer then starts as reasoning).
   * Refuses what the continuation cannot honour: a message ending in a tool call (its continuation would be
   * arguments), and a reasoning budget for an already open block.
   */
  private continuesReasoning(prompt: readonly number[], checked: CheckedRequest): boolean {
    const part = continuedPart(prompt, this.tokenizer);
    if (part === "tool_call")
      throw new InvalidArgumentError(
        "continueFinalMessage",
        "a final assistant message that does not end in a tool call (its continuation would be arguments)",
        true,
      );
    if (part === "reasoning" && checked.maxReasoningTokens !== undefined)
      throw new InvalidArgumentError(
        "maxReasoningTokens",
        "no reasoning budget when the continued message ends in an open thinking part",
        checked.maxReasoningTokens,
      );
    return part === "reasoning";
  }

  /**
   * The request's TokenConstraint: a grammar for responseFormat / forced tool calls, `[TOOL_CALLS]` masked
   * out for toolChoice "none", and the reasoning budget. Undefined when nothing restricts sampling.
   */
  private constraint(
    req: GenerateRequest,
    checked: CheckedRequest,
    maxTokens: number,
  ): { constraint: TokenConstraint | undefined; grammar: Grammar | null } {
    const forced = checked.toolChoice.type === "required" || checked.toolChoice.type === "function";
    // Under plain "auto" / "none" tools only go into the prompt (their shape is checked with the request).
    const needsGrammar = checked.responseFormat.type !== "text" || forced;
    const { forbidToolCalls } = checked;
    if (!needsGrammar && checked.maxReasoningTokens === undefined) {
      const toolCallsId = forbidToolCalls ? this.tokenizer.findSpecialId("[TOOL_CALLS]") : undefined;
      const constraint =
        toolCallsId === undefined
          ? undefined
          : new ForbiddenTokenConstraint(this.engine.vocabSize, toolCallsId);
      return { constraint, grammar: null };
    }
    const table = this.table();
    const grammar = needsGrammar
      ? buildGrammar(table, {
          responseFormat: checked.responseFormat,
          tools: checked.tools,
          toolChoice: checked.toolChoice,
        })
      : null;
    if (grammar === null && !forbidToolCalls && checked.maxReasoningTokens === undefined)
      return { constraint: undefined, grammar };
    const thinking: ThinkingMode = req.reasoningEffort === "high" ? this.grammarThinking : "forbidden";
    const constraint = new DecodingConstraint({
      table,
      grammar,
      maxTokens,
      thinking,
      maxReasoningTokens: checked.maxReasoningTokens,
      forbidToolCalls,
    });
    return { constraint, grammar };
  }

  private table(): TokenTable {
    const table = tokenTableFor(this.tokenizer);
    if (table.words !== maskWords(this.engine.vocabSize)) {
      throw new InvalidArgumentError(
        "tokenizer",
        `a vocabulary of ${this.engine.vocabSize} tokens (the model's) for constrained decoding`,
        table.vocabSize,
      );
    }
    return table;
  }

  private maxTokens(promptLength: number, requested: number | undefined, source: string): number {
    const { maxContext } = this.engine;
    const room = maxContext - promptLength;
    if (room < 1) {
      throw new InvalidArgumentError(
        source,
        `a prompt shorter than the context of ${maxContext} tokens (at least one token must be left to generate)`,
        `${promptLength} prompt tokens`,
      );
    }
    if (requested !== undefined) {
      if (requested > room) {
        throw new InvalidArgumentError(
          "maxTokens",
          `at most ${room} (the context of ${maxContext} tokens minus the ${promptLength}-token prompt)`,
          requested,
        );
      }
      return requested;
    }
    // The KV pool holds prompt + maxTokens - 1 entries at most (the last token is never run).
    const poolRoom = this.engine.kvCapacity - promptLength + 1;
    return Math.max(1, Math.min(this.defaultMaxTokens, room, poolRoom));
  }

  private logprobEntry(ev: Extract<EngineEvent, { type: "token" }>): TokenLogprob {
    return {
      token: this.tokenText(ev.id),
      id: ev.id,
      logprob: ev.logprob,
      top: ev.top.map((t) => ({ token: this.tokenText(t.id), id: t.id, logprob: t.logprob })),
    };
  }

  private tokenText(id: number): string {
    return this.tokenizer.decode([id], { specialTokens: "keep" });
  }
}

const EVALUATE_CHAT_KEYS = ["messages", "tools", "reasoningEffort", "continueFinalMessage"];

function isChatRequest(input: unknown): input is EvaluateChatRequest {
  return (
    input !== null &&
    typeof input === "object" &&
    !Array.isArray(input) &&
    !ArrayBuffer.isView(input) &&
    "messages" in input
  );
}

/** The result of a request aborted before it reached the engine (while its images were fetched or encoded). */
function abortedResult(): GenerateResult {
  return {
    text: "",
    reasoning: "",
    toolCalls: [],
    invalidToolCalls: [],
    finishReason: "abort",
    usage: { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 },
    tokens: [],
  };
}
