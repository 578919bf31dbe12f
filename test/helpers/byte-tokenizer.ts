/**
 * A minimal Tokenizer for tests: 1000 special slots at the ranks of docs/model.md#special-tokens (unnamed:
 * `<SPECIAL_i>`), then one token per byte value (id = byte + 1000). Encoding is the UTF-8 bytes.
 */

import { TokenizerError } from "../../lib/errors";
import type {
  ModelSettingSpec,
  SpecialTokenPolicy,
  Tokenizer,
  TokenizerImageConfig,
} from "../../lib/tokenizer/types";

export const NUM_SPECIAL = 1000;

/** Special-token ranks from docs/model.md#special-tokens (fixed 0–19, then mistral-common's test layout). */
export const SPECIAL_RANKS: Readonly<Record<string, number>> = {
  "<unk>": 0,
  "<s>": 1,
  "</s>": 2,
  "[INST]": 3,
  "[/INST]": 4,
  "[AVAILABLE_TOOLS]": 5,
  "[/AVAILABLE_TOOLS]": 6,
  "[TOOL_RESULTS]": 7,
  "[/TOOL_RESULTS]": 8,
  "[TOOL_CALLS]": 9,
  "[IMG]": 10,
  "<pad>": 11,
  "[IMG_BREAK]": 12,
  "[IMG_END]": 13,
  "[PREFIX]": 14,
  "[MIDDLE]": 15,
  "[SUFFIX]": 16,
  "[SYSTEM_PROMPT]": 17,
  "[/SYSTEM_PROMPT]": 18,
  "[TOOL_CONTENT]": 19,
  "[AUDIO]": 24,
  "[BEGIN_AUDIO]": 25,
  "[ARGS]": 32,
  "[CALL_ID]": 33,
  "[THINK]": 35,
  "[/THINK]": 36,
  "[MODEL_SETTINGS]": 37,
  "[/MODEL_SETTINGS]": 38,
};

export const MS4_IMAGE_CONFIG: TokenizerImageConfig = {
  imagePatchSize: 14,
  maxImageSize: 1540,
  spatialMergeSize: 2,
};

export const REASONING_EFFORT_SETTING: ModelSettingSpec = {
  type: "enum",
  values: ["none", "high"],
  acceptsNone: true,
  default: "none",
};

export interface ByteTokenizerOptions {
  readonly version?: string;
  readonly image?: TokenizerImageConfig | undefined;
  readonly modelSettings?: Readonly<Record<string, ModelSettingSpec>>;
  /** Special strings to leave out, e.g. ["[THINK]", "[/THINK]"] for a tokenizer without reasoning tokens. */
  readonly without?: readonly string[];
}

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = NUM_SPECIAL + 256;
  readonly numSpecialTokens = NUM_SPECIAL;
  readonly version: string;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly padId = 11;
  readonly unkId = 0;
  readonly image: TokenizerImageConfig | undefined;
  readonly modelSettings: Readonly<Record<string, ModelSettingSpec>>;
  private readonly byString = new Map<string, number>();
  private readonly byId = new Map<number, string>();

  constructor(options: ByteTokenizerOptions = {}) {
    this.version = options.version ?? "v15";
    this.image = "image" in options ? options.image : MS4_IMAGE_CONFIG;
    this.modelSettings = options.modelSettings ?? { reasoning_effort: REASONING_EFFORT_SETTING };
    for (const [str, rank] of Object.entries(SPECIAL_RANKS)) {
      if (options.without?.includes(str)) continue;
      this.byString.set(str, rank);
      this.byId.set(rank, str);
    }
  }

  encode(text: string): number[] {
    return [...new TextEncoder().encode(text)].map((b) => b + NUM_SPECIAL);
  }

  decode(ids: ArrayLike<number>, options?: { specialTokens?: SpecialTokenPolicy }): string {
    const keep = options?.specialTokens === "keep";
    const parts: string[] = [];
    let run: number[] = [];
    const flush = (): void => {
      parts.push(new TextDecoder().decode(new Uint8Array(run)));
      run = [];
    };
    for (const id of Array.from(ids)) {
      if (this.isSpecial(id)) {
        flush();
        if (keep) parts.push(this.specialString(id));
      } else {
        run.push(id - NUM_SPECIAL);
      }
    }
    flush();
    return parts.join("");
  }

  tokenBytes(id: number): Uint8Array {
    if (this.isSpecial(id)) return new TextEncoder().encode(this.specialString(id));
    if (id >= this.vocabSize || id < 0) throw new TokenizerError(`token id ${id} out of range`);
    return new Uint8Array([id - NUM_SPECIAL]);
  }

  specialId(tokenStr: string): number {
    const id = this.findSpecialId(tokenStr);
    if (id === undefined) throw new TokenizerError(`no special token ${tokenStr}`);
    return id;
  }

  findSpecialId(tokenStr: string): number | undefined {
    return this.byString.get(tokenStr);
  }

  isSpecial(id: number): boolean {
    return id >= 0 && id < NUM_SPECIAL;
  }

  specialString(id: number): string {
    return this.byId.get(id) ?? `<SPECIAL_${id}>`;
  }
}

/**
 * An independent tokenization of a golden prompt string: every known special-token string becomes
 * its id, everything between them becomes UTF-8 byte tokens.
 */
export function tokenizeGolden(text: string): number[] {
  const names = Object.keys(SPECIAL_RANKS).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(names.map((n) => n.replace(/[[\]/\\]/g, "\\$&")).join("|"), "g");
  const ids: number[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    for (const b of new TextEncoder().encode(text.slice(last, match.index))) ids.push(b + NUM_SPECIAL);
    ids.push(SPECIAL_RANKS[match[0]]!);
    last = match.index + match[0].length;
  }
  for (const b of new TextEncoder().encode(text.slice(last))) ids.push(b + NUM_SPECIAL);
  return ids;
}
