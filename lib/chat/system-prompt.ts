/**
 * The default system prompt some Mistral checkpoints ship as `SYSTEM_PROMPT.txt`, with `{name}`,
 * `{today}` and `{yesterday}` placeholders (dates as YYYY-MM-DD), filled the way their model cards do
 * (`template.format(name=…, today=…, yesterday=…)`). Other `{…}` text is left as it is.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";

export const SYSTEM_PROMPT_FILE = "SYSTEM_PROMPT.txt";

export interface DefaultSystemPromptOptions {
  /** Fills `{name}`, e.g. the checkpoint folder name. */
  readonly modelName: string;
  /** The date used for `{today}` and `{yesterday}` (local calendar date); defaults to now. */
  readonly today?: Date;
}

/** Reads `dir/SYSTEM_PROMPT.txt` and fills its placeholders; undefined when the file does not exist. */
export function loadDefaultSystemPrompt(
  dir: string,
  options: DefaultSystemPromptOptions,
): string | undefined {
  let template: string;
  try {
    template = readFileSync(join(dir, SYSTEM_PROMPT_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return fillSystemPrompt(template, options);
}

export function fillSystemPrompt(template: string, options: DefaultSystemPromptOptions): string {
  const today = options.today ?? new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  const values: Readonly<Record<string, string>> = {
    name: options.modelName,
    today: isoDate(today),
    yesterday: isoDate(yesterday),
  };
  // Python str.format, as the model cards apply it: "{{" and "}}" are literal braces.
  return template.replace(/\{\{|\}\}|\{(name|today|yesterday)\}/g, (match, key: string | undefined) =>
    key === undefined ? match[0]! : (values[key] ?? match),
  );
}

function isoDate(d: Date): string {
  const mm = String(d.getMonth() + 1).padStart(2, "0");
  const dd = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${mm}-${dd}`;
}
