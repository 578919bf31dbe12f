/** The `ms4` command line: dispatches to one command per file in commands/, prints usage and errors. */
import { Ms4Error } from "../errors";
import { builtinModelDir } from "../model/builtin-model";
import { UsageError } from "./args";
import type { Command } from "./command";
import { benchCommand } from "./commands/bench";
import { chatCommand } from "./commands/chat";
import { infoCommand } from "./commands/info";
import { inspectCommand } from "./commands/inspect";
import { makeTinyCommand } from "./commands/make-tiny";
import { serveCommand } from "./commands/serve";

const COMMANDS: readonly Command[] = [
  chatCommand,
  serveCommand,
  benchCommand,
  inspectCommand,
  makeTinyCommand,
  infoCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `ms4 — run Mistral Small 4 from Node.js

Usage: ms4 <command> [options]        ms4 <command> --help for its options

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}
  ${"help".padEnd(width)}  this overview, or ms4 help <command>

Without --model, chat, serve and bench use the built-in tiny model (random weights, meaningless text),
generated on first use into ${builtinModelDir()} (set MS4_CACHE_DIR to move it).`;
}

function find(name: string | undefined): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** Runs `ms4 <argv>`; resolves with the exit code (2 for usage errors, 1 for failures). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.log(overview());
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    const topic = find(rest[0]);
    console.log(topic?.help ?? overview());
    return rest[0] === undefined || topic !== undefined ? 0 : 2;
  }
  const command = find(name);
  try {
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(command.help);
      return 0;
    }
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      const help = find((error as UsageError).command ?? command?.name)?.help ?? overview();
      console.error(`ms4: ${(error as Error).message}\n\n${help}`);
      return 2;
    }
    if (error instanceof Ms4Error) {
      console.error(`ms4: ${error.message}`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && /^E[A-Z]+$/.test(code)) {
      // System errors (a port in use, a file that cannot be read) are the environment, not a bug.
      console.error(`ms4: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}
