/**
 * Shard indexes (`*.safetensors.index.json`, lib/checkpoint/safetensors/shard-index.ts): a valid index over generated
 * shards, mutated as a value or as text, checked against the shards' headers. An accepted index names only plain
 * `*.safetensors` files, its weight map round-trips through JSON, and once it agrees with the headers every tensor is
 * in exactly the shard the map names.
 */
import fc from "fast-check";
import type { SafetensorsHeader, SafetensorsTensor } from "../../../lib/checkpoint/safetensors/header";
import {
  checkShardIndexMatchesHeaders,
  isPlainFileName,
  parseShardIndexJson,
  type ShardIndex,
} from "../../../lib/checkpoint/safetensors/shard-index";
import type { FuzzTarget } from "../harness";
import { mutatedJson, mutatedText } from "../mutate";

const INDEX = "/checkpoint/model.safetensors.index.json";

interface Input {
  readonly text: string;
  /** shard file name → tensor names it holds */
  readonly shards: Record<string, string[]>;
}

function header(names: string[]): SafetensorsHeader {
  const tensors: SafetensorsTensor[] = names.map((name, i) => ({
    name,
    dtype: "F32",
    shape: [1],
    begin: 16 + 4 * i,
    end: 20 + 4 * i,
    byteLength: 4,
  }));
  return {
    headerSize: 8,
    dataStart: 16,
    metadata: {},
    tensors,
    byName: new Map(tensors.map((t) => [t.name, t])),
  };
}

const shardName = fc.oneof(
  fc.constantFrom(
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "consolidated.safetensors",
  ),
  fc.constantFrom(
    "../x.safetensors",
    "a/b.safetensors",
    "C:x.safetensors",
    ".safetensors",
    "x.bin",
    "\u0000.safetensors",
  ),
);
const tensorName = fc.oneof(
  fc.constantFrom("layers.0.attention.wq.weight", "norm.weight", "output.weight", "__proto__", ""),
  fc.string({ maxLength: 10 }),
);

const input: fc.Arbitrary<Input> = fc
  .array(fc.tuple(tensorName, shardName), { maxLength: 8 })
  .chain((pairs) => {
    const entries = pairs.filter(([t], i) => pairs.findIndex(([u]) => u === t) === i);
    const weightMap = Object.fromEntries(entries);
    const shards: Record<string, string[]> = {};
    for (const [t, s] of entries) {
      const list = shards[s] ?? [];
      list.push(t);
      shards[s] = list;
    }
    const index = { metadata: { total_size: 4 * entries.length }, weight_map: weightMap };
    const text = JSON.stringify(index);
    return fc
      .oneof(
        fc.constant(text),
        mutatedJson(index).map((v) => JSON.stringify(v) ?? ""),
        mutatedText(text),
        fc.constant(`${text.slice(0, -1)},"weight_map":{}}`),
      )
      .chain((t) =>
        // The headers agree with the index, or a tensor moved, went missing or appeared.
        fc
          .oneof(
            fc.constant(shards),
            fc.constant(
              Object.fromEntries(
                Object.entries(shards).map(([s, names], i) => [s, i === 0 ? [...names, "extra"] : names]),
              ),
            ),
            fc.constant(Object.fromEntries(Object.entries(shards).map(([s, names]) => [s, names.slice(1)]))),
          )
          .map((sh) => ({ text: t, shards: sh })),
      );
  });

export const shardIndexTarget: FuzzTarget<Input, ShardIndex> = {
  name: "shard-index",
  reads: "a sharded checkpoint's index JSON, checked against its shards' headers",
  input,
  parse: ({ text, shards }) => {
    const { metadata, weightMap } = parseShardIndexJson(INDEX, text);
    const index: ShardIndex = {
      indexPath: INDEX,
      metadata,
      weightMap,
      shards: [...new Set(weightMap.values())].sort(),
    };
    const headers = new Map(index.shards.map((s) => [s, header(shards[s] ?? [])]));
    checkShardIndexMatchesHeaders(index, headers);
    return index;
  },
  check: ({ shards }, index) => {
    for (const [tensor, shard] of index.weightMap) {
      if (tensor === "") throw new Error("an empty tensor name was accepted");
      if (!isPlainFileName(shard) || !shard.endsWith(".safetensors"))
        throw new Error(`shard ${shard} was accepted`);
      if (!(shards[shard] ?? []).includes(tensor)) throw new Error(`${tensor} is not in ${shard}`);
    }
    for (const shard of index.shards) {
      for (const tensor of shards[shard] ?? []) {
        if (index.weightMap.get(tensor) !== shard)
          throw new Error(`${tensor} of ${shard} is mapped elsewhere`);
      }
    }
    const again = parseShardIndexJson(
      INDEX,
      JSON.stringify({ weight_map: Object.fromEntries(index.weightMap) }),
    );
    if (JSON.stringify([...again.weightMap]) !== JSON.stringify([...index.weightMap]))
      throw new Error("the weight map does not round-trip");
  },
};
