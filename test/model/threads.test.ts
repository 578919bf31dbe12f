import { cpus } from "node:os";
import { expect, test } from "vitest";
import { physicalCores } from "../../lib/model/threads";

test("the default thread count is the number of physical cores, at most the logical CPUs", () => {
  const n = physicalCores();
  expect(Number.isInteger(n)).toBe(true);
  expect(n).toBeGreaterThanOrEqual(1);
  expect(n).toBeLessThanOrEqual(cpus().length);
});
