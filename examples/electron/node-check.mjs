// Runs model-host.mjs the way main.mjs does, under plain Node.js: child_process.fork stands in for Electron's
// utilityProcess.fork (the same file, the same messages). Loads the model, streams one answer, aborts a second
// one after its first event, disposes. Prints one JSON line with what happened; exits non-zero on failure.
// Usage: node node-check.mjs [HOST_FILE] [CHECKPOINT_DIR]   (defaults: ./model-host.mjs, the built-in model)
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const hostFile = process.argv[2] ?? fileURLToPath(new URL("./model-host.mjs", import.meta.url));
const dir = process.argv[3];

const host = fork(hostFile, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
const waiters = [];
const events = new Map();
host.on("message", (message) => {
  if (message.type === "event") events.set(message.id, (events.get(message.id) ?? 0) + 1);
  if (message.type === "error") {
    console.error("model host error:", message.error);
    process.exit(1);
  }
  for (const waiter of [...waiters]) {
    if (waiter.match(message)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  }
});
host.on("exit", (code) => {
  if (code !== 0) {
    console.error(`model host exited with ${code}`);
    process.exit(1);
  }
});
const next = (match) => new Promise((resolve) => waiters.push({ match, resolve }));

const messages = [{ role: "user", content: "Bonjour" }];
const loaded = next((m) => m.type === "loaded");
host.send({ type: "load", dir });
const { kernelPath, addon } = await loaded;

const first = next((m) => m.type === "done" && m.id === 1);
host.send({ type: "generate", id: 1, messages, maxTokens: 16 });
const answered = (await first).result;

const firstEvent = next((m) => m.type === "event" && m.id === 2);
const second = next((m) => m.type === "done" && m.id === 2);
host.send({ type: "generate", id: 2, messages, maxTokens: 2000 });
await firstEvent;
host.send({ type: "abort", id: 2 });
const aborted = (await second).result;

const disposed = next((m) => m.type === "disposed");
host.send({ type: "dispose" });
await disposed;

console.log(
  JSON.stringify({
    kernelPath,
    addon,
    answered: { finishReason: answered.finishReason, completionTokens: answered.usage.completionTokens },
    events: events.get(1) ?? 0,
    aborted: { finishReason: aborted.finishReason, completionTokens: aborted.usage.completionTokens },
  }),
);
