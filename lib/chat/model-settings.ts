/**
 * Model settings (v15 `[MODEL_SETTINGS]`), as mistral-common's `ModelSettingsBuilder` builds them
 * (`tokens/tokenizers/model_settings_builder.py`) from the tokenizer's `model_settings_builder`:
 * a missing request value takes the field's default when the field accepts none, is refused when it
 * does not; a value must be one of the field's enum values; fields the tokenizer does not declare are
 * ignored. The rendered JSON has sorted keys and leaves out unset fields; when nothing is set nothing
 * is rendered (`InstructTokenizerV15._encode_settings`).
 */

import { ChatFormatError } from "../errors";
import type { ModelSettingSpec } from "../tokenizer/types";
import { pythonJsonDumps } from "./python-json";

export type ModelSettingValues = Readonly<Record<string, string | null>>;

export function buildModelSettings(
  specs: Readonly<Record<string, ModelSettingSpec>>,
  requested: ModelSettingValues,
): Record<string, string> {
  const built: Record<string, string> = {};
  for (const [field, spec] of Object.entries(specs)) {
    const value = requested[field] ?? null;
    if (value === null) {
      if (!spec.acceptsNone) throw new ChatFormatError(`${field} must be set for this model`);
      if (spec.default !== null) built[field] = checkValue(field, spec, spec.default);
    } else {
      built[field] = checkValue(field, spec, value);
    }
  }
  return built;
}

function checkValue(field: string, spec: ModelSettingSpec, value: string): string {
  if (spec.values.length === 0) throw new ChatFormatError(`${field} is not supported by this model`);
  if (!spec.values.includes(value)) {
    throw new ChatFormatError(
      `${field} must be one of ${JSON.stringify(spec.values)} for this model, got "${value}"`,
    );
  }
  return value;
}

/** The JSON between `[MODEL_SETTINGS]` and `[/MODEL_SETTINGS]`, or undefined when no setting is set. */
export function modelSettingsJson(settings: Readonly<Record<string, string>>): string | undefined {
  if (Object.keys(settings).length === 0) return undefined;
  return pythonJsonDumps(settings, { sortKeys: true });
}
