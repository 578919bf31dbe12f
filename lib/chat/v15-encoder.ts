/**
 * The v15 instruct prompt (docs/model.md#prompt-layout), token for token as mistral-common's
 * `InstructTokenizerV15.encode_instruct` lays it out (`tokens/tokenizers/instruct.py`):
 *
 *   <s> [SYSTEM_PROMPT]…[/SYSTEM_PROMPT] (in place)
 *   [AVAILABLE_TOOLS]json[/AVAILABLE_TOOLS][MODEL_SETTINGS]json[/MODEL_SETTINGS] (before the first user turn)
 *   [INST]…[/INST]  [THINK]…[/THINK]text[TOOL_CALLS]name[ARGS]json…</s>  [TOOL_RESULTS]…[/TOOL_RESULTS]
 *
 * Each text piece (a merged text part, a reasoning, a tool name, a JSON document) is encoded on its
 * own with `tokenizer.encode`, so special-token strings typed by users stay plain text.
 */

import { ChatFormatError, ImageError } from "../errors";
import type { Tokenizer, TokenizerImageConfig } from "../tokenizer/types";
import { imageTokenGrid, imageTokenIds } from "./image-tokens";
import {
  type Chunk,
  type Content,
  isEmptyContent,
  type Message,
  type ToolCallEntry,
  type ToolDefinition,
} from "./messages";
import { buildModelSettings, modelSettingsJson } from "./model-settings";
import { normalizeMessages } from "./normalize";
import { parseChatRequest } from "./parse-request";
import { pythonJsonDumps } from "./python-json";
import { tryParsePythonJson } from "./python-json-parse";
import type { ChatRequest, ImagePlacement, PromptImage, RenderChatOptions, RenderedChat } from "./types";
import { validateChatRequest } from "./validate";

const OLDEST_SUPPORTED_VERSION = 13;
const MODEL_SETTINGS_VERSION = 15;

/** Renders a chat request into the exact prompt the model sees, refusing what mistral-common refuses. */
export function renderChat(
  tokenizer: Tokenizer,
  request: ChatRequest,
  options: RenderChatOptions = {},
): RenderedChat {
  const version = tokenizerVersionNumber(tokenizer.version);
  const parsed = parseChatRequest(request, options);
  const prependSystem =
    options.defaultSystemPrompt !== undefined && !parsed.messages.some((m) => m.role === "system");
  const messages = prependSystem
    ? [{ role: "system" as const, content: options.defaultSystemPrompt ?? "" }, ...parsed.messages]
    : parsed.messages;
  validateChatRequest({ ...parsed, messages }, prependSystem ? 1 : 0);
  const settings =
    version >= MODEL_SETTINGS_VERSION
      ? buildModelSettings(tokenizer.modelSettings, { reasoning_effort: parsed.reasoningEffort })
      : {};
  const prompt = new PromptWriter(tokenizer, options.imageConfig ?? tokenizer.image);
  prompt.special("<s>");
  const normalized = normalizeMessages(messages);
  const firstUser = normalized.findIndex((m) => m.role === "user");
  normalized.forEach((message, i) => {
    if (i === firstUser) prompt.toolsAndSettings(parsed.tools, modelSettingsJson(settings));
    // continueFinalMessage, or Mistral's `prefix` on the final assistant message: no `</s>` after it.
    const continueThis =
      i === normalized.length - 1 &&
      (parsed.continueFinalMessage || (message.role === "assistant" && message.prefix));
    prompt.message(message, continueThis);
  });
  return {
    tokens: prompt.tokens,
    text: tokenizer.decode(prompt.tokens, { specialTokens: "keep" }),
    images: prompt.images,
  };
}

function tokenizerVersionNumber(version: string): number {
  const n = Number(/^v(\d+)$/.exec(version)?.[1]);
  if (!(n >= OLDEST_SUPPORTED_VERSION)) {
    throw new ChatFormatError(`the chat encoder renders tokenizer versions v13 and later, not ${version}`);
  }
  return n;
}

/** The JSON mistral-common writes after `[ARGS]`: parsed and re-dumped, or the raw text as a JSON string. */
export function toolCallArgumentsJson(args: ToolCallEntry["arguments"]): string {
  if (args === null || args === "") return "{}";
  if (typeof args !== "string") return pythonJsonDumps(args);
  const parsed = tryParsePythonJson(args);
  return pythonJsonDumps(parsed === undefined ? args : parsed.value);
}

/** `[tool.model_dump(exclude={"function": {"strict"}}) for tool in tools]` dumped with ensure_ascii=False. */
export function availableToolsJson(tools: readonly ToolDefinition[]): string {
  return pythonJsonDumps(
    tools.map((t) => ({
      type: "function",
      function: { name: t.name, description: t.description, parameters: t.parameters },
    })),
  );
}

class PromptWriter {
  readonly tokens: number[] = [];
  readonly images: ImagePlacement[] = [];

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly imageConfig: TokenizerImageConfig | undefined,
  ) {}

  special(tokenStr: string): void {
    this.tokens.push(this.tokenizer.specialId(tokenStr));
  }

  text(text: string): void {
    for (const id of this.tokenizer.encode(text)) this.tokens.push(id);
  }

  toolsAndSettings(tools: readonly ToolDefinition[], settingsJson: string | undefined): void {
    if (tools.length > 0) {
      this.special("[AVAILABLE_TOOLS]");
      this.text(availableToolsJson(tools));
      this.special("[/AVAILABLE_TOOLS]");
    }
    if (settingsJson !== undefined) {
      this.special("[MODEL_SETTINGS]");
      this.text(settingsJson);
      this.special("[/MODEL_SETTINGS]");
    }
  }

  message(message: Message, continueThis: boolean): void {
    switch (message.role) {
      case "system":
        this.special("[SYSTEM_PROMPT]");
        this.content(message.content);
        this.special("[/SYSTEM_PROMPT]");
        return;
      case "user":
        this.special("[INST]");
        this.content(typeof message.content === "string" ? message.content : imageFirst(message.content));
        this.special("[/INST]");
        return;
      case "tool":
        this.special("[TOOL_RESULTS]");
        this.content(message.content);
        this.special("[/TOOL_RESULTS]");
        return;
      case "assistant":
        this.assistant(message.content, message.toolCalls ?? [], continueThis);
        return;
    }
  }

  private assistant(
    content: Content | null,
    toolCalls: readonly ToolCallEntry[],
    continueThis: boolean,
  ): void {
    if (isEmptyContent(content) && toolCalls.length === 0) {
      // Reached when only empty text parts were given: merged away, they leave nothing to render.
      throw new ChatFormatError("an assistant message needs content, reasoning or tool calls");
    }
    if (typeof content === "string" && content.length > 0) {
      // `_encode_normal_content_assistant_message`: trailing spaces of string content are dropped.
      this.text(content.replace(/ +$/, ""));
    } else if (Array.isArray(content)) {
      this.content(content);
    }
    for (const call of toolCalls) {
      this.special("[TOOL_CALLS]");
      this.text(call.name);
      this.special("[ARGS]");
      this.text(toolCallArgumentsJson(call.arguments));
    }
    if (!continueThis) this.special("</s>");
  }

  private content(content: Content): void {
    if (typeof content === "string") {
      this.text(content);
      return;
    }
    for (const chunk of content) this.chunk(chunk);
  }

  private chunk(chunk: Chunk): void {
    switch (chunk.kind) {
      case "text":
        this.text(chunk.text);
        return;
      case "think":
        this.special("[THINK]");
        this.text(chunk.thinking);
        if (chunk.closed) this.special("[/THINK]");
        return;
      case "image":
        this.image(chunk.image);
        return;
    }
  }

  private image(image: PromptImage): void {
    const config = this.imageConfig;
    if (config === undefined) {
      throw new ChatFormatError("the request has an image but this tokenizer has no image configuration");
    }
    const { width, height } = image;
    const grid = imageTokenGrid(width, height, config);
    if (grid.columns < 1 || grid.rows < 1) {
      const message = `image ${width}x${height} has no pixels left on one side once scaled to fit ${config.maxImageSize}`;
      if (image.file === undefined) throw new ChatFormatError(message);
      throw new ImageError("empty", message, image);
    }
    const ids = imageTokenIds(grid, {
      img: this.tokenizer.specialId("[IMG]"),
      imgBreak: this.tokenizer.specialId("[IMG_BREAK]"),
      imgEnd: this.tokenizer.specialId("[IMG_END]"),
    });
    this.images.push({
      tokenOffset: this.tokens.length,
      tokenCount: ids.length,
      width,
      height,
      ...grid,
      image,
    });
    for (const id of ids) this.tokens.push(id);
  }
}

/** `_maybe_put_image_first`: user content of text parts followed by one image puts the image first. */
function imageFirst(chunks: readonly Chunk[]): readonly Chunk[] {
  const last = chunks[chunks.length - 1];
  if (chunks.length >= 2 && last?.kind === "image" && chunks.slice(0, -1).every((c) => c.kind === "text")) {
    return [last, ...chunks.slice(0, -1)];
  }
  return chunks;
}
