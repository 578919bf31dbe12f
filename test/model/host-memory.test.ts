/**
 * What the process can still take (lib/model/host-memory.ts), read from folders laid out like /proc and /sys/fs/cgroup:
 * MemAvailable, and the tightest cgroup limit along the process's path (v1 and v2, inside a container's cgroup
 * namespace too), with inactive file pages counted as reclaimable.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { describeHostMemory, readHostMemory, usableBytes } from "../../lib/model/host-memory";
import { makeTempDir } from "../helpers/temp-dir";

const GiB = 2 ** 30;
const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function fakeRoot(files: Record<string, string>): string {
  const tmp = makeTempDir("ms4-host-memory-");
  dirs.push(tmp);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tmp.dir, path)), { recursive: true });
    writeFileSync(join(tmp.dir, path), text);
  }
  return tmp.dir;
}

const meminfo = (totalGiB: number, availableGiB: number) =>
  `MemTotal:       ${totalGiB * 1024 * 1024} kB\nMemFree:         1024 kB\nMemAvailable:   ${availableGiB * 1024 * 1024} kB\n`;
const V1_MOUNTS =
  "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";
const V2_MOUNTS = "30 22 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";

describe("the memory a process can still take", () => {
  test("without a cgroup limit it is MemAvailable", () => {
    const root = fakeRoot({
      "proc/meminfo": meminfo(24, 20),
      "proc/self/cgroup": "0::/user.slice\n",
      "proc/self/mountinfo": V2_MOUNTS,
      "sys/fs/cgroup/user.slice/memory.max": "max\n",
      "sys/fs/cgroup/user.slice/memory.current": `${GiB}\n`,
    });
    const m = readHostMemory(root);
    expect(m).toEqual({ totalBytes: 24 * GiB, availableBytes: 20 * GiB, cgroup: undefined });
    expect(usableBytes(m)).toBe(20 * GiB);
  });

  test("cgroup v2: the tightest limit on the path wins, less what is used but not inactive file pages", () => {
    const root = fakeRoot({
      "proc/meminfo": meminfo(64, 50),
      "proc/self/cgroup": "0::/system.slice/app.service\n",
      "proc/self/mountinfo": V2_MOUNTS,
      "sys/fs/cgroup/system.slice/memory.max": `${16 * GiB}\n`,
      "sys/fs/cgroup/system.slice/memory.current": `${12 * GiB}\n`,
      "sys/fs/cgroup/system.slice/memory.stat": `anon 1\ninactive_file ${2 * GiB}\nactive_file 5\n`,
      "sys/fs/cgroup/system.slice/app.service/memory.max": `${8 * GiB}\n`,
      "sys/fs/cgroup/system.slice/app.service/memory.current": `${GiB}\n`,
    });
    const m = readHostMemory(root);
    // The slice leaves 16 − (12 − 2) = 6 GiB, the service 8 − 1 = 7 GiB: the slice is tighter.
    expect(m.cgroup).toEqual({
      version: 2,
      path: "/sys/fs/cgroup/system.slice",
      limitBytes: 16 * GiB,
      usedBytes: 10 * GiB,
    });
    expect(usableBytes(m)).toBe(6 * GiB);
    expect(describeHostMemory(m)).toBe(
      "50.00 GiB available of 64.00 GiB on this machine; cgroup v2 /sys/fs/cgroup/system.slice limited to 16.00 GiB with 10.00 GiB in use",
    );
  });

  test("cgroup v2 inside a container's namespace: the limit sits on the mount's root", () => {
    const root = fakeRoot({
      "proc/meminfo": meminfo(128, 100),
      "proc/self/cgroup": "0::/\n",
      "proc/self/mountinfo": "40 30 0:33 / /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
      "sys/fs/cgroup/memory.max": `${4 * GiB}\n`,
      "sys/fs/cgroup/memory.current": `${GiB}\n`,
    });
    expect(usableBytes(readHostMemory(root))).toBe(3 * GiB);
  });

  test("cgroup v1: memory.limit_in_bytes along the path; the page-rounded 2^63 means no limit", () => {
    const root = fakeRoot({
      "proc/meminfo": meminfo(24, 22),
      "proc/self/cgroup": "9:name=systemd:/\n4:memory:/jobs/42\n0::/\n",
      "proc/self/mountinfo": V1_MOUNTS,
      "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
      "sys/fs/cgroup/memory/jobs/memory.limit_in_bytes": "9223372036854771712\n",
      "sys/fs/cgroup/memory/jobs/42/memory.limit_in_bytes": `${2 * GiB}\n`,
      "sys/fs/cgroup/memory/jobs/42/memory.usage_in_bytes": `${GiB}\n`,
      "sys/fs/cgroup/memory/jobs/42/memory.stat": `cache 5\ntotal_inactive_file ${GiB / 2}\n`,
    });
    const m = readHostMemory(root);
    expect(m.cgroup).toMatchObject({
      version: 1,
      path: "/sys/fs/cgroup/memory/jobs/42",
      limitBytes: 2 * GiB,
    });
    expect(usableBytes(m)).toBe(1.5 * GiB);
  });

  test("a v1 hierarchy mounted from a non-root cgroup (a container) maps the path under its root", () => {
    const root = fakeRoot({
      "proc/meminfo": meminfo(24, 22),
      "proc/self/cgroup": "4:memory:/docker/abc\n",
      "proc/self/mountinfo": "34 30 0:31 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n",
      "sys/fs/cgroup/memory/memory.limit_in_bytes": `${3 * GiB}\n`,
      "sys/fs/cgroup/memory/memory.usage_in_bytes": "0\n",
    });
    expect(usableBytes(readHostMemory(root))).toBe(3 * GiB);
  });

  test("no /proc at all: nothing is known to be available beyond what the caller measures", () => {
    const m = readHostMemory(fakeRoot({}));
    expect(m.cgroup).toBeUndefined();
    expect(m.totalBytes).toBeGreaterThan(0);
  });

  test("this machine: a positive amount, at most the total", () => {
    const m = readHostMemory();
    expect(usableBytes(m)).toBeGreaterThan(0);
    expect(usableBytes(m)).toBeLessThanOrEqual(m.totalBytes);
  });
});
