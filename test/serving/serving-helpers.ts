/**
 * Shared setup of the serving tests: one generated tiny checkpoint per test file (random weights), models
 * loaded on it with the engine options a test needs, and deterministic prompts of any length.
 */
import type { LoadOptions } from "../../lib/model/load-options";
import { Model } from "../../lib/model/model";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

export class ServingFixture {
  private readonly models: Model[] = [];

  private constructor(
    private readonly checkpoints: TinyCheckpoints,
    readonly dir: string,
  ) {}

  static async create(): Promise<ServingFixture> {
    const checkpoints = await TinyCheckpoints.create("ms4-serving-");
    const dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 11 });
    return new ServingFixture(checkpoints, dir);
  }

  /** A model on the fixture's checkpoint (threads: 2, the default BF16 KV cache); disposed by cleanup(). */
  async load(options: LoadOptions = {}): Promise<Model> {
    const model = await Model.load(this.dir, {
      threads: 2,
      maxContext: 1024,
      kvCacheMemory: 4 << 20,
      ...options,
    });
    this.models.push(model);
    return model;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.models.map((m) => m.dispose()));
    await this.checkpoints.cleanup();
  }
}

/** `length` ordinary (non-special) token ids after BOS, different for each `salt`. */
export function promptOf(model: Model, length: number, salt: number): number[] {
  const first = model.tokenizer.numSpecialTokens;
  const span = model.tokenizer.vocabSize - first;
  return [
    model.tokenizer.bosId,
    ...Array.from(
      { length: length - 1 },
      (_, i) => first + ((i * 7919 + salt * 104729 + salt * i * 31) % span),
    ),
  ];
}

/** Memory the pool has outstanding: every block free again once nothing runs. */
export function poolIsFree(model: Model): boolean {
  const s = model.stats();
  return s.running === 0 && s.waiting === 0 && s.usedBlocks === 0 && s.freeBlocks === s.numBlocks;
}
