/**
 * Runs inside a worker_thread: loads the checkpoint it is sent and streams one generation, posting
 * { type: "token" } per event and { type: "done", tokens } at the end.
 */
import { parentPort } from "node:worker_threads";
import { Model } from "mistral4-runtime";

interface Job {
  dir: string;
  /** Given when the library cannot find its addon by itself (a bundle that inlines it). */
  addonPath?: string;
  maxTokens: number;
}

const port = parentPort;
if (!port) throw new Error("worker-generate runs in a worker_thread");
port.once("message", async (job: Job) => {
  const model = await Model.load(job.dir, {
    maxContext: 4096,
    ...(job.addonPath ? { addonPath: job.addonPath } : {}),
  });
  let tokens = 0;
  for await (const event of model.stream({ prompt: "Bonjour", maxTokens: job.maxTokens, temperature: 0 })) {
    if (event.type === "done") tokens = event.result.tokens.length;
    else port.postMessage({ type: "token" });
  }
  await model.dispose();
  port.postMessage({ type: "done", tokens });
});
