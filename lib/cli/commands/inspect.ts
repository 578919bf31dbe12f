/** `ms4 inspect`: a checkpoint's architecture, parameter counts and memory, without loading its weights. */
import { parseArgs } from "node:util";
import { formatInspectReport, inspectCheckpoint } from "../../inspect/inspect";
import { ensureBuiltinModel } from "../../model/builtin-model";
import { oneOf, UsageError } from "../args";
import type { Command } from "../command";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "architecture, parameter counts, bytes per dtype, weight and KV memory of a checkpoint",
  help: `Usage: ms4 inspect [DIR] [--layout native|hf] [--json]

Architecture, parameter counts, bytes per dtype, quantized vs ignored modules, memory for weights and
KV cache. Reads the config and the safetensors headers only. Without DIR: the built-in tiny model.

Options:
  --layout native|hf   which layout to read when the folder holds both params.json and config.json
  --json               print the report as JSON`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { layout: { type: "string" }, json: { type: "boolean", default: false } },
    });
    if (positionals.length > 1) throw new UsageError("inspect takes at most one folder", "inspect");
    const dir = positionals[0] ?? (await ensureBuiltinModel());
    const report = await inspectCheckpoint(dir, {
      layout: oneOf(values.layout, ["native", "hf"] as const, "layout"),
    });
    if (values.json) {
      const { config, ...rest } = report;
      console.log(JSON.stringify({ ...rest, config }, null, 2));
    } else {
      console.log(formatInspectReport(report));
    }
    return 0;
  },
};
