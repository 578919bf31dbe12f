import { describe, expect, it } from "vitest";
import { encodeSafetensorsHeader, parseSafetensorsHeader } from "../../lib/checkpoint/safetensors/index";
import { CheckpointError } from "../../lib/errors";
import { mulberry32 } from "./helpers";

function validFile(): Uint8Array {
  const { bytes, fileSize } = encodeSafetensorsHeader(
    [
      { name: "layers.0.attention.wq.weight", dtype: "BF16", shape: [4, 8] },
      { name: "layers.0.experts.0.w1.weight_packed", dtype: "U8", shape: [4, 4] },
      { name: "layers.0.experts.0.w1.weight_scale", dtype: "F8_E4M3", shape: [4, 1] },
      { name: "layers.0.experts.0.w1.weight_global_scale", dtype: "F32", shape: [1] },
      { name: "norm.weight", dtype: "F32", shape: [8] },
    ],
    { format: "pt" },
  );
  const file = new Uint8Array(fileSize);
  file.set(bytes);
  for (let i = bytes.length; i < fileSize; i++) file[i] = i & 0xff;
  return file;
}

type Mutation = (file: Uint8Array, random: () => number) => Uint8Array;

const mutations: Mutation[] = [
  (file, random) => file.subarray(0, Math.floor(random() * file.length)),
  (file, random) => {
    const copy = file.slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(random() * copy.length);
      copy[at] = copy[at]! ^ (1 << Math.floor(random() * 8));
    }
    return copy;
  },
  (file, random) => {
    const copy = file.slice();
    const headerEnd = Number(new DataView(file.buffer).getBigUint64(0, true)) + 8;
    copy[8 + Math.floor(random() * (headerEnd - 8))] = Math.floor(random() * 256);
    return copy;
  },
  (file, random) => {
    const copy = file.slice();
    const view = new DataView(copy.buffer);
    const choices = [0n, 1n, 7n, 2n ** 63n, 2n ** 64n - 1n, BigInt(Math.floor(random() * 2 ** 32))];
    view.setBigUint64(0, choices[Math.floor(random() * choices.length)]!, true);
    return copy;
  },
  (file, random) => {
    const at = Math.floor(random() * file.length);
    const inserted = Uint8Array.from({ length: 1 + Math.floor(random() * 8) }, () =>
      Math.floor(random() * 256),
    );
    const out = new Uint8Array(file.length + inserted.length);
    out.set(file.subarray(0, at));
    out.set(inserted, at);
    out.set(file.subarray(at), at + inserted.length);
    return out;
  },
  (file, random) => {
    // Rewrite a digit inside the JSON so shapes/offsets change while the JSON stays valid.
    const copy = file.slice();
    const headerEnd = Number(new DataView(file.buffer).getBigUint64(0, true)) + 8;
    const digits: number[] = [];
    for (let i = 8; i < headerEnd; i++) if (copy[i]! >= 0x30 && copy[i]! <= 0x39) digits.push(i);
    copy[digits[Math.floor(random() * digits.length)]!] = 0x30 + Math.floor(random() * 10);
    return copy;
  },
];

describe("safetensors header fuzzing", () => {
  it("never throws anything but CheckpointError on mutated or truncated files, and accepted files stay consistent", () => {
    const file = validFile();
    const random = mulberry32(2024);
    let accepted = 0;
    for (let trial = 0; trial < 4000; trial++) {
      const mutate = mutations[trial % mutations.length]!;
      const mutated = mutate(file, random);
      try {
        const header = parseSafetensorsHeader("fuzz.safetensors", mutated.length, mutated);
        accepted += 1;
        let position = header.dataStart;
        for (const tensor of header.tensors) {
          expect(tensor.begin).toBe(position);
          position = tensor.end;
        }
        expect(position).toBe(mutated.length);
      } catch (error) {
        if (!(error instanceof CheckpointError)) throw error;
        expect(error.message).toContain("fuzz.safetensors");
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
