/**
 * Reading a request body with a byte limit: a declared Content-Length over the limit is refused before any
 * byte is read; a chunked body is counted as it arrives and refused as soon as it passes the limit. What
 * follows a refused body is read and dropped by Node (the response says `Connection: close`), so the client
 * still receives its 413.
 */
import type { IncomingMessage } from "node:http";
import { badRequest, HttpError } from "../errors";

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    "invalid_request_error",
    `The request body is larger than the server's limit of ${limit} bytes`,
    null,
    "body_too_large",
    { Connection: "close" },
  );
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume(); // drop the body as it arrives, so the client gets to read the 413
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const onData = (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    let ended = false;
    req.once("end", () => {
      ended = true;
      if (!refused) resolve(Buffer.concat(chunks, size));
    });
    req.once("error", (error) => {
      if (!refused) reject(error);
    });
    req.once("close", () => {
      // Also when the whole body had arrived but the stream was destroyed before its 'end' was emitted.
      if (!refused && !ended)
        reject(
          new HttpError(
            400,
            "invalid_request_error",
            "The client closed the connection before sending the whole body",
            null,
            "incomplete_body",
          ),
        );
    });
  });
}

/**
 * The body parsed as JSON (whatever its Content-Type says); a body that is not JSON, or not an object, is a
 * 400. When a framework's body parser has already read it (Express's `express.json()`), its `req.body` is
 * used.
 */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (req.readableEnded) {
    if (parsed !== undefined) return asObject(parsed);
    throw badRequest("The request body was read by another handler before this one", null, "invalid_body");
  }
  const bytes = await readBody(req, limit);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (cause) {
    throw badRequest(`The request body is not valid JSON: ${(cause as Error).message}`, null, "invalid_json");
  }
  checkDepth(value);
  return asObject(value);
}

/** Deepest nesting of arrays and objects a body may have (JSON schemas in tools and response formats included). */
export const MAX_JSON_DEPTH = 64;

/** Refuses bodies nested deeper than MAX_JSON_DEPTH (walked without recursion), which nothing legitimate needs. */
function checkDepth(value: unknown): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > MAX_JSON_DEPTH)
      throw badRequest(
        `The request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
        null,
        "invalid_body",
      );
    for (const child of Object.values(v))
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
}

function asObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw badRequest("The request body must be a JSON object", null, "invalid_body");
  }
  return value as Record<string, unknown>;
}
