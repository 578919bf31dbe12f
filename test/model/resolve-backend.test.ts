import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors";
import { automaticCpuPath, resolveBackend } from "../../lib/model/resolve-backend";
import { type CpuKernelPath, loadNative, type SystemInfo } from "../../lib/native";

/** A SystemInfo as the addon reports it: kernel paths in its order (portable, avx512-emulated, avx2, avx512). */
function system(kernelPaths: CpuKernelPath[], cuda: Partial<SystemInfo["cuda"]> = {}): SystemInfo {
  const real = loadNative().systemInfo();
  return {
    cpu: { ...real.cpu, kernelPaths },
    cuda: {
      compiled: false,
      runtimeVersion: 0,
      driverVersion: 0,
      error: "this build of the addon has no CUDA backend (nvcc was not found at install time)",
      architectures: "",
      devices: [],
      ...cuda,
    },
  };
}

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  return undefined;
}

const AVX2_WITH_EMULATION = system(["portable", "avx512-emulated", "avx2"]);
const H200 = {
  index: 0,
  name: "NVIDIA H200",
  totalMemory: 150e9,
  freeMemory: 149e9,
  computeCapability: "9.0",
  multiprocessors: 132,
  usable: true,
  unusableReason: "",
};
const NO_ENV = {};

describe("the automatic CPU kernel path", () => {
  it("is the best path the CPU and build run, never the emulated test path", () => {
    expect(automaticCpuPath(system(["portable"]))).toBe("portable");
    expect(automaticCpuPath(system(["portable", "avx512-emulated"]))).toBe("portable");
    expect(automaticCpuPath(AVX2_WITH_EMULATION)).toBe("avx2");
    expect(automaticCpuPath(system(["portable", "avx512-emulated", "avx2", "avx512"]))).toBe("avx512");
  });

  it("matches the addon's own choice on this machine (cpu_backend.cc resolveCpuPath and resolveNvfp4Activations)", () => {
    const binding = loadNative();
    const saved = [process.env.MS4_CPU_PATH, process.env.MS4_NVFP4_ACTIVATIONS];
    delete process.env.MS4_CPU_PATH;
    delete process.env.MS4_NVFP4_ACTIVATIONS;
    try {
      // A kernel benchmark with no path named builds the backend the addon would pick by itself.
      const native = binding.kernelBench("linear", { rows: 16, cols: 64, minBytes: 0, iters: 1 });
      const resolved = resolveBackend({}, binding.systemInfo(), NO_ENV);
      expect(`cpu-${resolved.cpuPath}`).toBe(native["kernelPath"]);
      expect(resolved.nvfp4Activations).toBe(native["act"]);
    } finally {
      if (saved[0] !== undefined) process.env.MS4_CPU_PATH = saved[0];
      if (saved[1] !== undefined) process.env.MS4_NVFP4_ACTIVATIONS = saved[1];
    }
  });
});

describe("resolveBackend", () => {
  it("resolves the option first, then the environment, then the automatic choice, into concrete values", () => {
    expect(resolveBackend({}, AVX2_WITH_EMULATION, NO_ENV)).toEqual({
      device: "cpu",
      deviceIndex: 0,
      cpuPath: "avx2",
      nvfp4Activations: "int16",
      hugePages: true,
    });
    expect(resolveBackend({}, AVX2_WITH_EMULATION, { MS4_CPU_PATH: "portable" })).toEqual({
      device: "cpu",
      deviceIndex: 0,
      cpuPath: "portable",
      nvfp4Activations: "f32",
      hugePages: true,
    });
    expect(resolveBackend({}, AVX2_WITH_EMULATION, { MS4_HUGE_PAGES: "0" }).hugePages).toBe(false);
    expect(
      resolveBackend({ cpuPath: "avx2" }, AVX2_WITH_EMULATION, { MS4_CPU_PATH: "portable" }).cpuPath,
    ).toBe("avx2");
    expect(
      resolveBackend({ cpuPath: "auto" }, AVX2_WITH_EMULATION, { MS4_CPU_PATH: "portable" }).cpuPath,
    ).toBe("avx2");
    expect(resolveBackend({}, AVX2_WITH_EMULATION, { MS4_CPU_PATH: "auto" }).cpuPath).toBe("avx2");
    expect(resolveBackend({}, AVX2_WITH_EMULATION, { MS4_NVFP4_ACTIVATIONS: "int8" }).nvfp4Activations).toBe(
      "int8",
    );
    expect(
      resolveBackend({ nvfp4Activations: "f32" }, AVX2_WITH_EMULATION, { MS4_NVFP4_ACTIVATIONS: "int8" })
        .nvfp4Activations,
    ).toBe("f32");
    expect(
      resolveBackend({ nvfp4Activations: "auto" }, AVX2_WITH_EMULATION, { MS4_NVFP4_ACTIVATIONS: "int8" })
        .nvfp4Activations,
    ).toBe("int16");
  });

  it("takes the emulated test path only when asked for by name, with int16 activations as a vector path", () => {
    expect(resolveBackend({ cpuPath: "avx512-emulated" }, AVX2_WITH_EMULATION, NO_ENV)).toEqual({
      device: "cpu",
      deviceIndex: 0,
      cpuPath: "avx512-emulated",
      nvfp4Activations: "int16",
      hugePages: true,
    });
  });

  it("refuses a path this CPU cannot run, offering only the paths users choose from", () => {
    const err = catchError(() => resolveBackend({ cpuPath: "avx512" }, AVX2_WITH_EMULATION, NO_ENV));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe(
      'options.cpuPath "avx512" is unavailable (this CPU or build cannot run it); this CPU and build run: portable, avx2',
    );
    expect(() => resolveBackend({}, system(["portable"]), { MS4_CPU_PATH: "avx512-emulated" })).toThrow(
      /MS4_CPU_PATH "avx512-emulated" is unavailable \(a test path .*SIMDe.*\); this CPU and build run: portable$/,
    );
  });

  it("names the environment variable when its value is bad", () => {
    expect(() => resolveBackend({}, AVX2_WITH_EMULATION, { MS4_CPU_PATH: "avx1024" })).toThrow(
      /for MS4_CPU_PATH but received "avx1024"/,
    );
    expect(() => resolveBackend({}, AVX2_WITH_EMULATION, { MS4_NVFP4_ACTIVATIONS: "int4" })).toThrow(
      /"auto", "f32", "int16" or "int8" for MS4_NVFP4_ACTIVATIONS but received "int4"/,
    );
  });

  it('refuses device "cuda" / "cuda:N" as an InvalidArgumentError saying why', () => {
    const cases: [SystemInfo, string, RegExp][] = [
      [
        AVX2_WITH_EMULATION,
        "cuda",
        /device "cuda" is unavailable: this build of the addon has no CUDA backend/,
      ],
      [
        system(["portable"], {
          compiled: true,
          error: "cudaGetDeviceCount: no CUDA-capable device is detected",
        }),
        "cuda:0",
        /device "cuda:0" is unavailable: no usable CUDA device \(cudaGetDeviceCount: no CUDA-capable device is detected\)/,
      ],
      [
        system(["portable"], { compiled: true, error: "", devices: [H200] }),
        "cuda:3",
        /there is no CUDA device 3 \(the addon sees 0: NVIDIA H200\)/,
      ],
      [
        system(["portable"], {
          compiled: true,
          error: "",
          devices: [
            {
              ...H200,
              name: "Tesla V100",
              usable: false,
              unusableReason: "compute capability 7.0 is below 8.0",
            },
          ],
        }),
        "cuda",
        /CUDA device 0 \(Tesla V100\) cannot run the CUDA backend: compute capability 7\.0 is below 8\.0/,
      ],
    ];
    for (const [info, device, message] of cases) {
      const run = () => resolveBackend({ device: device as "cuda" }, info, NO_ENV);
      expect(run).toThrow(InvalidArgumentError);
      expect(run).toThrow(message);
      expect(run).toThrow(/use device "cpu" or "auto"$/);
    }
  });

  it('runs "cuda" / "cuda:N" on a usable device, and keeps "auto" on the CPU', () => {
    const two = system(["portable", "avx2"], {
      compiled: true,
      error: "",
      devices: [H200, { ...H200, index: 1 }],
    });
    expect(resolveBackend({ device: "cuda" }, two, NO_ENV)).toMatchObject({ device: "cuda", deviceIndex: 0 });
    expect(resolveBackend({ device: "cuda:1" }, two, NO_ENV)).toMatchObject({
      device: "cuda",
      deviceIndex: 1,
      nvfp4Activations: "f32",
    });
    expect(resolveBackend({}, two, NO_ENV)).toMatchObject({ device: "cpu", deviceIndex: 0 });
    expect(resolveBackend({ device: "auto" }, two, NO_ENV).device).toBe("cpu");
  });

  it("on CUDA, NVFP4 activations are f32: the CPU's quantized modes are refused, the CPU variable ignored", () => {
    const gpu = system(["portable", "avx2"], { compiled: true, error: "", devices: [H200] });
    expect(resolveBackend({ device: "cuda", nvfp4Activations: "f32" }, gpu, NO_ENV).nvfp4Activations).toBe(
      "f32",
    );
    expect(resolveBackend({ device: "cuda" }, gpu, { MS4_NVFP4_ACTIVATIONS: "int8" }).nvfp4Activations).toBe(
      "f32",
    );
    const run = () => resolveBackend({ device: "cuda", nvfp4Activations: "int16" }, gpu, NO_ENV);
    expect(run).toThrow(InvalidArgumentError);
    expect(run).toThrow(
      /"int16" is a CPU mode; the CUDA backend multiplies NVFP4 weights with float32 activations/,
    );
  });
});
