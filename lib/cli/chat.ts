/**
 * `ms4 chat`: a one-shot answer (`ms4 chat "PROMPT"`) or an interactive conversation, streamed as it is
 * generated, with the conversation kept as history. Reasoning is shown dimmed; tool calls are printed as
 * JSON. Interactive commands: /reset, /system TEXT, /image FILE, /help, /exit. Ctrl-C stops the answer being
 * written (a second one, or one at the prompt, leaves).
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import type { ChatMessage, ContentPart } from "../chat/types";
import type { GenerateRequest, GenerateResult } from "../generation/types";
import type { Model } from "../model/model";

export interface ChatOptions {
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  reasoningEffort?: "none" | "high";
  system?: string;
  /** Image files attached to the prompt, or to the first message of the interactive chat. */
  images?: readonly string[];
}

export interface ChatIO {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** Errors and notes. */
  readonly errors: NodeJS.WritableStream;
  /** ANSI dimming for reasoning (on a terminal). */
  readonly color: boolean;
}

export const CHAT_COMMANDS_HELP = `Commands:
  /reset          forget the conversation (the system prompt stays)
  /system TEXT    set the system prompt (empty: none) and start over
  /image FILE     attach an image file to your next message
  /help           this list
  /exit           leave (also Ctrl-D)`;

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".bmp": "image/bmp",
};

/** The conversation: history, system prompt and images waiting for the next message. */
export class ChatSession {
  history: ChatMessage[] = [];
  pendingImages: ContentPart[] = [];

  constructor(public system: string | undefined) {}

  /** The messages for a new user turn (not yet in the history). */
  turn(text: string): ChatMessage[] {
    const content: string | ContentPart[] =
      this.pendingImages.length === 0 ? text : [...this.pendingImages, { type: "text", text }];
    const system: ChatMessage[] = this.system ? [{ role: "system", content: this.system }] : [];
    return [...system, ...this.history, { role: "user", content }];
  }

  /** Keeps a finished turn: the user's message and the answer. */
  commit(userMessage: ChatMessage, result: GenerateResult): void {
    this.pendingImages = [];
    this.history.push(userMessage, {
      role: "assistant",
      content: result.text,
      ...(result.reasoning !== "" ? { reasoning: result.reasoning } : {}),
      ...(result.toolCalls.length > 0
        ? {
            tool_calls: result.toolCalls.map((c) => ({
              id: c.id,
              type: "function" as const,
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : {}),
    });
  }

  /** Attaches an image file to the next message; says what happened. */
  attachImage(path: string): { error: boolean; message: string } {
    const type = IMAGE_TYPES[extname(path).toLowerCase()];
    if (type === undefined) {
      return {
        error: true,
        message: `not an image file this chat knows (${Object.keys(IMAGE_TYPES).join(", ")}): ${path}`,
      };
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      return { error: true, message: `cannot read ${path}: ${(error as Error).message}` };
    }
    this.pendingImages.push({
      type: "image_url",
      image_url: { url: `data:${type};base64,${bytes.toString("base64")}` },
    });
    return { error: false, message: `(image attached to your next message: ${path}, ${bytes.length} bytes)` };
  }

  /** Runs a /command; returns what to print, or "exit". */
  command(line: string): string | "exit" {
    const [name = "", ...rest] = line.trim().split(/\s+/);
    const arg = line.trim().slice(name.length).trim();
    switch (name) {
      case "/exit":
      case "/quit":
        return "exit";
      case "/reset":
        this.history = [];
        this.pendingImages = [];
        return "(conversation cleared)";
      case "/system":
        this.system = arg === "" ? undefined : arg;
        this.history = [];
        return this.system === undefined
          ? "(no system prompt; conversation cleared)"
          : "(system prompt set; conversation cleared)";
      case "/image":
        return rest.length === 0 ? "usage: /image FILE" : this.attachImage(arg).message;
      case "/help":
        return CHAT_COMMANDS_HELP;
      default:
        return `unknown command ${name}; /help lists them`;
    }
  }
}

/** Streams one answer to `io.output`; resolves with the result. */
export async function streamAnswer(
  model: Model,
  messages: ChatMessage[],
  options: ChatOptions,
  io: ChatIO,
  signal: AbortSignal,
): Promise<GenerateResult> {
  const dim = io.color ? "\x1b[2m" : "";
  const reset = io.color ? "\x1b[0m" : "";
  const request: GenerateRequest = {
    messages,
    maxTokens: options.maxTokens,
    temperature: options.temperature,
    seed: options.seed,
    reasoningEffort: options.reasoningEffort,
    signal,
  };
  let inReasoning = false;
  let result: GenerateResult | undefined;
  for await (const ev of model.stream(request)) {
    if (ev.type === "reasoning") {
      if (!inReasoning) io.output.write(dim);
      inReasoning = true;
      io.output.write(ev.delta);
    } else if (ev.type === "text") {
      if (inReasoning) io.output.write(`${reset}\n`);
      inReasoning = false;
      io.output.write(ev.delta);
    } else if (ev.type === "done") {
      result = ev.result;
    }
  }
  if (inReasoning) io.output.write(reset);
  if (!result) throw new Error("the stream ended without a result");
  for (const call of result.toolCalls) io.output.write(`\n[tool call] ${JSON.stringify(call)}`);
  io.output.write("\n");
  return result;
}

export async function runChat(
  model: Model,
  prompt: string | undefined,
  options: ChatOptions,
  note: string | undefined,
  io: ChatIO,
): Promise<void> {
  const dim = io.color ? "\x1b[2m" : "";
  const reset = io.color ? "\x1b[0m" : "";
  if (note) io.errors.write(`${note}\n`);
  const session = new ChatSession(options.system);
  // --image files go to the library as path parts: it reads and checks them (typed errors naming the part).
  for (const path of options.images ?? []) session.pendingImages.push({ type: "image", path });
  if (prompt !== undefined) {
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.on("SIGINT", onSigint);
    try {
      const r = await streamAnswer(model, session.turn(prompt), options, io, controller.signal);
      io.errors.write(
        `${dim}[${r.finishReason}; ${r.usage.promptTokens} prompt + ${r.usage.completionTokens} completion tokens]${reset}\n`,
      );
    } finally {
      process.off("SIGINT", onSigint);
    }
    return;
  }
  await interactive(model, session, options, io);
}

async function interactive(
  model: Model,
  session: ChatSession,
  options: ChatOptions,
  io: ChatIO,
): Promise<void> {
  const rl = createInterface({ input: io.input, output: io.output, terminal: io.color, historySize: 200 });
  let answering: AbortController | undefined;
  const onSigint = () => {
    if (answering && !answering.signal.aborted) answering.abort();
    else rl.close();
  };
  rl.on("SIGINT", onSigint);
  process.on("SIGINT", onSigint);
  io.errors.write(`Type a message, or /help for commands.\n`);
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      rl.setPrompt("> ");
      rl.prompt();
      const next = await lines.next();
      if (next.done) break;
      const line: string = next.value;
      if (line.trim() === "") continue;
      if (line.trim().startsWith("/")) {
        const said = session.command(line);
        if (said === "exit") break;
        io.output.write(`${said}\n`);
        continue;
      }
      const messages = session.turn(line);
      answering = new AbortController();
      try {
        const result = await streamAnswer(model, messages, options, io, answering.signal);
        session.commit(messages[messages.length - 1]!, result);
      } catch (error) {
        io.errors.write(`error: ${(error as Error).message}\n`);
        session.pendingImages = [];
      } finally {
        answering = undefined;
      }
    }
  } finally {
    process.off("SIGINT", onSigint);
    rl.close();
  }
}
