/**
 * `ms4 chat`: a one-shot answer (`ms4 chat "PROMPT"`) or an interactive conversation, streamed as it is
 * generated. Reasoning is shown dimmed; tool calls are printed as JSON.
 */
import { createInterface } from "node:readline/promises";
import type { ChatRequest } from "../chat/types";
import type { GenerateRequest, GenerateResult } from "../generation/types";
import type { Model } from "../model/model";

export interface ChatOptions {
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  reasoningEffort?: "none" | "high";
  system?: string;
  /** Image files attached to the prompt (or to the first message of an interactive chat). */
  images?: readonly string[];
}

type Message = ChatRequest["messages"][number];

/** A user message: the text, then the attached images (the chat encoder puts a single image first). */
function userMessage(text: string, images: readonly string[]): Message {
  if (images.length === 0) return { role: "user", content: text };
  return {
    role: "user",
    content: [{ type: "text", text }, ...images.map((path) => ({ type: "image" as const, path }))],
  };
}

const DIM = process.stdout.isTTY ? "\x1b[2m" : "";
const RESET = process.stdout.isTTY ? "\x1b[0m" : "";

async function answer(
  model: Model,
  messages: Message[],
  options: ChatOptions,
  signal: AbortSignal,
): Promise<GenerateResult> {
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
      if (!inReasoning) process.stdout.write(DIM);
      inReasoning = true;
      process.stdout.write(ev.delta);
    } else if (ev.type === "text") {
      if (inReasoning) process.stdout.write(`${RESET}\n`);
      inReasoning = false;
      process.stdout.write(ev.delta);
    } else if (ev.type === "done") {
      result = ev.result;
    }
  }
  if (inReasoning) process.stdout.write(RESET);
  if (!result) throw new Error("the stream ended without a result");
  for (const call of result.toolCalls) process.stdout.write(`\n[tool call] ${JSON.stringify(call)}`);
  process.stdout.write("\n");
  return result;
}

export async function runChat(
  model: Model,
  prompt: string | undefined,
  options: ChatOptions,
  note: string | undefined,
): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on("SIGINT", onSigint);
  try {
    if (note) console.error(note);
    const base: Message[] = options.system ? [{ role: "system", content: options.system }] : [];
    if (prompt !== undefined) {
      const r = await answer(
        model,
        [...base, userMessage(prompt, options.images ?? [])],
        options,
        controller.signal,
      );
      console.error(
        `${DIM}[${r.finishReason}; ${r.usage.promptTokens} prompt + ${r.usage.completionTokens} completion tokens]${RESET}`,
      );
      return;
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const history = [...base];
    try {
      for (;;) {
        let line: string;
        try {
          line = await rl.question("> ");
        } catch {
          break; // stdin closed
        }
        if (line.trim() === "/exit" || line.trim() === "/quit") break;
        if (line.trim() === "") continue;
        const first = !history.some((m) => m.role === "user");
        history.push(userMessage(line, first ? (options.images ?? []) : []));
        const r = await answer(model, history, options, new AbortController().signal);
        history.push({ role: "assistant", content: r.text });
      }
    } finally {
      rl.close();
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
}
