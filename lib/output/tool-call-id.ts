import { randomInt } from "node:crypto";

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A random 9-character alphanumeric id, the only form mistral-common accepts back in a later request. */
export function randomToolCallId(): string {
  let id = "";
  for (let i = 0; i < 9; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}
