/**
 * The constraint of a request that only forbids one token, e.g. `[TOOL_CALLS]` when no call may be made
 * (toolChoice "none", the default of a chat without tools): one mask sized to the model's vocabulary, built
 * once, with no token table (lib/constrain/) to build.
 */

import { maskWords } from "../engine/sampling-params";
import type { TokenConstraint } from "../engine/sequence";

export class ForbiddenTokenConstraint implements TokenConstraint {
  private readonly mask: Uint32Array;

  constructor(vocabSize: number, token: number) {
    this.mask = new Uint32Array(maskWords(vocabSize)).fill(0xffffffff);
    this.mask[token >>> 5]! &= ~(1 << (token & 31));
  }

  nextMask(): Uint32Array {
    return this.mask;
  }

  accept(): void {}

  isComplete(): boolean {
    return false;
  }
}
