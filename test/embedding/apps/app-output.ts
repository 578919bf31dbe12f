/** What every test application prints as its last line: one JSON object, so tests can read it back. */
import type { Ms4Error } from "mistral4-runtime";

export function printResult(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function printError(error: unknown): void {
  const e = error as Ms4Error;
  printResult({ error: { name: e.name, code: e.code, message: e.message } });
  process.exitCode = 1;
}
