// The model behind a message channel. main.mjs starts this file in an Electron utility process
// (utilityProcess.fork: messages arrive on process.parentPort); node-check.mjs starts it with
// child_process.fork (messages on process itself). Nothing here depends on Electron.
//
// Requests:  { type: "load", dir?, addonPath? }            -> { type: "loaded", kernelPath, addon }
//            { type: "generate", id, messages, maxTokens } -> { type: "event", id, event }* then { type: "done", id, result }
//            { type: "abort", id }                         -> the generation ends with finishReason "abort"
//            { type: "dispose" }                           -> { type: "disposed" }, then the process exits
// Failures:  { type: "error", id?, error: { name, code, message } }
import { Model, systemInfo } from "mistral4-runtime";

/** Electron's utility process or a Node.js child with an IPC channel: one send / onMessage pair. */
function parentChannel() {
  if (process.parentPort) {
    return {
      send: (message) => process.parentPort.postMessage(message),
      onMessage: (handler) => process.parentPort.on("message", (event) => handler(event.data)),
    };
  }
  if (process.send) {
    return {
      send: (message) => process.send(message),
      onMessage: (handler) => process.on("message", handler),
    };
  }
  throw new Error("model-host.mjs runs as a child process: utilityProcess.fork or child_process.fork");
}

const channel = parentChannel();
const running = new Map();
let model;

function reportError(error, id) {
  channel.send({ type: "error", id, error: { name: error.name, code: error.code, message: error.message } });
}

async function load({ dir, addonPath }) {
  // No folder: the built-in tiny model (random weights) from MS4_CACHE_DIR, which main.mjs points at userData.
  model = await Model.load(dir, addonPath ? { addonPath } : {});
  channel.send({ type: "loaded", kernelPath: model.kernelPath, addon: systemInfo().addon });
}

async function generate({ id, messages, maxTokens }) {
  const controller = new AbortController();
  running.set(id, controller);
  try {
    for await (const event of model.stream({ messages, maxTokens, signal: controller.signal })) {
      if (event.type === "done") {
        const { text, reasoning, finishReason, usage } = event.result;
        channel.send({ type: "done", id, result: { text, reasoning, finishReason, usage } });
      } else {
        channel.send({ type: "event", id, event });
      }
    }
  } finally {
    running.delete(id);
  }
}

channel.onMessage((message) => {
  const run = async () => {
    switch (message.type) {
      case "load":
        return load(message);
      case "generate":
        return generate(message);
      case "abort":
        return running.get(message.id)?.abort();
      case "dispose":
        for (const controller of running.values()) controller.abort();
        await model?.dispose();
        channel.send({ type: "disposed" });
        return process.exit(0);
      default:
        throw new Error(`unknown request ${JSON.stringify(message.type)}`);
    }
  };
  run().catch((error) => reportError(error, message.id));
});
