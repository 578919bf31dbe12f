/** Loading the model for `serve`, `chat` and `bench`, with progress on stderr. */
import { ensureBuiltinModel } from "../model/builtin-model";
import type { LoadOptions } from "../model/load-options";
import { Model } from "../model/model";
import { checkpointBytes, LoadProgressReporter } from "./progress";

export const TINY_MODEL_NOTE =
  "[ms4] built-in tiny model: random weights, so the text is meaningless; pass --model DIR for a real checkpoint";

export async function loadModelWithProgress(
  dir: string | undefined,
  options: LoadOptions = {},
): Promise<Model> {
  const folder = dir ?? (await ensureBuiltinModel());
  const reporter = new LoadProgressReporter(process.stderr, checkpointBytes(folder));
  try {
    const model = await Model.load(folder, { ...options, onProgress: reporter.onProgress });
    reporter.done(dir === undefined ? "the built-in tiny model" : folder);
    return model;
  } catch (error) {
    reporter.clear();
    throw error;
  }
}
