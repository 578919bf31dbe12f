/**
 * What the soak scripts measure and how they report it: resident memory and open file descriptors from /proc, the V8
 * heap after a full garbage collection, and a list of bounds. Each script prints one JSON object (its figures and
 * every bound with its verdict) and exits 1 when a bound breaks.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// run-ts bundles a script next to itself, so the addon's default search (relative to the bundle) misses.
const addon = join(repoRoot, "build", "Release", "mistral4.node");
if (!process.env.MS4_ADDON_PATH && existsSync(addon)) process.env.MS4_ADDON_PATH = addon;

// A full collection on demand without --expose-gc on the command line.
v8.setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

export interface Sample {
  /** Resident set size, MiB. */
  readonly rssMiB: number;
  /** V8 heap in use after a full collection, MiB. */
  readonly heapMiB: number;
  /** Memory held by ArrayBuffers and Buffers outside the heap, MiB. */
  readonly externalMiB: number;
  readonly openFds: number;
}

const MiB = 1024 * 1024;
const round = (x: number) => Math.round(x * 10) / 10;

/** Memory and descriptors now, after two full collections (and a pause for finalizers). */
export async function sample(): Promise<Sample> {
  for (let i = 0; i < 2; i++) {
    collect();
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = process.memoryUsage();
  return {
    rssMiB: round(m.rss / MiB),
    heapMiB: round(m.heapUsed / MiB),
    externalMiB: round((m.external + m.arrayBuffers) / MiB),
    openFds: readdirSync("/proc/self/fd").length,
  };
}

export interface Bound {
  readonly name: string;
  readonly value: number;
  /** The largest value that passes. */
  readonly max: number;
  readonly ok: boolean;
}

export function bound(name: string, value: number, max: number): Bound {
  return { name, value: round(value), max, ok: value <= max };
}

/** The machine, for the figures. */
export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  let memory = "";
  try {
    const kb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]);
    memory = `, ${round(kb / 1024 / 1024)} GiB`;
  } catch {
    // not Linux: no memory figure
  }
  return `${cpus().length} × ${cpu.trim()}${memory}, Node.js ${process.version}`;
}

/** Prints the script's figures and bounds as JSON; a broken bound sets exit code 1. */
export function report(name: string, figures: Record<string, unknown>, bounds: readonly Bound[]): void {
  const ok = bounds.every((b) => b.ok);
  console.log(JSON.stringify({ soak: name, ok, machine: machine(), ...figures, bounds }, null, 2));
  if (!ok) process.exitCode = 1;
}

/** A small seeded generator (mulberry32), so a soak run replays. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `--name value` integer flags with defaults. */
export function intArgs<T extends Record<string, number>>(defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, "") ?? "";
    const value = Number(argv[i + 1]);
    if (!(key in defaults) || !Number.isSafeInteger(value) || value < 0)
      throw new Error(
        `usage: [--${Object.keys(defaults).join(" N] [--")} N] (got ${argv[i]} ${argv[i + 1]})`,
      );
    out[key] = value;
  }
  return out as T;
}
