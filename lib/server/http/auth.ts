/** The optional API key: `Authorization: Bearer KEY`, compared in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "../errors";

/**
 * A checker for one key. Both sides are hashed first so the comparison takes the same time whatever the
 * length or content of what the client sent.
 */
export function apiKeyChecker(key: string): (req: IncomingMessage) => void {
  const expected = createHash("sha256").update(key).digest();
  return (req) => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    const given = createHash("sha256")
      .update(match?.[1] ?? "")
      .digest();
    if (match === null || !timingSafeEqual(given, expected)) {
      throw new HttpError(
        401,
        "authentication_error",
        match === null
          ? "Missing API key: send it as `Authorization: Bearer <key>`"
          : "Incorrect API key provided",
        null,
        "invalid_api_key",
        { "WWW-Authenticate": "Bearer" },
      );
    }
  };
}
