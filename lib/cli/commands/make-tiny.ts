/** `ms4 make-tiny`: write a deterministic generated checkpoint (random weights) with the real architecture. */
import { parseArgs } from "node:util";
import { GENERATED_QUANTS } from "../../tiny/config-files";
import { makeTiny } from "../../tiny/make-tiny";
import { PRESET_NAMES, type PresetName } from "../../tiny/presets";
import { intOption, oneOf, UsageError } from "../args";
import type { Command } from "../command";

export const makeTinyCommand: Command = {
  name: "make-tiny",
  summary: "write a deterministic generated checkpoint (random weights)",
  help: `Usage: ms4 make-tiny DIR [--layout native|hf] [--quant ${GENERATED_QUANTS.join("|")}] [--seed N]
                     [--preset ${PRESET_NAMES.join("|")}] [--shards N] [--no-vision]

Write a deterministic generated checkpoint (random weights) with the real architecture into DIR (a small vision
tower included, unless --no-vision).

Options:
  --layout native|hf        Mistral-native (params.json) or Hugging Face (config.json) files (default native)
  --quant FORMAT            weight format of the quantized modules: ${GENERATED_QUANTS.join(", ")} (default nvfp4)
  --seed N                  random seed (same seed, same bytes)
  --preset NAME             tiny (default), real-2layer (real per-layer sizes, 2 layers, 5.9 GB) or real
  --shards N                split the weights into N safetensors files
  --no-vision               leave the vision tower out (a text-only checkpoint)`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        layout: { type: "string" },
        quant: { type: "string" },
        seed: { type: "string" },
        preset: { type: "string" },
        shards: { type: "string" },
        "no-vision": { type: "boolean", default: false },
      },
    });
    const dir = positionals[0];
    if (!dir || positionals.length > 1)
      throw new UsageError("make-tiny needs exactly one output folder", "make-tiny");
    const started = Date.now();
    let lastReport = 0;
    const result = await makeTiny(dir, {
      layout: oneOf(values.layout, ["native", "hf"] as const, "layout"),
      quant: oneOf(values.quant, GENERATED_QUANTS, "quant"),
      seed: intOption(values.seed, "seed"),
      preset: oneOf(values.preset, PRESET_NAMES, "preset") as PresetName | undefined,
      shards: intOption(values.shards, "shards"),
      vision: !values["no-vision"],
      onProgress: ({ done, total }) => {
        const now = Date.now();
        if (process.stderr.isTTY && (now - lastReport > 500 || done === total)) {
          lastReport = now;
          process.stderr.write(`\rwriting weights ${((100 * done) / total).toFixed(0)}%`);
        }
      },
    });
    if (process.stderr.isTTY) process.stderr.write("\n");
    console.log(
      `wrote ${result.files.length} weight file(s), ${(result.bytes / 2 ** 20).toFixed(1)} MiB, to ${result.dir} in ${((Date.now() - started) / 1000).toFixed(1)} s (random weights)`,
    );
    return 0;
  },
};
