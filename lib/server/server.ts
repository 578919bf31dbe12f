/**
 * createServer: the OpenAI handler on a `node:http` server, bound to loopback unless told otherwise, with a
 * graceful `close()`: stop accepting connections, let requests in flight finish (up to a grace period), then
 * abort the rest and close every connection. The model stays the caller's (`ms4 serve` disposes it after).
 */
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Model } from "../model/model";
import { createOpenAIHandler, type OpenAIHandler } from "./handler";
import type { OpenAIHandlerOptions } from "./options";

export interface ServerOptions extends OpenAIHandlerOptions {
  /** Interface to bind (default "127.0.0.1": only this machine can connect). */
  host?: string;
  /** Port (default 8000; 0 picks a free one). */
  port?: number;
}

export interface Ms4Server {
  readonly http: Server;
  readonly handler: OpenAIHandler;
  /** Starts listening; resolves with the bound address and its base URL (`http://host:port`). */
  listen(): Promise<{ address: AddressInfo; url: string }>;
  /** Graceful shutdown (see the module comment); resolves when every connection is closed. */
  close(options?: { graceMs?: number }): Promise<void>;
}

export function createServer(model: Model, options: ServerOptions = {}): Ms4Server {
  const { host = "127.0.0.1", port = 8000, ...handlerOptions } = options;
  const handler = createOpenAIHandler(model, handlerOptions);
  const http = createHttpServer(handler);
  let closed: Promise<void> | undefined;
  return {
    http,
    handler,
    listen: () =>
      new Promise((resolve, reject) => {
        http.once("error", reject);
        http.listen(port, host, () => {
          http.off("error", reject);
          const address = http.address() as AddressInfo;
          const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
          resolve({ address, url: `http://${shown}:${address.port}` });
        });
      }),
    close: (closeOptions = {}) => {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        await handler.close(closeOptions);
        http.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}
