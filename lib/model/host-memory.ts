/**
 * How much memory this process can still take before the kernel's OOM killer steps in: the machine's available memory
 * (`MemAvailable` in /proc/meminfo: free memory plus what the kernel can reclaim, such as the page cache) and, when the
 * process runs in a memory-limited cgroup (containers, systemd services), that cgroup's limit less what its members
 * already use. cgroup v2 (`memory.max`, `memory.current`) and v1 (`memory.limit_in_bytes`, `memory.usage_in_bytes`)
 * are read along the whole path up to the hierarchy's root, since any ancestor's limit applies; inactive file pages
 * (`memory.stat`) count as reclaimable, as the kernel reclaims them before it kills. Elsewhere (other systems, no
 * /proc) the machine's free memory is what is known.
 */
import { readFileSync } from "node:fs";
import { freemem, totalmem } from "node:os";
import { join } from "node:path";

export interface CgroupLimit {
  readonly version: 1 | 2;
  /** The cgroup whose limit leaves the least room (the process's own or an ancestor), as a path on this machine. */
  readonly path: string;
  readonly limitBytes: number;
  /** What its members use now, less the inactive file pages the kernel reclaims first. */
  readonly usedBytes: number;
}

export interface HostMemory {
  readonly totalBytes: number;
  /** MemAvailable (or the free memory where /proc/meminfo is missing). */
  readonly availableBytes: number;
  /** The tightest memory limit of the process's cgroups, when one is set. */
  readonly cgroup: CgroupLimit | undefined;
}

const GiB = 2 ** 30;
const gib = (n: number) => `${(n / GiB).toFixed(2)} GiB`;

/** What can still be allocated: the available memory, within the cgroup's remaining room. */
export function usableBytes(m: HostMemory): number {
  const room = m.cgroup ? Math.max(0, m.cgroup.limitBytes - m.cgroup.usedBytes) : Number.POSITIVE_INFINITY;
  return Math.min(m.availableBytes, room);
}

/** The numbers behind usableBytes, for messages. */
export function describeHostMemory(m: HostMemory): string {
  const parts = [`${gib(m.availableBytes)} available of ${gib(m.totalBytes)} on this machine`];
  if (m.cgroup) {
    parts.push(
      `cgroup v${m.cgroup.version} ${m.cgroup.path} limited to ${gib(m.cgroup.limitBytes)} with ${gib(m.cgroup.usedBytes)} in use`,
    );
  }
  return parts.join("; ");
}

/** Reads this process's memory situation now. `root` is "/" except in tests (a folder laid out like one). */
export function readHostMemory(root = "/"): HostMemory {
  const meminfo = readText(join(root, "proc/meminfo"));
  const total = meminfo ? meminfoBytes(meminfo, "MemTotal") : undefined;
  const available = meminfo ? meminfoBytes(meminfo, "MemAvailable") : undefined;
  return {
    totalBytes: total ?? totalmem(),
    availableBytes: available ?? (root === "/" ? freemem() : 0),
    cgroup: readCgroupLimit(root),
  };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function meminfoBytes(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, "m").exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** A limit file's value: a byte count, or undefined for "max" / v1's "no limit" (a page-rounded 2^63). */
function limitValue(text: string | undefined): number | undefined {
  const value = text?.trim();
  if (value === undefined || value === "" || value === "max" || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 2 ** 60 ? undefined : n;
}

function statValue(text: string | undefined, key: string): number {
  const match = text === undefined ? null : new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : 0;
}

interface CgroupMount {
  readonly version: 1 | 2;
  /** Where the hierarchy is mounted, and which cgroup path its root is (not "/" inside a container's namespace). */
  readonly mountPoint: string;
  readonly mountRoot: string;
}

/** The memory hierarchy's mount (fields of /proc/self/mountinfo escape spaces and such as \ooo octal). */
function findMount(mountinfo: string, version: 1 | 2): CgroupMount | undefined {
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const fields = left.split(" ");
    const [fsType, , superOptions = ""] = right.split(" ");
    const mountRoot = fields[3];
    const mountPoint = fields[4];
    if (mountRoot === undefined || mountPoint === undefined) continue;
    const mountField = (s: string) =>
      s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (version === 2 && fsType === "cgroup2")
      return { version, mountPoint: mountField(mountPoint), mountRoot: mountField(mountRoot) };
    if (version === 1 && fsType === "cgroup" && superOptions.split(",").includes("memory"))
      return { version, mountPoint: mountField(mountPoint), mountRoot: mountField(mountRoot) };
  }
  return undefined;
}

function readCgroupLimit(root: string): CgroupLimit | undefined {
  const cgroups = readText(join(root, "proc/self/cgroup"));
  const mountinfo = readText(join(root, "proc/self/mountinfo"));
  if (cgroups === undefined || mountinfo === undefined) return undefined;
  // v1: "4:memory:/path"; v2: "0::/path". A v1 memory controller takes precedence (hybrid setups mount both).
  const lines = cgroups.split("\n").map((l) => l.split(":"));
  const v1 = lines.find((f) => f.length >= 3 && f[1]!.split(",").includes("memory"));
  const v2 = lines.find((f) => f.length >= 3 && f[0] === "0" && f[1] === "");
  const version: 1 | 2 | undefined = v1 ? 1 : v2 ? 2 : undefined;
  const cgroupPath = (v1 ?? v2)?.slice(2).join(":");
  if (version === undefined || cgroupPath === undefined) return undefined;
  const mount = findMount(mountinfo, version);
  if (!mount) return undefined;
  const files =
    version === 2
      ? { limit: "memory.max", usage: "memory.current", inactive: "inactive_file" }
      : { limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes", inactive: "total_inactive_file" };
  // The cgroup's folder under the mount, then each ancestor up to the mount point.
  const relative =
    mount.mountRoot === "/"
      ? cgroupPath
      : cgroupPath.startsWith(mount.mountRoot)
        ? cgroupPath.slice(mount.mountRoot.length)
        : "";
  const segments = relative.split("/").filter((s) => s.length > 0 && s !== "..");
  let tightest: CgroupLimit | undefined;
  for (let depth = segments.length; depth >= 0; depth--) {
    const dir = join(mount.mountPoint, ...segments.slice(0, depth));
    const onDisk = join(root, dir);
    const limit = limitValue(readText(join(onDisk, files.limit)));
    if (limit === undefined) continue;
    const usage = limitValue(readText(join(onDisk, files.usage))) ?? 0;
    const inactive = statValue(readText(join(onDisk, "memory.stat")), files.inactive);
    const used = Math.max(0, usage - inactive);
    if (!tightest || limit - used < tightest.limitBytes - tightest.usedBytes)
      tightest = { version, path: dir, limitBytes: limit, usedBytes: used };
  }
  return tightest;
}
