/** Runs `ms4 ARGS` in-process (lib/cli/main.ts) and captures what it prints on each stream. */
import { vi } from "vitest";
import { main } from "../../lib/cli/main";

export interface CliRun {
  readonly code: number;
  /** console.log lines (each ending in a newline) and process.stdout writes, in order. */
  readonly out: string;
  /** console.error lines (each ending in a newline) and process.stderr writes, in order. */
  readonly err: string;
}

export async function runCli(args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const spies = [
    vi.spyOn(console, "log").mockImplementation((...a) => void out.push(`${a.join(" ")}\n`)),
    vi.spyOn(console, "error").mockImplementation((...a) => void err.push(`${a.join(" ")}\n`)),
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => out.push(String(chunk)) > 0),
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => err.push(String(chunk)) > 0),
  ];
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
