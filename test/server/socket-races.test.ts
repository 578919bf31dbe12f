/**
 * The moments a client can vanish that no event announces in time: each must still settle the request, or
 * the handler would count it active forever and `close()` would never return (seen once in CI with 200
 * streams, about half dropped).
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { readBody } from "../../lib/server/http/body";
import { ClientGoneError, SseStream } from "../../lib/server/http/sse";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let closeServer: (() => void) | undefined;

afterEach(() => closeServer?.());

/** Promises are passed wrapped: resolving with a bare promise would adopt it. */

/** Starts a server on `handler`, sends one POST with `body`, and ignores whatever the client sees. */
async function oneRequest(handler: Handler, body = "{}"): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closeServer = () => server.close();
  const { port } = server.address() as AddressInfo;
  const req = request({ port, host: "127.0.0.1", method: "POST" }, (res) => res.resume());
  req.on("error", () => {});
  req.end(body);
}

function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<"settled" | "hung"> {
  return Promise.race([
    promise.then(
      () => "settled" as const,
      () => "settled" as const,
    ),
    new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), ms)),
  ]);
}

describe("a client gone in the same turn", () => {
  test("ending a stream whose socket died before the response's close event settles", async () => {
    const ended = new Promise<{ settling: Promise<void> }>((resolve) =>
      oneRequest((_req, res) => {
        const sse = new SseStream(res);
        sse.start();
        res.socket?.destroy(); // the socket is gone; the response's own 'close' comes later
        resolve({ settling: sse.end() });
      }),
    );
    expect(await settlesWithin((await ended).settling, 2000)).toBe("settled");
  });

  test("a stream's end after the client left is ClientGoneError", async () => {
    const ended = new Promise<{ settling: Promise<void> }>((resolve) =>
      oneRequest((_req, res) => {
        const sse = new SseStream(res);
        sse.start();
        res.socket?.destroy();
        res.once("close", () => resolve({ settling: sse.end() }));
      }),
    );
    await expect((await ended).settling).rejects.toBeInstanceOf(ClientGoneError);
  });

  test("a body whose stream is destroyed after it fully arrived, before 'end', rejects", async () => {
    const read = new Promise<{ settling: Promise<Buffer> }>((resolve) =>
      oneRequest(
        (req) => {
          // The whole body is already buffered: wait until the parser says it is complete, then destroy the
          // stream before anyone reads it, so 'end' is never emitted.
          const poll = () => {
            if (!req.complete) return void setImmediate(poll);
            req.destroy();
            resolve({ settling: readBody(req, 1 << 20) });
          };
          poll();
        },
        JSON.stringify({ hello: "world" }),
      ),
    );
    expect(await settlesWithin((await read).settling, 2000)).toBe("settled");
  });
});
