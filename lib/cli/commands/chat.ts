/** `ms4 chat`: answer a prompt, or chat interactively. */
import { parseArgs } from "node:util";
import { intOption, numberOption, oneOf, UsageError } from "../args";
import { CHAT_COMMANDS_HELP, runChat } from "../chat";
import type { Command } from "../command";
import { loadModelWithProgress, TINY_MODEL_NOTE } from "../load-model";

export const chatCommand: Command = {
  name: "chat",
  summary: "answer PROMPT (streamed), or chat interactively without one",
  help: `Usage: ms4 chat [--model DIR] [PROMPT] [--image FILE]... [--max-tokens N] [--temperature T] [--seed N]
                [--reasoning none|high] [--system TEXT] [--threads N] [--max-image-size N]

Answers PROMPT, streaming the text as it is generated; without PROMPT, starts an interactive chat that
keeps the conversation. Reasoning is shown dimmed on a terminal.

Options:
  --model DIR              checkpoint folder (default: the built-in tiny model, random weights)
  --max-tokens N           most tokens per answer (default: 48 on the tiny model, else up to the context)
  --temperature T          0 = greedy (default 1)
  --seed N                 sampling seed (repeatable answers)
  --reasoning none|high    reasoning effort
  --system TEXT            system prompt
  --threads N              compute threads (default: physical cores)
  --image FILE             attach an image (PNG, JPEG, WebP, GIF) to PROMPT, or to the first message of the
                           interactive chat; repeatable
  --max-image-size N       largest image side in pixels the encoder sees (default: the checkpoint's; smaller
                           means fewer image tokens and a faster answer)

In the interactive chat:
${CHAT_COMMANDS_HELP.replace(/^/gm, "  ")}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: "string" },
        "max-tokens": { type: "string" },
        temperature: { type: "string" },
        seed: { type: "string" },
        reasoning: { type: "string" },
        system: { type: "string" },
        threads: { type: "string" },
        image: { type: "string", multiple: true },
        "max-image-size": { type: "string" },
      },
    });
    if (positionals.length > 1) throw new UsageError("chat takes one prompt (quote it)", "chat");
    const options = {
      maxTokens:
        intOption(values["max-tokens"], "max-tokens", 1) ?? (values.model === undefined ? 48 : undefined),
      temperature: numberOption(values.temperature, "temperature"),
      seed: intOption(values.seed, "seed"),
      reasoningEffort: oneOf(values.reasoning, ["none", "high"] as const, "reasoning"),
      system: values.system,
      images: values.image ?? [],
    };
    const model = await loadModelWithProgress(values.model, {
      threads: intOption(values.threads, "threads", 1),
      maxImageSize: intOption(values["max-image-size"], "max-image-size", 1),
    });
    try {
      await runChat(
        model,
        positionals[0],
        options,
        values.model === undefined ? TINY_MODEL_NOTE : undefined,
        {
          input: process.stdin,
          output: process.stdout,
          errors: process.stderr,
          color: process.stdout.isTTY === true && process.stdin.isTTY === true,
        },
      );
    } finally {
      await model.dispose();
    }
    return 0;
  },
};
