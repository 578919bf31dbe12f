/** Plain (non-streaming) responses: JSON bodies, OpenAI errors, Prometheus text. */
import type { ServerResponse } from "node:http";
import type { HttpError } from "../errors";

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Answers with the error, unless the response has already started (a stream that fails midway reports its
 * error as an SSE event instead, see SseStream) or the client is gone.
 */
export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent || res.destroyed) return;
  sendJson(res, error.status, error.body(), { ...error.headers });
}
