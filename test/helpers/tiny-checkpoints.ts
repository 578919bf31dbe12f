/**
 * Generated tiny checkpoints for tests: one temp root per suite, each (layout, quant, seed, fusedExperts)
 * written once on first use, everything removed by `cleanup()` (call it in afterAll).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GeneratedQuant } from "../../lib/tiny/config-files";
import { makeTiny } from "../../lib/tiny/make-tiny";

export interface TinyCheckpointSpec {
  readonly layout: "native" | "hf";
  readonly quant: GeneratedQuant;
  readonly seed?: number;
  /** HF only: fused 3-D experts (makeTiny's default: true for bf16, false otherwise). */
  readonly fusedExperts?: boolean;
}

export class TinyCheckpoints {
  private readonly made = new Map<string, Promise<string>>();

  private constructor(readonly root: string) {}

  static async create(prefix = "ms4-tiny-"): Promise<TinyCheckpoints> {
    return new TinyCheckpoints(await mkdtemp(join(tmpdir(), prefix)));
  }

  /** The folder of the checkpoint for `spec`, generating it the first time it is asked for. */
  get(spec: TinyCheckpointSpec): Promise<string> {
    const seed = spec.seed ?? 0;
    const fused = spec.fusedExperts === undefined ? "default" : String(spec.fusedExperts);
    const key = `${spec.layout}-${spec.quant}-s${seed}-f${fused}`;
    let dir = this.made.get(key);
    if (!dir) {
      const path = join(this.root, key);
      dir = makeTiny(path, {
        layout: spec.layout,
        quant: spec.quant,
        seed,
        preset: "tiny",
        ...(spec.fusedExperts === undefined ? {} : { fusedExperts: spec.fusedExperts }),
      }).then(() => path);
      this.made.set(key, dir);
    }
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.made.values());
    await rm(this.root, { recursive: true, force: true });
  }
}
