import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { physicalCores } from "../../lib/model/threads";
import { makeTempDir } from "../helpers/temp-dir";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

/** Distinct (socket, core) pairs, read independently of sysfs: `lscpu -p`, else /proc/cpuinfo. */
function coresFromLscpuOrCpuinfo(): number | undefined {
  try {
    const rows = execFileSync("lscpu", ["-p=CORE,SOCKET"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"));
    if (rows.length > 0) return new Set(rows).size;
  } catch {
    // no lscpu: fall back to /proc/cpuinfo
  }
  try {
    const pairs = new Set<string>();
    for (const block of readFileSync("/proc/cpuinfo", "utf8").split("\n\n")) {
      const socket = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
      const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
      if (socket !== undefined && core !== undefined) pairs.add(`${socket}:${core}`);
    }
    return pairs.size > 0 ? pairs.size : undefined;
  } catch {
    return undefined;
  }
}

/** A fake sysfs CPU folder: `siblings[i]` is cpu i's thread_siblings_list. */
function fakeTopology(name: string, siblings: string[]): string {
  const root = join(tmp.dir, name);
  siblings.forEach((list, i) => {
    mkdirSync(join(root, `cpu${i}`, "topology"), { recursive: true });
    writeFileSync(join(root, `cpu${i}`, "topology", "thread_siblings_list"), `${list}\n`);
  });
  mkdirSync(join(root, "cpufreq"), { recursive: true });
  return root;
}

test("counts one core per set of hyper-thread siblings", (ctx) => {
  if (process.platform !== "linux") {
    console.log("[threads] skipping: the sysfs topology is Linux's");
    ctx.skip();
    return;
  }
  // 4 cores with 2 threads each, siblings numbered the way Linux numbers them (0 and 4 share a core).
  const smt = fakeTopology("smt", ["0,4", "1,5", "2,6", "3,7", "0,4", "1,5", "2,6", "3,7"]);
  expect(physicalCores(smt, 8)).toBe(4);
  expect(physicalCores(fakeTopology("no-smt", ["0", "1", "2"]), 3)).toBe(3);
  // Never more than the logical CPUs this process sees; unreadable topology falls back to them.
  expect(physicalCores(smt, 2)).toBe(2);
  expect(physicalCores(join(tmp.dir, "missing"), 6)).toBe(6);
});

test("the default thread count on this machine equals its physical cores as lscpu (or /proc/cpuinfo) counts them", (ctx) => {
  const expected = coresFromLscpuOrCpuinfo();
  if (process.platform !== "linux" || expected === undefined) {
    console.log("[threads] skipping: no lscpu or /proc/cpuinfo core ids to compare with");
    ctx.skip();
    return;
  }
  expect(physicalCores()).toBe(Math.min(expected, cpus().length));
});
