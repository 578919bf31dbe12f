/** `ms4 info`: what the native addon sees (CPU features, kernel paths, CUDA), readable or as JSON. */
import { parseArgs } from "node:util";
import { type SystemInfo, systemInfo } from "../../system-info";
import type { Command } from "../command";
import { formatBytes, formatTable } from "../format";

export function formatSystemInfo(info: SystemInfo): string {
  const cpu = info.cpu;
  const features = (
    [
      "avx2",
      "fma",
      "f16c",
      "avx512f",
      "avx512bw",
      "avx512vl",
      "avx512vnni",
      "avx512bf16",
      "avxVnni",
      "amxTile",
      "amxBf16",
      "amxInt8",
    ] as const
  )
    .filter((f) => cpu[f])
    .join(" ");
  const rows: string[][] = [
    ["addon", `${info.addon.path} (${info.addon.source})`],
    ["CPU cores (logical)", String(cpu.logicalCores)],
    ["CPU features", features || "none of the vector extensions the kernels use"],
    ["CPU kernel paths", cpu.kernelPaths.join(", ")],
  ];
  const cuda = info.cuda;
  if (!cuda.compiled) rows.push(["CUDA", "not compiled into this build"]);
  else {
    rows.push(["CUDA runtime", formatCudaVersion(cuda.runtimeVersion)]);
    if (cuda.devices.length === 0)
      rows.push(["CUDA devices", `none usable${cuda.error ? ` (${cuda.error})` : ""}`]);
    if (cuda.driverVersion > 0) rows.push(["CUDA driver", formatCudaVersion(cuda.driverVersion)]);
    for (const d of cuda.devices) {
      rows.push([
        `CUDA device ${d.index}`,
        `${d.name}, compute ${d.computeCapability}, ${d.multiprocessors} SMs, ${formatBytes(d.freeMemory)} free of ${formatBytes(d.totalMemory)}`,
      ]);
    }
  }
  return formatTable(rows);
}

function formatCudaVersion(v: number): string {
  return v > 0 ? `${Math.floor(v / 1000)}.${(v % 1000) / 10}` : "unknown";
}

export const infoCommand: Command = {
  name: "info",
  summary: "CPU features, kernel paths and CUDA devices the native addon sees",
  help: `Usage: ms4 info [--json]

CPU features, the CPU kernel paths this machine and build can run, and the CUDA devices the native
addon sees.

Options:
  --json    print the raw report as JSON`,
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } } });
    const info = systemInfo();
    console.log(values.json ? JSON.stringify(info, null, 2) : formatSystemInfo(info));
    return 0;
  },
};
