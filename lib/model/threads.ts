/** Default thread count: physical cores (hyper-threads share execution units, so they add little to GEMV). */
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/** Physical cores from Linux's CPU topology (distinct sibling sets), else the logical CPU count. */
export function physicalCores(): number {
  const logical = Math.max(1, cpus().length);
  if (process.platform !== "linux") return logical;
  try {
    const root = "/sys/devices/system/cpu";
    const siblingSets = new Set<string>();
    for (const entry of readdirSync(root)) {
      if (!/^cpu\d+$/.test(entry)) continue;
      siblingSets.add(readFileSync(`${root}/${entry}/topology/thread_siblings_list`, "utf8").trim());
    }
    return siblingSets.size > 0 ? Math.min(siblingSets.size, logical) : logical;
  } catch {
    return logical;
  }
}
