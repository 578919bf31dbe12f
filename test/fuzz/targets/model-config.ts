/**
 * `params.json` and `config.json` (lib/config): the real model's files (test/fixtures/config), mutated as values or as
 * text, parsed in their layout. An accepted config is deeply frozen, holds only finite numbers, passes the config
 * validator again, and parses to the same config from its own JSON.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { packageRoot } from "../../../lib/addon/load";
import { parseJsonObject } from "../../../lib/config/json-fields";
import type { ModelConfig } from "../../../lib/config/model-config";
import { parseModelConfig } from "../../../lib/config/read-model-config";
import { validateModelConfig } from "../../../lib/config/validate";
import type { FuzzTarget } from "../harness";
import { mutatedJson, mutatedText } from "../mutate";

interface Input {
  readonly layout: "native" | "hf";
  readonly text: string;
}

// From the package root, so the target runs both under vitest and bundled by bench/run-ts.mjs.
const FIXTURES = join(packageRoot(), "test", "fixtures", "config");
const files = {
  native: readFileSync(join(FIXTURES, "mistral-small-4.params.json"), "utf8"),
  hf: readFileSync(join(FIXTURES, "mistral-small-4.config.json"), "utf8"),
};

const input: fc.Arbitrary<Input> = fc.constantFrom("native" as const, "hf" as const).chain((layout) => {
  const text = files[layout];
  return fc
    .oneof(
      { weight: 1, arbitrary: fc.constant(text) },
      { weight: 6, arbitrary: mutatedJson(JSON.parse(text), 4).map((v) => JSON.stringify(v) ?? "") },
      { weight: 2, arbitrary: mutatedText(text) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    )
    .map((t) => ({ layout, text: t }));
});

function fileName(layout: Input["layout"]): string {
  return layout === "native" ? "params.json" : "config.json";
}

function checkDeep(value: unknown, path: string): void {
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`${path} is ${value}`);
  if (value === null || typeof value !== "object") return;
  if (!Object.isFrozen(value)) throw new Error(`${path} is not frozen`);
  for (const [k, v] of Object.entries(value)) checkDeep(v, `${path}.${k}`);
}

export const modelConfigTarget: FuzzTarget<Input, ModelConfig> = {
  name: "model-config",
  reads: "params.json (Mistral-native) and config.json (Hugging Face)",
  input,
  parse: ({ layout, text }) =>
    parseModelConfig(parseJsonObject(text, fileName(layout)), layout, fileName(layout)),
  check: ({ layout, text }, config) => {
    checkDeep(config, "config");
    validateModelConfig(config);
    const again = parseModelConfig(JSON.parse(JSON.stringify(JSON.parse(text))), layout, fileName(layout));
    if (JSON.stringify(again) !== JSON.stringify(config))
      throw new Error("parsing the same JSON again differs");
  },
};
