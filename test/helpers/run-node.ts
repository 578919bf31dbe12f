/** Runs a Node.js script in a child process and reads back the JSON object it prints last (apps/app-output.ts). */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface NodeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON, or undefined. */
  result: Record<string, unknown> | undefined;
}

export function runNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 60_000,
): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").pop() ?? "";
      let result: Record<string, unknown> | undefined;
      try {
        result = JSON.parse(last) as Record<string, unknown>;
      } catch {
        result = undefined;
      }
      resolve({ code, signal, stdout, stderr, result });
    });
  });
}

/** The addon this checkout built (or MS4_ADDON_PATH when a test run points elsewhere). */
export function builtAddonPath(): string {
  return (
    process.env.MS4_ADDON_PATH ?? fileURLToPath(new URL("../../build/Release/mistral4.node", import.meta.url))
  );
}

/** The environment of a child that must find its addon by itself: no MS4_ADDON_PATH. */
export function envWithoutAddonPath(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.MS4_ADDON_PATH;
  return env;
}
