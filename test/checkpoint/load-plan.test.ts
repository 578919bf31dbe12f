import { closeSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { LoadPlan } from "../../lib/checkpoint/load-plan";
import { openCheckpoint } from "../../lib/checkpoint/open-checkpoint";
import type { SafetensorsDtype } from "../../lib/checkpoint/safetensors/dtypes";
import { readSafetensorsHeader } from "../../lib/checkpoint/safetensors/read";
import { writeSafetensors } from "../../lib/checkpoint/safetensors/write";
import { CheckpointError } from "../../lib/errors";
import { GENERATED_QUANTS } from "../../lib/tiny/config-files";
import { makeTiny } from "../../lib/tiny/make-tiny";
import { makeTempDir } from "../helpers/temp-dir";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

function readBytes(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const out = Buffer.alloc(length);
    readSync(fd, out, 0, length, offset);
    return out;
  } finally {
    closeSync(fd);
  }
}

function tensorBytes(plan: LoadPlan, name: string): Buffer {
  const t = plan.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no ${name}`);
  return readBytes(plan.files[t.fileIndex]!.path, t.offset, t.length);
}

/** Rewrites a single-file checkpoint with its tensors edited by `edit`. */
async function rewrite(
  src: string,
  dst: string,
  edit: (tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; data: Uint8Array }[]) => void,
): Promise<void> {
  const { mkdirSync, copyFileSync } = await import("node:fs");
  mkdirSync(dst, { recursive: true });
  for (const f of ["params.json", "tekken.json"]) copyFileSync(join(src, f), join(dst, f));
  const file = join(src, "consolidated.safetensors");
  const header = await readSafetensorsHeader(file);
  const tensors = header.tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: [...t.shape],
    data: new Uint8Array(readBytes(file, t.begin, t.byteLength)),
  }));
  edit(tensors);
  await writeSafetensors(join(dst, "consolidated.safetensors"), tensors);
}

describe("load plan over generated checkpoints", () => {
  const dirs: Record<string, string> = {};
  beforeAll(async () => {
    for (const layout of ["native", "hf"] as const) {
      for (const quant of GENERATED_QUANTS) {
        const dir = join(tmp.dir, `${layout}-${quant}`);
        await makeTiny(dir, { layout, quant, seed: 7 });
        dirs[`${layout}-${quant}`] = dir;
      }
    }
    dirs["hf-fp8-per-expert"] = join(tmp.dir, "hf-fp8-per-expert");
    await makeTiny(dirs["hf-fp8-per-expert"], { layout: "hf", quant: "fp8", seed: 7, fusedExperts: false });
  });

  test("every tensor in the files is planned, every module is complete, in both layouts and all quantizations", async () => {
    for (const [key, dir] of Object.entries(dirs)) {
      const plan = await openCheckpoint(dir);
      const fileTensors = (await Promise.all(plan.files.map((f) => readSafetensorsHeader(f.path)))).reduce(
        (n, h) => n + h.tensors.length,
        0,
      );
      const sources = new Set(plan.tensors.map((t) => t.source.replace(/\[\d+\](\.gate|\.up)?$/, "")));
      expect(sources.size, key).toBe(fileTensors);
      expect(
        plan.modules.every((m) => Object.keys(m.tensors).length > 0),
        key,
      ).toBe(true);
    }
  });

  test("experts are NVFP4 and attention/router/lm_head BF16, as the ignore list says", async () => {
    const plan = await openCheckpoint(dirs["native-nvfp4"]!);
    const format = (name: string) => plan.modules.find((m) => m.spec.name === name)?.format;
    expect(format("layers.0.experts.0.w1")).toBe("nvfp4");
    expect(format("layers.1.shared_experts.w2")).toBe("nvfp4");
    expect(format("layers.0.attention.wq_a")).toBe("bf16");
    expect(format("layers.0.gate")).toBe("bf16");
    expect(format("output")).toBe("bf16");
    const w1 = plan.modules.find((m) => m.spec.name === "layers.0.experts.0.w1")!;
    expect(Object.keys(w1.tensors).sort()).toEqual([
      "input_global_scale",
      "weight_global_scale",
      "weight_packed",
      "weight_scale",
    ]);
  });

  test("HF fused 3-D experts slice to the same bytes as the native per-expert tensors", async () => {
    const native = await openCheckpoint(dirs["native-bf16"]!);
    const hf = await openCheckpoint(dirs["hf-bf16"]!);
    expect(hf.fusedExperts).toBe(true);
    expect(native.fusedExperts).toBe(false);
    for (const name of [
      "layers.0.experts.0.w1.weight",
      "layers.0.experts.7.w3.weight",
      "layers.1.experts.5.w2.weight",
      "output.weight",
    ]) {
      expect(tensorBytes(hf, name).equals(tensorBytes(native, name)), name).toBe(true);
    }
    expect(hf.tensors.find((t) => t.name === "layers.1.experts.5.w3.weight")?.source).toMatch(
      /gate_up_proj\[5\]\.up$/,
    );
  });

  test("HF per-expert NVFP4 and FP8 names (weight_scale_inv, activation_scale) map onto canonical parts", async () => {
    const fp8 = await openCheckpoint(dirs["hf-fp8"]!);
    const wq = fp8.modules.find((m) => m.spec.name === "layers.0.attention.wq_b")!;
    expect(wq.format).toBe("fp8");
    expect(wq.tensors.weight_scale?.source).toMatch(/q_b_proj\.weight_scale_inv$/);
    expect(wq.tensors.input_scale?.source).toMatch(/q_b_proj\.activation_scale$/);
    const nv = await openCheckpoint(dirs["hf-nvfp4"]!);
    expect(nv.files.length).toBe(2);
    expect(
      tensorBytes(nv, "layers.1.experts.3.w2.weight_packed").equals(
        tensorBytes(await openCheckpoint(dirs["native-nvfp4"]!), "layers.1.experts.3.w2.weight_packed"),
      ),
    ).toBe(true);
  });

  test("Mistral's FP8 forms: every linear layer FP8 but the router (BF16, as vLLM and the release keep it)", async () => {
    for (const key of ["native-fp8", "hf-fp8", "hf-fp8-per-expert", "native-fp8-ct", "hf-fp8-ct-channel"]) {
      const plan = await openCheckpoint(dirs[key]!);
      const format = (name: string) => plan.modules.find((m) => m.spec.name === name)?.format;
      expect(format("layers.0.gate"), key).toBe("bf16");
      expect(format("layers.0.attention.wq_a"), key).toBe("fp8");
      expect(format("layers.1.experts.3.w2"), key).toBe("fp8");
      expect(format("layers.0.shared_experts.w1"), key).toBe("fp8");
      expect(format("output"), key).toBe("bf16");
      expect(format("tok_embeddings"), key).toBe("bf16");
      expect(format("vision_encoder.transformer.layers.0.attention.wq"), key).toBe("bf16");
    }
  });

  test("FP8 scales: per tensor in Mistral's form, per row in compressed-tensors channel form; fused HF experts share one scale for gate and up", async () => {
    const scaleShape = async (key: string, name: string) => {
      const m = (await openCheckpoint(dirs[key]!)).modules.find((x) => x.spec.name === name)!;
      return { shape: m.tensors.weight_scale!.shape, rows: m.spec.shape[0] };
    };
    expect((await scaleShape("native-fp8", "layers.0.attention.wq_b")).shape).toEqual([]);
    for (const [key, name] of [
      ["native-fp8-ct-channel", "layers.0.attention.wq_b"],
      ["hf-fp8-ct-channel", "layers.0.experts.2.w2"],
    ] as const) {
      const { shape, rows } = await scaleShape(key, name);
      expect(shape, key).toEqual([rows, 1]);
    }
    const fused = await openCheckpoint(dirs["hf-fp8"]!);
    expect(fused.fusedExperts).toBe(true);
    const w1 = fused.tensors.find((t) => t.name === "layers.1.experts.2.w1.weight_scale")!;
    const w3 = fused.tensors.find((t) => t.name === "layers.1.experts.2.w3.weight_scale")!;
    expect(w1.source).toMatch(/gate_up_proj_scale_inv\[2\]$/);
    expect([w1.offset, w1.length]).toEqual([w3.offset, w3.length]);
    const act = fused.tensors.find((t) => t.name === "layers.1.experts.2.w2.input_scale")!;
    expect(act.source).toMatch(/down_proj_activation_scale\[2\]$/);
    const ct = await openCheckpoint(dirs["hf-fp8-ct-channel"]!);
    expect(
      ct.modules.find((m) => m.spec.name === "layers.0.attention.wo")!.tensors.input_scale,
    ).toBeUndefined();
  });

  describe("hostile tensor tables are CheckpointErrors naming the tensor", () => {
    const cases: [string, Parameters<typeof rewrite>[2], RegExp][] = [
      [
        "a missing tensor",
        (ts) =>
          ts.splice(
            ts.findIndex((t) => t.name === "layers.1.attention.wo.weight"),
            1,
          ),
        /layers\.1\.attention\.wo.*missing/,
      ],
      [
        "a missing NVFP4 companion",
        (ts) =>
          ts.splice(
            ts.findIndex((t) => t.name === "layers.0.experts.2.w3.weight_global_scale"),
            1,
          ),
        /layers\.0\.experts\.2\.w3\.weight_global_scale: missing tensor/,
      ],
      [
        "an unexpected tensor",
        (ts) =>
          ts.push({
            name: "layers.0.attention.extra.weight",
            dtype: "BF16",
            shape: [2],
            data: new Uint8Array(4),
          }),
        /tensor layers\.0\.attention\.extra\.weight: unexpected tensor/,
      ],
      [
        "an expert that does not exist",
        (ts) =>
          ts.push({
            name: "layers.0.experts.99.w1.weight",
            dtype: "BF16",
            shape: [2],
            data: new Uint8Array(4),
          }),
        /layers\.0\.experts\.99\.w1\.weight: unexpected tensor/,
      ],
      [
        "a mis-shaped tensor",
        (ts) => {
          const t = ts.find((x) => x.name === "layers.0.attention.wq_a.weight")!;
          t.shape = [t.shape[1]!, t.shape[0]!];
        },
        /layers\.0\.attention\.wq_a\.weight: expected shape \[64, 128\], found \[128, 64\]/,
      ],
      [
        "a wrong dtype",
        (ts) => {
          const t = ts.find((x) => x.name === "layers.0.experts.1.w1.weight_scale")!;
          t.dtype = "U8";
        },
        /layers\.0\.experts\.1\.w1\.weight_scale: expected dtype F8_E4M3, found U8/,
      ],
      [
        "a BF16 weight where the config asks for NVFP4",
        (ts) => {
          const i = ts.findIndex((x) => x.name === "layers.0.experts.1.w2.weight_packed");
          for (const part of ["weight_packed", "weight_scale", "weight_global_scale", "input_global_scale"]) {
            ts.splice(
              ts.findIndex((x) => x.name === `layers.0.experts.1.w2.${part}`),
              1,
            );
          }
          ts.splice(i, 0, {
            name: "layers.0.experts.1.w2.weight",
            dtype: "BF16",
            shape: [128, 64],
            data: new Uint8Array(128 * 64 * 2),
          });
        },
        /layers\.0\.experts\.1\.w2: the quantization config says this module is NVFP4 .* but the checkpoint stores it as BF16/,
      ],
    ];
    for (const [name, edit, message] of cases) {
      test(name, async () => {
        const dst = join(tmp.dir, `bad-${name.replace(/\W+/g, "-")}`);
        await rewrite(dirs["native-nvfp4"]!, dst, edit);
        const run = openCheckpoint(dst);
        await expect(run).rejects.toBeInstanceOf(CheckpointError);
        await expect(openCheckpoint(dst)).rejects.toThrow(message);
      });
    }

    test("a tensor stored twice (fused and per-expert) is an error naming both", async () => {
      const dst = join(tmp.dir, "twice");
      const { cpSync } = await import("node:fs");
      cpSync(dirs["hf-bf16"]!, dst, { recursive: true });
      const shard = join(dst, "model-00002-of-00002.safetensors");
      const header = await readSafetensorsHeader(shard);
      const tensors = header.tensors.map((t) => ({
        name: t.name,
        dtype: t.dtype,
        shape: [...t.shape],
        data: new Uint8Array(readBytes(shard, t.begin, t.byteLength)),
      }));
      tensors.push({
        name: "language_model.model.layers.1.mlp.experts.0.gate_proj.weight",
        dtype: "BF16",
        shape: [64, 128],
        data: new Uint8Array(64 * 128 * 2),
      });
      await writeSafetensors(shard, tensors);
      const index = JSON.parse(readFileSync(join(dst, "model.safetensors.index.json"), "utf8"));
      index.weight_map["language_model.model.layers.1.mlp.experts.0.gate_proj.weight"] =
        "model-00002-of-00002.safetensors";
      writeFileSync(join(dst, "model.safetensors.index.json"), JSON.stringify(index));
      await expect(openCheckpoint(dst)).rejects.toThrow(
        /stored twice: as .*gate_up_proj\[0\]\.gate and as .*experts\.0\.gate_proj\.weight/,
      );
    });
  });
});
