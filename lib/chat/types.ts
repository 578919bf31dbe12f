import type { ImageLocation } from "../errors";
import type { ImageRef, LoadedImage } from "../image/sources";
import type { TokenizerImageConfig } from "../tokenizer/types";

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
 * An image by URL, as OpenAI sends it: a `data:image/…;base64,` URL, or an `http(s)` URL (fetched only when the model
 * was loaded with an `imageFetch` policy). PNG, JPEG, WebP or GIF (first frame). Never a local file (`file:` URLs
 * are refused), so a server may pass these parts through from its clients.
 */
export interface ImageUrlPart {
  readonly type: "image_url";
  readonly image_url: { readonly url: string; readonly detail?: string } | string;
}

/** An image file's bytes (PNG, JPEG, WebP or GIF), e.g. a Buffer read by the caller. */
export interface ImageBytesPart {
  readonly type: "image";
  readonly image: Uint8Array;
}

/** An image file on disk (a path, relative to the working directory or absolute): a form for programs. */
export interface ImagePathPart {
  readonly type: "image";
  readonly path: string;
}

/**
 * An image known only by its pixel size: enough to lay out the `[IMG]` grid (renderChat, e.g. to count tokens), not
 * to generate from.
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

export type ContentPart =
  | TextPart
  | ImageUrlPart
  | ImageBytesPart
  | ImagePathPart
  | ImageSizePart
  | ThinkingPart;

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
  /** Gives the pixel size of an `image_url` part instead of reading the image (layout only: no pixels). */
  readonly resolveImageSize?: ((url: string) => ImageSize) | undefined;
  /**
   * Reads and checks an image part's file (header only; decoding comes later). Default: loadImage of
   * lib/image/sources.ts with its default limits and no http(s) fetching.
   */
  readonly loadImage?: ((ref: ImageRef, where: ImageLocation) => LoadedImage) | undefined;
  /** The image grid settings (default: the tokenizer's `image` block). */
  readonly imageConfig?: TokenizerImageConfig | undefined;
}

/** An image of the request as the prompt holds it. */
export interface PromptImage {
  readonly width: number;
  readonly height: number;
  /** The image's message and content part in the request. */
  readonly messageIndex: number;
  readonly partIndex: number;
  /** The checked image file; absent when the part gave only a size. */
  readonly file?: LoadedImage | undefined;
}

/** Where an image's tokens sit in the rendered prompt. */
export interface ImagePlacement {
  /** Index of the first token of the image's run (an `[IMG]`). */
  readonly tokenOffset: number;
  /** Number of tokens in the run, breaks and `[IMG_END]` included. */
  readonly tokenCount: number;
  /** The image's pixel size. */
  readonly width: number;
  readonly height: number;
  /** Grid of `[IMG]` tokens: columns per row and rows. */
  readonly columns: number;
  readonly rows: number;
  /** The image itself (its file, and where it is in the request). */
  readonly image: PromptImage;
}

export interface RenderedChat {
  readonly tokens: number[];
  /** The prompt with special tokens written as their strings, e.g. "<s>[INST]Hi[/INST]". */
  readonly text: string;
  /** Images in prompt order. */
  readonly images: ImagePlacement[];
}
