/**
 * The load plan: for every module of the model, which bytes of which file hold each of its tensors, in what
 * dtype and shape, and in which weight format (BF16 / FP8 / NVFP4) as the quantization config demands.
 * Every tensor in the files is used or explicitly ignored; anything missing, extra or mis-shaped is a
 * CheckpointError naming it. Native code receives only byte ranges.
 */

import type { ModelConfig } from "../config/model-config";
import type { WeightFormat } from "../config/quantization";
import { CheckpointError } from "../errors";
import type { CheckpointFiles } from "./checkpoint-files";
import { buildModuleTable, type ModuleSpec } from "./module-table";
import type { SafetensorsTensor } from "./safetensors/header";
import type { FileIdentity } from "./safetensors/read";
import { type TensorNameResolver as Resolver, TensorNameResolver, type TensorPart } from "./tensor-names";
import { plannedFp8Scales, plannedWeightFormat } from "./weight-format";

export interface PlannedTensor {
  /** Canonical name: `${module}.${part}`. */
  readonly name: string;
  readonly module: string;
  readonly part: TensorPart;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly fileIndex: number;
  /** Absolute byte offset in the file and byte length. */
  readonly offset: number;
  readonly length: number;
  /** The name in the file (with `[e]` / `[e].gate|up` for slices of fused expert tensors). */
  readonly source: string;
}

export interface PlannedModule {
  readonly spec: ModuleSpec;
  readonly format: WeightFormat;
  readonly tensors: Readonly<Partial<Record<TensorPart, PlannedTensor>>>;
}

export interface LoadPlan {
  readonly config: ModelConfig;
  readonly layout: "native" | "hf";
  /** The files, with the identity each had when its header was read (the addon maps only that file). */
  readonly files: readonly { path: string; size: number; identity?: FileIdentity }[];
  readonly modules: readonly PlannedModule[];
  readonly tensors: readonly PlannedTensor[];
  /** File tensors deliberately not loaded (recomputable buffers). */
  readonly ignoredTensors: readonly string[];
  /** True when routed experts come from fused 3-D tensors (HF). */
  readonly fusedExperts: boolean;
}

const FLOAT_DTYPES = new Set(["BF16", "F16", "F32"]);

export function buildLoadPlan(config: ModelConfig, files: CheckpointFiles): LoadPlan {
  const modules = buildModuleTable(config);
  const resolver: Resolver = new TensorNameResolver(modules, files.layout);
  const byModule = new Map<string, Map<TensorPart, PlannedTensor>>();
  const ignored: string[] = [];
  let fusedExperts = false;

  const put = (t: PlannedTensor, fileName: string) => {
    const parts = byModule.get(t.module) ?? new Map<TensorPart, PlannedTensor>();
    byModule.set(t.module, parts);
    const prior = parts.get(t.part);
    if (prior) {
      throw new CheckpointError(`stored twice: as ${prior.source} and as ${t.source}`, {
        file: fileName,
        tensor: t.name,
      });
    }
    parts.set(t.part, t);
  };

  files.headers.forEach((header, fileIndex) => {
    for (const tensor of header.tensors) {
      const match = resolver.resolve(tensor.name);
      const where = { file: header.path, tensor: tensor.name };
      if (match.kind === "ignored") {
        ignored.push(tensor.name);
      } else if (match.kind === "unknown") {
        throw new CheckpointError(
          "unexpected tensor: it is not part of this model's architecture or layout",
          where,
        );
      } else if (match.kind === "module") {
        put(
          {
            name: `${match.module.name}.${match.part}`,
            module: match.module.name,
            part: match.part,
            dtype: tensor.dtype,
            shape: tensor.shape,
            fileIndex,
            offset: tensor.begin,
            length: tensor.byteLength,
            source: tensor.name,
          },
          header.path,
        );
      } else {
        fusedExperts = true;
        if (match.layer >= config.numLayers)
          throw new CheckpointError(`layer ${match.layer} does not exist`, where);
        for (const t of sliceFusedExperts(
          config,
          tensor,
          match.which,
          match.part,
          match.layer,
          fileIndex,
          header.path,
        )) {
          put(t, header.path);
        }
      }
    }
  });

  const planned: PlannedModule[] = [];
  for (const spec of modules) {
    const parts = byModule.get(spec.name) ?? new Map<TensorPart, PlannedTensor>();
    byModule.delete(spec.name);
    const format = checkModule(config, spec, parts, files);
    planned.push({ spec, format, tensors: Object.fromEntries(parts) });
  }
  return {
    config,
    layout: files.layout,
    files: files.headers.map((h) => ({
      path: h.path,
      size: h.fileSize,
      ...(h.identity ? { identity: h.identity } : {}),
    })),
    modules: planned,
    tensors: planned.flatMap((m) => Object.values(m.tensors) as PlannedTensor[]),
    ignoredTensors: ignored,
    fusedExperts,
  };
}

/** Splits an HF fused expert tensor into per-expert (and gate/up) contiguous byte ranges. */
function sliceFusedExperts(
  c: ModelConfig,
  t: SafetensorsTensor,
  which: "gate_up" | "down",
  part: TensorPart,
  layer: number,
  fileIndex: number,
  fileName: string,
): PlannedTensor[] {
  const E = c.moe.numExperts;
  const I = c.moe.expertHiddenSize;
  const D = c.hiddenSize;
  const where = { file: fileName, tensor: t.name };
  const isScale = part !== "weight";
  const expected = isScale ? [E, 1, 1] : which === "gate_up" ? [E, 2 * I, D] : [E, D, I];
  const numel = t.shape.reduce((a, b) => a * b, 1);
  // Scales: one per expert ([E], [E, 1, 1]) or, for weight scales, one per row of each expert's matrix.
  const rowsPerExpert = which === "gate_up" ? 2 * I : D;
  const perRowScales =
    part === "weight_scale" && numel === E * rowsPerExpert && t.shape[0] === E && rowsPerExpert > 1;
  const scaleShapeOk = isScale && t.shape[0] === E && (numel === E || perRowScales);
  if (!scaleShapeOk && !sameShape(t.shape, expected)) {
    throw new CheckpointError(
      `expected shape [${expected.join(", ")}], found [${t.shape.join(", ")}]`,
      where,
    );
  }
  const perExpert = t.byteLength / E;
  const out: PlannedTensor[] = [];
  for (let e = 0; e < E; e++) {
    const base = t.begin + e * perExpert;
    const mk = (
      w: "w1" | "w2" | "w3",
      offset: number,
      length: number,
      shape: number[],
      tag: string,
    ): PlannedTensor => {
      const module = `layers.${layer}.experts.${e}.${w}`;
      return {
        name: `${module}.${part}`,
        module,
        part,
        dtype: t.dtype,
        shape,
        fileIndex,
        offset,
        length,
        source: `${t.name}[${e}]${tag}`,
      };
    };
    if (perRowScales) {
      const w = (rows: number) => [rows, 1];
      if (which === "down") out.push(mk("w2", base, perExpert, w(D), ""));
      else {
        const half = perExpert / 2;
        out.push(mk("w1", base, half, w(I), ".gate"), mk("w3", base + half, half, w(I), ".up"));
      }
    } else if (which === "down") {
      out.push(mk("w2", base, perExpert, isScale ? [] : [D, I], ""));
    } else if (isScale) {
      // One scale covers both halves of the fused gate/up matrix.
      out.push(mk("w1", base, perExpert, [], ""), mk("w3", base, perExpert, [], ""));
    } else {
      const half = perExpert / 2;
      out.push(mk("w1", base, half, [I, D], ".gate"), mk("w3", base + half, half, [I, D], ".up"));
    }
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function isScalar(shape: readonly number[]): boolean {
  return shape.reduce((a, b) => a * b, 1) === 1;
}

/** Checks one module's tensors against its spec and the configured format; returns the format. */
function checkModule(
  c: ModelConfig,
  spec: ModuleSpec,
  parts: Map<TensorPart, PlannedTensor>,
  files: CheckpointFiles,
): WeightFormat {
  const expectedFormat = plannedWeightFormat(c.quantization, spec);
  const storedFormat: WeightFormat = parts.has("weight_packed")
    ? "nvfp4"
    : parts.get("weight")?.dtype === "F8_E4M3"
      ? "fp8"
      : "bf16";
  const fileOf = (t: PlannedTensor | undefined) => (t ? files.headers[t.fileIndex]?.path : undefined);
  const anyFile = fileOf([...parts.values()][0]);
  if (parts.size === 0) {
    const firstPart = expectedFormat === "nvfp4" ? "weight_packed" : "weight";
    throw new CheckpointError(`missing tensor (no tensor of module ${spec.name} is in the checkpoint)`, {
      tensor: `${spec.name}.${firstPart}`,
    });
  }
  if (storedFormat !== expectedFormat) {
    throw new CheckpointError(
      `the quantization config says this module is ${expectedFormat.toUpperCase()} ` +
        `(${expectedFormat === "bf16" ? "not targeted or in the ignore list" : "targeted and not ignored"}) ` +
        `but the checkpoint stores it as ${storedFormat.toUpperCase()}`,
      { file: anyFile, tensor: spec.name },
    );
  }
  const allowed: Record<WeightFormat, { required: TensorPart[]; optional: TensorPart[] }> = {
    bf16: { required: ["weight"], optional: spec.hasBias ? ["bias"] : [] },
    fp8: {
      required: ["weight", "weight_scale"],
      optional: ["input_scale", ...(spec.hasBias ? (["bias"] as const) : [])],
    },
    nvfp4: {
      required: ["weight_packed", "weight_scale", "weight_global_scale"],
      optional: ["input_global_scale", ...(spec.hasBias ? (["bias"] as const) : [])],
    },
  };
  const rule = allowed[storedFormat];
  if (spec.hasBias && !parts.has("bias")) rule.required.push("bias");
  for (const part of rule.required) {
    if (!parts.has(part))
      throw new CheckpointError("missing tensor", { file: anyFile, tensor: `${spec.name}.${part}` });
  }
  for (const [part, t] of parts) {
    const where = { file: fileOf(t), tensor: t.source };
    if (!rule.required.includes(part) && !rule.optional.includes(part)) {
      throw new CheckpointError(
        `unexpected tensor: a ${storedFormat.toUpperCase()} ${spec.kind} has no ${part}`,
        where,
      );
    }
    const expect = (dtypes: string[], shape: readonly number[] | "scalar") => {
      if (!dtypes.includes(t.dtype))
        throw new CheckpointError(`expected dtype ${dtypes.join(" or ")}, found ${t.dtype}`, where);
      const ok = shape === "scalar" ? isScalar(t.shape) : sameShape(t.shape, shape);
      if (!ok) {
        const want = shape === "scalar" ? "a single value" : `[${shape.join(", ")}]`;
        throw new CheckpointError(`expected shape ${want}, found [${t.shape.join(", ")}]`, where);
      }
    };
    const [rows = 0, cols = 0] = spec.shape;
    switch (part) {
      case "weight":
        expect(storedFormat === "fp8" ? ["F8_E4M3"] : [...FLOAT_DTYPES], spec.shape);
        break;
      case "bias":
        expect([...FLOAT_DTYPES], [rows]);
        break;
      case "weight_packed":
        if (cols % 16 !== 0)
          throw new CheckpointError(`NVFP4 needs an input size divisible by 16, found ${cols}`, where);
        expect(["U8"], [rows, cols / 2]);
        break;
      case "weight_scale":
        if (storedFormat === "nvfp4") expect(["F8_E4M3"], [rows, cols / 16]);
        else if (plannedFp8Scales(c.quantization, spec) === "channel") {
          // One scale per output row, stored [rows, 1] (compressed-tensors) or [rows].
          expect(["F32", "BF16", "F16"], t.shape.length === 1 ? [rows] : [rows, 1]);
        } else expect(["F32", "BF16", "F16"], "scalar");
        break;
      default:
        expect(["F32", "BF16", "F16"], "scalar");
    }
  }
  return storedFormat;
}
