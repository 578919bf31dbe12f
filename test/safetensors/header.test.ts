import { describe, expect, it } from "vitest";
import {
  parseSafetensorsHeader,
  SAFETENSORS_DTYPE_BITS,
  SAFETENSORS_MAX_HEADER_BYTES,
} from "../../lib/checkpoint/safetensors/index";
import { InvalidArgumentError } from "../../lib/errors";
import { expectCheckpointError, rawSafetensors } from "./helpers";

const FILE = "shard-1.safetensors";

function parse(bytes: Uint8Array) {
  return parseSafetensorsHeader(FILE, bytes.length, bytes);
}

function tensor(dtype: string, shape: number[], begin: number, end: number) {
  return { dtype, shape, data_offsets: [begin, end] };
}

describe("parseSafetensorsHeader on valid input", () => {
  it("returns absolute offsets, metadata and tensors sorted by offset", () => {
    const bytes = rawSafetensors(
      { b: tensor("F32", [2], 8, 16), __metadata__: { format: "pt" }, a: tensor("BF16", [2, 2], 0, 8) },
      16,
    );
    const header = parse(bytes);
    const dataStart = bytes.length - 16;
    expect(header.dataStart).toBe(dataStart);
    expect(header.headerSize).toBe(dataStart - 8);
    expect(header.metadata).toEqual({ format: "pt" });
    expect(header.tensors.map((t) => [t.name, t.begin, t.end, t.byteLength])).toEqual([
      ["a", dataStart, dataStart + 8, 8],
      ["b", dataStart + 8, dataStart + 16, 8],
    ]);
    expect(header.byName.get("b")?.shape).toEqual([2]);
  });

  it("accepts an empty header object, scalars, zero-size tensors, padding spaces and a null __metadata__", () => {
    expect(parse(rawSafetensors("{}    ")).tensors).toEqual([]);
    const header = parse(
      rawSafetensors(
        {
          __metadata__: null,
          s: tensor("I64", [], 0, 8),
          e: tensor("U8", [0, 5], 8, 8),
          z: tensor("F16", [3, 0], 8, 8),
        },
        8,
      ),
    );
    expect(header.metadata).toEqual({});
    expect(header.tensors.map((t) => t.name)).toEqual(["s", "e", "z"]);
  });

  it("knows every safetensors dtype's size, including sub-byte F4/F6", () => {
    expect(SAFETENSORS_DTYPE_BITS.F4).toBe(4);
    expect(SAFETENSORS_DTYPE_BITS.F6_E2M3).toBe(6);
    expect(SAFETENSORS_DTYPE_BITS.F8_E4M3).toBe(8);
    expect(SAFETENSORS_DTYPE_BITS.C64).toBe(64);
    expect(parse(rawSafetensors({ f4: tensor("F4", [2, 3], 0, 3) }, 3)).tensors[0]?.byteLength).toBe(3);
    expect(parse(rawSafetensors({ f6: tensor("F6_E3M2", [4], 0, 3) }, 3)).tensors[0]?.byteLength).toBe(3);
  });

  it("keeps a tensor named __proto__ as data rather than touching prototypes", () => {
    const header = parse(rawSafetensors('{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1));
    expect(header.byName.get("__proto__")?.byteLength).toBe(1);
  });

  it("rejects a prefix shorter than the header it declares as a caller error", () => {
    const bytes = rawSafetensors({ a: tensor("U8", [1], 0, 1) }, 1);
    expect(() => parseSafetensorsHeader(FILE, bytes.length, bytes.subarray(0, 10))).toThrow(
      InvalidArgumentError,
    );
  });
});

describe("parseSafetensorsHeader on hostile input", () => {
  it("rejects files shorter than the 8-byte length", () => {
    expectCheckpointError(() => parse(new Uint8Array(0)), { file: FILE, message: /0 bytes long/ });
    expectCheckpointError(() => parse(new Uint8Array(7)), { file: FILE, message: /7 bytes long/ });
  });

  it("rejects an absurd header length", () => {
    const huge = rawSafetensors("{}", 0, { declaredHeaderLength: 2n ** 64n - 1n });
    expectCheckpointError(() => parse(huge), { file: FILE, message: /exceeds the 100000000-byte limit/ });
    const justOver = rawSafetensors("{}", 0, {
      declaredHeaderLength: BigInt(SAFETENSORS_MAX_HEADER_BYTES + 1),
    });
    expectCheckpointError(() => parse(justOver), { file: FILE, message: /limit/ });
  });

  it("rejects a header length beyond the end of the file", () => {
    const bytes = rawSafetensors("{}", 0, { declaredHeaderLength: 3n });
    expectCheckpointError(() => parse(bytes), { file: FILE, message: /past the end of the file/ });
    const truncated = rawSafetensors({ a: tensor("U8", [4], 0, 4) }, 4).subarray(0, 20);
    expectCheckpointError(() => parse(truncated), { file: FILE, message: /truncated/ });
  });

  it("rejects headers that are not UTF-8, not JSON, or not a JSON object", () => {
    const notUtf8 = rawSafetensors('{"a":1}');
    notUtf8[10] = 0xff;
    expectCheckpointError(() => parse(notUtf8), { file: FILE, message: /not valid UTF-8/ });
    expectCheckpointError(() => parse(rawSafetensors("{not json")), {
      file: FILE,
      message: /not valid JSON/,
    });
    expectCheckpointError(() => parse(rawSafetensors("")), { file: FILE, message: /not valid JSON/ });
    expectCheckpointError(() => parse(rawSafetensors("\uFEFF{}")), { file: FILE, message: /not valid JSON/ });
    expectCheckpointError(() => parse(rawSafetensors("{}\0\0")), { file: FILE, message: /not valid JSON/ });
    expectCheckpointError(() => parse(rawSafetensors("[]")), {
      file: FILE,
      message: /must be a JSON object/,
    });
    expectCheckpointError(() => parse(rawSafetensors("null")), {
      file: FILE,
      message: /must be a JSON object/,
    });
    expectCheckpointError(() => parse(rawSafetensors("42")), {
      file: FILE,
      message: /must be a JSON object/,
    });
  });

  it("rejects __metadata__ that is not a map of strings", () => {
    expectCheckpointError(() => parse(rawSafetensors({ __metadata__: ["x"] })), {
      file: FILE,
      message: /__metadata__/,
    });
    expectCheckpointError(() => parse(rawSafetensors({ __metadata__: { n: 1 } })), {
      file: FILE,
      message: /__metadata__\.n must be a string/,
    });
  });

  it("rejects tensor entries with missing or mistyped fields", () => {
    const cases: [unknown, RegExp][] = [
      ["F32", /must be an object/],
      [null, /must be an object/],
      [{ shape: [1], data_offsets: [0, 4] }, /missing "dtype"/],
      [{ dtype: "F32", data_offsets: [0, 4] }, /missing "shape"/],
      [{ dtype: "F32", shape: [1] }, /missing "data_offsets"/],
      [{ dtype: 7, shape: [1], data_offsets: [0, 4] }, /unknown dtype 7/],
      [{ dtype: "F32", shape: "1", data_offsets: [0, 4] }, /shape must be an array/],
      [
        { dtype: "F32", shape: [-1], data_offsets: [0, 4] },
        /shape must be an array of non-negative integers/,
      ],
      [{ dtype: "F32", shape: [1.5], data_offsets: [0, 4] }, /shape/],
      [{ dtype: "F32", shape: [2 ** 53], data_offsets: [0, 4] }, /shape/],
      [{ dtype: "F32", shape: [null], data_offsets: [0, 4] }, /shape/],
      [{ dtype: "F32", shape: [1], data_offsets: [0] }, /data_offsets must be \[begin, end\]/],
      [{ dtype: "F32", shape: [1], data_offsets: [0, 4, 8] }, /data_offsets/],
      [{ dtype: "F32", shape: [1], data_offsets: [-4, 0] }, /data_offsets/],
      [{ dtype: "F32", shape: [1], data_offsets: [0, 4.5] }, /data_offsets/],
      [{ dtype: "F32", shape: [1], data_offsets: [0, 1e300] }, /data_offsets/],
      [{ dtype: "F32", shape: [1], data_offsets: "0,4" }, /data_offsets/],
    ];
    for (const [entry, message] of cases) {
      expectCheckpointError(() => parse(rawSafetensors({ "layers.0.w": entry }, 4)), {
        file: FILE,
        tensor: "layers.0.w",
        message,
      });
    }
  });

  it("rejects unknown dtypes, naming the supported ones", () => {
    for (const dtype of ["F128", "f32", "float32", ""]) {
      expectCheckpointError(() => parse(rawSafetensors({ w: tensor(dtype, [1], 0, 4) }, 4)), {
        file: FILE,
        tensor: "w",
        message: /unknown dtype .*expected one of BOOL, F4/,
      });
    }
  });

  it("rejects offsets that end before they begin or run past the data section", () => {
    expectCheckpointError(() => parse(rawSafetensors({ w: tensor("U8", [0], 4, 0) }, 4)), {
      file: FILE,
      tensor: "w",
      message: /end before they begin/,
    });
    expectCheckpointError(() => parse(rawSafetensors({ w: tensor("U8", [8], 0, 8) }, 4)), {
      file: FILE,
      tensor: "w",
      message: /run past the end of the data section \(4 bytes\)/,
    });
  });

  it("rejects byte counts that differ from dtype size × elements, without overflowing", () => {
    expectCheckpointError(() => parse(rawSafetensors({ w: tensor("F32", [2, 3], 0, 16) }, 16)), {
      file: FILE,
      tensor: "w",
      message: /F32 \[2,3\] needs 24 bytes but data_offsets \[0, 16\] hold 16/,
    });
    const overflowing = [2 ** 40, 2 ** 40, 2 ** 40];
    expectCheckpointError(() => parse(rawSafetensors({ w: tensor("F64", overflowing, 0, 8) }, 8)), {
      file: FILE,
      tensor: "w",
      message: /needs 10633823966279326983230456482242756608 bytes/,
    });
    expectCheckpointError(() => parse(rawSafetensors({ w: tensor("F4", [3], 0, 2) }, 2)), {
      file: FILE,
      tensor: "w",
      message: /12 bits, not a whole number of bytes/,
    });
  });

  it("rejects overlapping tensors, naming both", () => {
    const bytes = rawSafetensors({ a: tensor("U8", [8], 0, 8), b: tensor("U8", [8], 4, 12) }, 12);
    expectCheckpointError(() => parse(bytes), { file: FILE, tensor: "b", message: /overlap tensor a/ });
    const inside = rawSafetensors({ a: tensor("U8", [8], 0, 8), z: tensor("U8", [0], 4, 4) }, 8);
    expectCheckpointError(() => parse(inside), { file: FILE, tensor: "z", message: /overlap tensor a/ });
  });

  it("rejects holes before, between and after tensors (the Rust crate requires contiguous data)", () => {
    expectCheckpointError(() => parse(rawSafetensors({ a: tensor("U8", [4], 4, 8) }, 8)), {
      file: FILE,
      tensor: "a",
      message: /bytes \[0, 4\) before this tensor belong to no tensor/,
    });
    const gap = rawSafetensors({ a: tensor("U8", [4], 0, 4), b: tensor("U8", [4], 6, 10) }, 10);
    expectCheckpointError(() => parse(gap), { file: FILE, tensor: "b", message: /\[4, 6\)/ });
    expectCheckpointError(() => parse(rawSafetensors({ a: tensor("U8", [4], 0, 4) }, 6)), {
      file: FILE,
      message: /last 2 bytes of the file belong to no tensor/,
    });
    expectCheckpointError(() => parse(rawSafetensors({}, 1)), { file: FILE, message: /belong to no tensor/ });
  });

  it("rejects duplicate tensor names and duplicate keys that JSON.parse would silently merge", () => {
    const entry = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}';
    expectCheckpointError(() => parse(rawSafetensors(`{"w":${entry},"w":${entry}}`, 1)), {
      file: FILE,
      tensor: "w",
      message: /appears twice/,
    });
    const escaped = rawSafetensors(`{"w":${entry},"\\u0077":${entry}}`, 1);
    expectCheckpointError(() => parse(escaped), { file: FILE, tensor: "w", message: /appears twice/ });
    const field = rawSafetensors('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"dtype":"U8"}}', 1);
    expectCheckpointError(() => parse(field), { file: FILE, tensor: "w", message: /key "dtype" twice/ });
    const metadata = rawSafetensors('{"__metadata__":{"k":"1","k":"2"}}');
    expectCheckpointError(() => parse(metadata), {
      file: FILE,
      message: /__metadata__ has the key "k" twice/,
    });
  });

  it("does not mistake repeated keys in different objects or inside strings for duplicates", () => {
    const text =
      '{"__metadata__":{"note":"\\"a\\":{,}[","a":"x"},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},' +
      '"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    expect(parse(rawSafetensors(text, 2)).tensors.map((t) => t.name)).toEqual(["a", "b"]);
  });

  it("rejects an empty tensor name", () => {
    expectCheckpointError(() => parse(rawSafetensors({ "": tensor("U8", [1], 0, 1) }, 1)), {
      file: FILE,
      tensor: '""',
      message: /must not be empty/,
    });
  });
});
