/**
 * Where and how a model runs, decided once in TypeScript from the load options, the environment
 * (MS4_CPU_PATH, MS4_NVFP4_ACTIVATIONS) and what the addon reports (`systemInfo()`), so native code gets
 * concrete values and makes no policy of its own:
 * - device: "auto" and "cpu" run on the CPU; "cuda" / "cuda:N" run on that CUDA device when the addon has the CUDA
 *   backend and reports the device usable (`systemInfo().cuda`), else they are an InvalidArgumentError saying why.
 *   "auto" stays on the CPU until the CUDA backend's checks have passed on real hardware (docs/cuda-backend.md);
 * - on CUDA, NVFP4 weights always multiply float32-class activations: nvfp4Activations may be "auto" or "f32" (the
 *   MS4_NVFP4_ACTIVATIONS variable, a CPU setting, is not read);
 * - CPU kernel path: the option, else MS4_CPU_PATH, else automatic: the best path the CPU and build can run
 *   (`systemInfo().cpu.kernelPaths` lists them best last), never "avx512-emulated" (a test path that runs the
 *   AVX-512 kernels through SIMDe; it is taken only when asked for by name);
 * - NVFP4 activations: the option, else MS4_NVFP4_ACTIVATIONS, else automatic: "int16" on the vector paths,
 *   "f32" (exact) on the portable path;
 * - huge pages: weights and the KV pool are advised onto transparent huge pages unless MS4_HUGE_PAGES=0.
 * docs/cpu-backend.md describes the paths and activation modes.
 */
import { InvalidArgumentError } from "../errors";
import type { CpuKernelPath, SystemInfo } from "../native";
import type { LoadOptions } from "./load-options";

export type Nvfp4Activations = "f32" | "int16" | "int8";

export interface ResolvedBackend {
  readonly device: "cpu" | "cuda";
  /** The CUDA device's index (0 on the CPU). */
  readonly deviceIndex: number;
  readonly cpuPath: CpuKernelPath;
  readonly nvfp4Activations: Nvfp4Activations;
  readonly hugePages: boolean;
}

/** The environment variables this module reads (process.env by default). */
export interface BackendEnvironment {
  readonly MS4_CPU_PATH?: string | undefined;
  readonly MS4_NVFP4_ACTIVATIONS?: string | undefined;
  readonly MS4_HUGE_PAGES?: string | undefined;
}

/** The test-only kernel path: accepted by name, never chosen automatically nor offered in messages. */
export const EMULATED_PATH = "avx512-emulated";
/** Kernel paths users choose from, worst first. */
export const USER_CPU_PATHS: readonly CpuKernelPath[] = ["portable", "avx2", "avx512"];
const ALL_CPU_PATHS: readonly string[] = [...USER_CPU_PATHS, EMULATED_PATH];
const ACTIVATIONS: readonly string[] = ["f32", "int16", "int8"];

export function resolveBackend(
  options: Pick<LoadOptions, "device" | "cpuPath" | "nvfp4Activations">,
  system: SystemInfo,
  env: BackendEnvironment = process.env,
): ResolvedBackend {
  const { device, deviceIndex } = resolveDevice(options.device ?? "auto", system);
  const cpuPath = resolveCpuPath(options.cpuPath, env.MS4_CPU_PATH, system);
  const nvfp4Activations =
    device === "cuda"
      ? resolveCudaActivations(options.nvfp4Activations)
      : resolveActivations(options.nvfp4Activations, env.MS4_NVFP4_ACTIVATIONS, cpuPath);
  return { device, deviceIndex, cpuPath, nvfp4Activations, hugePages: env.MS4_HUGE_PAGES !== "0" };
}

/** The best kernel path this CPU and build run, as the automatic choice (never the emulated test path). */
export function automaticCpuPath(system: SystemInfo): CpuKernelPath {
  const usable = runnableUserPaths(system);
  return usable[usable.length - 1] ?? "portable";
}

/** The paths users may choose that this CPU and build run, worst first. */
export function runnableUserPaths(system: SystemInfo): CpuKernelPath[] {
  return USER_CPU_PATHS.filter((p) => system.cpu.kernelPaths.includes(p));
}

function resolveDevice(device: string, system: SystemInfo): { device: "cpu" | "cuda"; deviceIndex: number } {
  if (device === "auto" || device === "cpu") return { device: "cpu", deviceIndex: 0 };
  const { cuda } = system;
  const index = device === "cuda" ? 0 : Number(device.slice("cuda:".length));
  const found = cuda.devices.find((d) => d.index === index);
  let reason: string;
  if (!cuda.compiled) reason = cuda.error || "this build of the addon has no CUDA backend";
  else if (cuda.devices.length === 0) reason = `no usable CUDA device (${cuda.error || "none found"})`;
  else if (!found)
    reason = `there is no CUDA device ${index} (the addon sees ${cuda.devices.map((d) => `${d.index}: ${d.name}`).join(", ")})`;
  else if (!found.usable)
    reason = `CUDA device ${index} (${found.name}) cannot run the CUDA backend: ${found.unusableReason}`;
  else return { device: "cuda", deviceIndex: index };
  throw new InvalidArgumentError(
    "options.device",
    '"auto", "cpu" or a usable CUDA device',
    device,
    `device ${JSON.stringify(device)} is unavailable: ${reason}; use device "cpu" or "auto"`,
  );
}

/** The CUDA backend multiplies NVFP4 weights with float32-class activations only (docs/cuda-backend.md#numerics). */
function resolveCudaActivations(option: LoadOptions["nvfp4Activations"]): Nvfp4Activations {
  if (option === undefined || option === "auto" || option === "f32") return "f32";
  throw new InvalidArgumentError(
    "options.nvfp4Activations",
    '"auto" or "f32" on a CUDA device',
    option,
    `options.nvfp4Activations ${JSON.stringify(option)} is a CPU mode; the CUDA backend multiplies NVFP4 weights with float32 activations ("auto" or "f32")`,
  );
}

function resolveCpuPath(
  option: LoadOptions["cpuPath"],
  fromEnv: string | undefined,
  system: SystemInfo,
): CpuKernelPath {
  const [requested, source] =
    option !== undefined ? [option as string, "options.cpuPath"] : [fromEnv ?? "", "MS4_CPU_PATH"];
  if (requested === "" || requested === "auto") return automaticCpuPath(system);
  const runnable = runnableUserPaths(system).join(", ");
  if (!ALL_CPU_PATHS.includes(requested))
    throw new InvalidArgumentError(
      source,
      `"auto", ${USER_CPU_PATHS.map((p) => `"${p}"`).join(", ")}`,
      requested,
    );
  if (!(system.cpu.kernelPaths as string[]).includes(requested)) {
    const why =
      requested === EMULATED_PATH
        ? "a test path that needs AVX2+FMA+F16C and an addon built with SIMDe's headers"
        : "this CPU or build cannot run it";
    throw new InvalidArgumentError(
      source,
      `a CPU kernel path this CPU and build can run (${runnable})`,
      requested,
      `${source} ${JSON.stringify(requested)} is unavailable (${why}); this CPU and build run: ${runnable}`,
    );
  }
  return requested as CpuKernelPath;
}

function resolveActivations(
  option: LoadOptions["nvfp4Activations"],
  fromEnv: string | undefined,
  cpuPath: CpuKernelPath,
): Nvfp4Activations {
  const [requested, source] =
    option !== undefined
      ? [option as string, "options.nvfp4Activations"]
      : [fromEnv ?? "", "MS4_NVFP4_ACTIVATIONS"];
  if (requested === "" || requested === "auto") return cpuPath === "portable" ? "f32" : "int16";
  if (!ACTIVATIONS.includes(requested))
    throw new InvalidArgumentError(source, '"auto", "f32", "int16" or "int8"', requested);
  return requested as Nvfp4Activations;
}
