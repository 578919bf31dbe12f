/**
 * Tool-call ids the client sends back. The model writes and reads 9-character alphanumeric ids
 * (lib/output/tool-call-id.ts); clients replaying a conversation from another server send others
 * ("call_abc123", "chatcmpl-tool-…"). Those are mapped, not rejected: the same id always maps to the same
 * 9 characters (a hash), so an assistant call and the tool result answering it still match.
 */
import { createHash } from "node:crypto";

const MODEL_ID = /^[a-zA-Z0-9]{9}$/;
const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export function toModelToolCallId(id: string): string {
  if (MODEL_ID.test(id)) return id;
  const digest = createHash("sha256").update(id).digest();
  let out = "";
  for (let i = 0; i < 9; i++) out += ALPHANUMERIC[digest[i]! % ALPHANUMERIC.length];
  return out;
}
