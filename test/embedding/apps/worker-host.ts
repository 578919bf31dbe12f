/**
 * An application that runs the model in worker_threads (worker-generate.mjs beside it). Arguments:
 * CHECKPOINT_DIR [ADDON_PATH]. First a worker generates to the end; then a second worker is terminated while it is
 * generating, and the process must live on and exit normally. Prints { completedTokens, terminatedAfterTokens,
 * exitCode }.
 */
import { Worker } from "node:worker_threads";
import { printError, printResult } from "./app-output";

function startWorker(dir: string, addonPath: string | undefined, maxTokens: number): Worker {
  const worker = new Worker(new URL("./worker-generate.mjs", import.meta.url));
  worker.postMessage({ dir, addonPath, maxTokens });
  return worker;
}

async function main(): Promise<void> {
  const [dir, addonPath] = process.argv.slice(2);
  if (!dir) throw new Error("usage: worker-host CHECKPOINT_DIR [ADDON_PATH]");

  const first = startWorker(dir, addonPath, 8);
  const completedTokens = await new Promise<number>((resolve, reject) => {
    first.on("message", (m: { type: string; tokens?: number }) => {
      if (m.type === "done") resolve(m.tokens ?? -1);
    });
    first.on("error", reject);
  });
  await first.terminate();

  // Long enough that it is still generating when terminated after its third token.
  const second = startWorker(dir, addonPath, 2000);
  let seen = 0;
  const exitCode = await new Promise<number>((resolve, reject) => {
    second.on("message", (m: { type: string }) => {
      if (m.type === "token" && ++seen === 3) void second.terminate();
    });
    second.on("error", reject);
    second.on("exit", resolve);
  });
  printResult({ completedTokens, terminatedAfterTokens: seen, exitCode });
}

main().catch(printError);
