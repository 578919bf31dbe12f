/**
 * OpenAI-style chat request types accepted by the v15 chat encoder (README.md#api).
 * Field names follow the OpenAI chat-completions wire format where one exists (`tool_calls`,
 * `tool_call_id`, `image_url`), so a parsed HTTP body can be passed through unchanged.
 */

/** A text part of message content. */
export interface TextPart {
  readonly type: "text";
  readonly text: string;
}

/**
 * An image given by URL (data URL, file path or http URL). The encoder only needs its size: pass
 * `resolveImageSize` in the render options, or convert it to an {@link ImageSizePart} first.
 */
export interface ImageUrlPart {
  readonly type: "image_url";
  readonly image_url: { readonly url: string; readonly detail?: string } | string;
}

/**
 * An image whose pixel size is already known. Pixels are handled by the vision path; the encoder
 * needs only `width` and `height` to lay out the `[IMG]` grid.
 */
export interface ImageSizePart {
  readonly type: "image";
  readonly width: number;
  readonly height: number;
}

/** Reasoning inside assistant content, as mistral-common's ThinkChunk (`closed` defaults to true). */
export interface ThinkingPart {
  readonly type: "thinking";
  readonly thinking: string;
  readonly closed?: boolean;
}

export type ContentPart = TextPart | ImageUrlPart | ImageSizePart | ThinkingPart;

export interface SystemMessage {
  readonly role: "system";
  readonly content: string | readonly ContentPart[];
  /** OpenAI participant name: accepted, not rendered. */
  readonly name?: string | null;
}

export interface UserMessage {
  readonly role: "user";
  readonly content: string | readonly ContentPart[];
  /** OpenAI participant name: accepted, not rendered. */
  readonly name?: string | null;
}

/** A tool call made by the assistant; `arguments` is a JSON string as in OpenAI (an object is accepted too). */
export interface AssistantToolCall {
  readonly id: string;
  readonly type?: "function";
  readonly function: {
    readonly name: string;
    readonly arguments?: string | Readonly<Record<string, unknown>> | null;
  };
}

export interface AssistantMessage {
  readonly role: "assistant";
  readonly content?: string | readonly ContentPart[] | null;
  /** Reasoning text rendered as `[THINK]…[/THINK]` before the content (vLLM's field name). */
  readonly reasoning?: string | null;
  /** Same as `reasoning` (the name SGLang and older vLLM use); if both are given they must be equal. */
  readonly reasoning_content?: string | null;
  readonly tool_calls?: readonly AssistantToolCall[] | null;
  /**
   * Mistral's prefix: this last message is the start of the answer, rendered without `</s>` so the model
   * continues it (as continueFinalMessage; set one or the other).
   */
  readonly prefix?: boolean;
  /** OpenAI participant name: accepted, not rendered. */
  readonly name?: string | null;
  /** Fields an OpenAI response message carries: accepted when empty (null, or [] for annotations). */
  readonly refusal?: null;
  readonly annotations?: readonly never[] | null;
  readonly audio?: null;
  readonly function_call?: null;
}

export interface ToolMessage {
  readonly role: "tool";
  readonly tool_call_id: string;
  readonly content: string | readonly ContentPart[];
  /** Deprecated in the Mistral format; validated when present, never rendered. */
  readonly name?: string | null;
}

export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** An OpenAI function tool. `strict` is accepted and, as in mistral-common, never rendered. */
export interface FunctionTool {
  readonly type: "function";
  readonly function: {
    readonly name: string;
    readonly description?: string | null;
    readonly parameters?: Readonly<Record<string, unknown>> | null;
    readonly strict?: boolean | null;
  };
}

export type ReasoningEffort = "none" | "high";

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly FunctionTool[] | null;
  /** Rendered as `[MODEL_SETTINGS]{"reasoning_effort": …}` when the tokenizer declares the setting. */
  readonly reasoningEffort?: ReasoningEffort | null;
  /** Render the final assistant message without `</s>` so generation continues it (mistral-common's continue_final_message). */
  readonly continueFinalMessage?: boolean;
}

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

export interface RenderChatOptions {
  /** Rendered as a first system message when the request has none (see loadDefaultSystemPrompt). */
  readonly defaultSystemPrompt?: string | undefined;
  /** Gives the pixel size of an `image_url` part; without it `image_url` parts are rejected. */
  readonly resolveImageSize?: ((url: string) => ImageSize) | undefined;
}

/** Where an image's tokens sit in the rendered prompt. */
export interface ImagePlacement {
  /** Index of the first token of the image's run (an `[IMG]`). */
  readonly tokenOffset: number;
  /** Number of tokens in the run, breaks and `[IMG_END]` included. */
  readonly tokenCount: number;
  /** The size the encoder was given. */
  readonly width: number;
  readonly height: number;
  /** Grid of `[IMG]` tokens: columns per row and rows. */
  readonly columns: number;
  readonly rows: number;
}

export interface RenderedChat {
  readonly tokens: number[];
  /** The prompt with special tokens written as their strings, e.g. "<s>[INST]Hi[/INST]". */
  readonly text: string;
  /** Images in prompt order. */
  readonly images: ImagePlacement[];
}
