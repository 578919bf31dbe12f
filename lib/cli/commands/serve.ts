/**
 * `ms4 serve`: the OpenAI-compatible server (lib/server) on a loaded model. Binds to 127.0.0.1 unless told
 * otherwise. SIGINT / SIGTERM shut it down gracefully: no new connections, requests in flight get
 * --shutdown-timeout seconds to finish and are then aborted, the model is disposed; a second signal aborts
 * at once.
 */

import { basename } from "node:path";
import { parseArgs } from "node:util";
import { createServer } from "../../server/server";
import { intOption, listOption, numberOption, sizeOption } from "../args";
import type { Command } from "../command";
import { loadModelWithProgress, TINY_MODEL_NOTE } from "../load-model";

export const serveCommand: Command = {
  name: "serve",
  summary: "an OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions, /v1/models, ...)",
  help: `Usage: ms4 serve [--model DIR] [--host 127.0.0.1] [--port 8000] [--api-key KEY]
                 [--served-model-name NAME] [options]

Serves the model over the OpenAI API as vLLM serves it: /v1/models, /v1/chat/completions,
/v1/completions, /tokenize, /detokenize, /health, /version, /metrics. Point any OpenAI client at
http://HOST:PORT/v1. SIGINT / SIGTERM shut down gracefully.

Options:
  --model DIR                    checkpoint folder (default: the built-in tiny model, random weights)
  --host HOST                    interface to bind (default 127.0.0.1, this machine only; 0.0.0.0: all)
  --port N                       port (default 8000; 0: any free port)
  --api-key KEY                  require "Authorization: Bearer KEY" (or set MS4_API_KEY)
  --served-model-name NAME       the model name clients send (repeat or comma-separate for aliases;
                                 default: the checkpoint folder's name)
  --max-body-size SIZE           largest request body (default 8M; data-URL images count)
  --max-concurrent-requests N    requests generating at once (default 64)
  --max-queued-requests N        requests waiting beyond that before 429s (default 256)
  --request-timeout S            abort a request after S seconds (default 600; 0: never)
  --shutdown-timeout S           on SIGINT/SIGTERM, seconds in-flight requests get to finish (default 30)
  --max-choices N                largest n per request (default 16)

Images by URL (data: URLs always work):
  --no-remote-media              do not fetch http(s) image URLs
  --allowed-media-domains LIST   fetch only from these hostnames (comma-separated)
  --media-timeout S              time limit of one image fetch (default 10)
  --max-media-size SIZE          largest fetched image (default 20M)
  --max-images N                 image parts per request, data: URLs included (default 10)
  --allowed-origins LIST         browser origins allowed cross-origin (comma-separated, or "*")

Model loading:
  --threads N  --max-context N  --max-batch-size N  --kv-cache-memory SIZE`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "api-key": { type: "string" },
        "served-model-name": { type: "string", multiple: true },
        "max-body-size": { type: "string" },
        "max-concurrent-requests": { type: "string" },
        "max-queued-requests": { type: "string" },
        "request-timeout": { type: "string" },
        "shutdown-timeout": { type: "string" },
        "max-choices": { type: "string" },
        "no-remote-media": { type: "boolean", default: false },
        "allowed-media-domains": { type: "string", multiple: true },
        "media-timeout": { type: "string" },
        "max-media-size": { type: "string" },
        "max-images": { type: "string" },
        "allowed-origins": { type: "string", multiple: true },
        threads: { type: "string" },
        "max-context": { type: "string" },
        "max-batch-size": { type: "string" },
        "kv-cache-memory": { type: "string" },
      },
    });
    const seconds = (name: string) => {
      const s = numberOption(values[name as keyof typeof values] as string | undefined, name);
      return s === undefined ? undefined : Math.round(s * 1000);
    };
    const names = listOption(values["served-model-name"]);
    const serverOptions = {
      host: values.host ?? "127.0.0.1",
      port: intOption(values.port, "port") ?? 8000,
      apiKey: values["api-key"] ?? (process.env.MS4_API_KEY || undefined),
      maxBodyBytes: sizeOption(values["max-body-size"], "max-body-size"),
      maxConcurrentRequests: intOption(values["max-concurrent-requests"], "max-concurrent-requests", 1),
      maxQueuedRequests: intOption(values["max-queued-requests"], "max-queued-requests"),
      requestTimeoutMs: seconds("request-timeout"),
      maxChoices: intOption(values["max-choices"], "max-choices", 1),
      allowedOrigins: listOption(values["allowed-origins"]),
      media: {
        remote: !values["no-remote-media"],
        allowedDomains: listOption(values["allowed-media-domains"]),
        timeoutMs: seconds("media-timeout"),
        maxBytes: sizeOption(values["max-media-size"], "max-media-size"),
        maxImages: intOption(values["max-images"], "max-images"),
      },
    };
    const graceMs = seconds("shutdown-timeout") ?? 30_000;
    const loadOptions = {
      threads: intOption(values.threads, "threads", 1),
      maxContext: intOption(values["max-context"], "max-context", 1),
      maxBatchSize: intOption(values["max-batch-size"], "max-batch-size", 1),
      kvCacheMemory: sizeOption(values["kv-cache-memory"], "kv-cache-memory"),
    };

    const model = await loadModelWithProgress(values.model, loadOptions);
    if (values.model === undefined) console.error(TINY_MODEL_NOTE);
    const servedModelNames =
      names.length > 0 ? names : [values.model === undefined ? "ms4-tiny" : basename(model.dir)];
    const server = createServer(model, { ...serverOptions, servedModelNames });
    let url: string;
    try {
      ({ url } = await server.listen());
    } catch (error) {
      await model.dispose();
      throw error;
    }
    console.log(`ms4 serve: listening on ${url} (model "${servedModelNames[0]}"; OpenAI base URL ${url}/v1)`);
    if (!["127.0.0.1", "localhost", "::1"].includes(serverOptions.host) && serverOptions.apiKey === undefined)
      console.error("ms4 serve: warning: listening beyond this machine without an API key (--api-key)");

    let stopping = false;
    const stopped = new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          console.error(`ms4 serve: ${signal} again: aborting the requests in flight`);
          void server.handler.close({ graceMs: 0 });
          return;
        }
        stopping = true;
        const busy = server.handler.activeRequests;
        console.error(
          `ms4 serve: ${signal}: shutting down${busy > 0 ? ` (${busy} request(s) in flight get up to ${graceMs / 1000} s; send ${signal} again to abort them)` : ""}`,
        );
        void server
          .close({ graceMs })
          .then(() => model.dispose())
          .finally(() => {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
            resolve();
          });
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    });
    await stopped;
    console.error("ms4 serve: stopped");
    return 0;
  },
};
