import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseModelConfig } from "../../lib/config/read-model-config";
import { InvalidArgumentError, OutOfMemoryError } from "../../lib/errors";
import { type HostMemory, usableBytes } from "../../lib/model/host-memory";
import { hostMemoryTarget, planKvCache } from "../../lib/model/kv-budget";

const real = parseModelConfig(
  JSON.parse(
    readFileSync(join(__dirname, "..", "fixtures", "config", "mistral-small-4.params.json"), "utf8"),
  ),
  "native",
  "params.json",
);
const GiB = 2 ** 30;

describe("KV pool sizing and the memory checks made before allocating", () => {
  test("the real model's weights on a 24 GiB machine are refused before anything is allocated", () => {
    expect(() => planKvCache(real, {}, 66 * GiB, 24 * GiB)).toThrow(OutOfMemoryError);
    expect(() => planKvCache(real, {}, 66 * GiB, 24 * GiB)).toThrow(/weights need 66\.00 GiB.*24\.00 GiB/);
  });

  test("a KV budget that does not fit beside the weights is an OutOfMemoryError", () => {
    expect(() => planKvCache(real, { kvCacheMemory: 80 * GiB }, 66 * GiB, 141 * GiB)).toThrow(
      /KV pool of 80\.00 GiB/,
    );
  });

  test("a KV budget smaller than one block is an InvalidArgumentError naming kvCacheMemory", () => {
    expect(() => planKvCache(real, { kvCacheMemory: 1000 }, GiB, 24 * GiB)).toThrow(InvalidArgumentError);
    expect(() => planKvCache(real, { kvCacheMemory: 1000 }, GiB, 24 * GiB)).toThrow(/options\.kvCacheMemory/);
  });

  test("blocks are sized from the budget: 22.5 KiB per token in BF16, twice that in F32", () => {
    const bf16 = planKvCache(real, { kvCacheMemory: GiB, kvCacheDtype: "bf16" }, 66 * GiB, 141 * GiB);
    expect(bf16.bytesPerToken).toBe(23040);
    expect(bf16.numBlocks).toBe(Math.floor(GiB / (23040 * 16)));
    const f32 = planKvCache(real, { kvCacheMemory: GiB, kvCacheDtype: "f32" }, 66 * GiB, 141 * GiB);
    expect(f32.bytesPerToken).toBe(46080);
  });

  test('"auto" asks for maxContext × maxBatchSize tokens but keeps half of the spare memory free', () => {
    const roomy = planKvCache(real, { maxContext: 4096, maxBatchSize: 2 }, 66 * GiB, 141 * GiB);
    expect(roomy.numBlocks * roomy.blockSize).toBe(8192);
    const tight = planKvCache(real, { maxContext: 262144, maxBatchSize: 64 }, 66 * GiB, 80 * GiB);
    expect(tight.bytes).toBeLessThanOrEqual(7 * GiB);
  });

  test("maxContext beyond the model's positions is refused", () => {
    expect(() => planKvCache(real, { maxContext: 2_000_000 }, GiB, 24 * GiB)).toThrow(/options\.maxContext/);
  });
});

test('"auto" sizes the pool in whole blocks, so maxContext tokens always fit in one sequence', () => {
  const plan = planKvCache(real, { maxContext: 132, maxBatchSize: 1 }, GiB, 24 * GiB);
  expect(plan.numBlocks * plan.blockSize).toBeGreaterThanOrEqual(132);
});

describe("host memory as the process can have it (hostMemoryTarget)", () => {
  const host: HostMemory = {
    totalBytes: 64 * GiB,
    availableBytes: 40 * GiB,
    cgroup: { version: 2, path: "/sys/fs/cgroup/app", limitBytes: 32 * GiB, usedBytes: 2 * GiB },
  };

  test("weights beyond the cgroup's room are refused with the numbers and the way to load anyway", () => {
    const error = (() => {
      try {
        planKvCache(real, {}, 31 * GiB, usableBytes(host), hostMemoryTarget(host));
      } catch (e) {
        return e as OutOfMemoryError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(OutOfMemoryError);
    expect(error?.message).toBe(
      "the weights, the step and vision scratch and a reserve need 31.00 GiB but this process can have 30.00 GiB now " +
        "(40.00 GiB available of 64.00 GiB on this machine; cgroup v2 /sys/fs/cgroup/app limited to 32.00 GiB with " +
        "2.00 GiB in use); nothing was allocated; the load option allowMemoryOvercommit: true loads anyway",
    );
    expect(error?.requiredBytes).toBe(31 * GiB);
    expect(error?.availableBytes).toBe(30 * GiB);
  });

  test('with the caller\'s opt-in nothing is refused, and "auto" sizes the pool against the total memory', () => {
    const plan = planKvCache(
      real,
      { maxContext: 4096, maxBatchSize: 2 },
      31 * GiB,
      host.totalBytes,
      hostMemoryTarget(host),
      true,
    );
    expect(plan.numBlocks * plan.blockSize).toBe(8192);
    expect(() =>
      planKvCache(real, { kvCacheMemory: 40 * GiB }, 31 * GiB, host.totalBytes, hostMemoryTarget(host), true),
    ).not.toThrow();
  });
});
