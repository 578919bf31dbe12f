/** Default thread count: physical cores (hyper-threads share execution units, so they add little to GEMV). */
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

const LINUX_CPU_ROOT = "/sys/devices/system/cpu";

/**
 * Physical cores from Linux's CPU topology (distinct `thread_siblings_list` sets under `cpuRoot`), at most
 * the logical CPU count; elsewhere, or when the topology cannot be read, the logical CPU count.
 */
export function physicalCores(cpuRoot = LINUX_CPU_ROOT, logical = Math.max(1, cpus().length)): number {
  if (process.platform !== "linux") return logical;
  try {
    const siblingSets = new Set<string>();
    for (const entry of readdirSync(cpuRoot)) {
      if (!/^cpu\d+$/.test(entry)) continue;
      siblingSets.add(readFileSync(join(cpuRoot, entry, "topology", "thread_siblings_list"), "utf8").trim());
    }
    return siblingSets.size > 0 ? Math.min(siblingSets.size, logical) : logical;
  } catch {
    return logical;
  }
}
