/**
 * The tokenizer contract the rest of the library (chat encoder, output parsers, engine) codes against.
 * The Tekken implementation lives beside this file; tests may supply their own implementations.
 */

/** How decode treats special-token ids (< numSpecialTokens). */
export type SpecialTokenPolicy = "skip" | "keep";

/** The `image` block of tekken.json (patch size, maximum image side, spatial merge). */
export interface TokenizerImageConfig {
  readonly imagePatchSize: number;
  readonly maxImageSize: number;
  readonly spatialMergeSize: number;
}

/** One field of tekken.json's `model_settings_builder` (v15+), e.g. reasoning_effort. */
export interface ModelSettingSpec {
  readonly type: "enum";
  readonly values: readonly string[];
  readonly acceptsNone: boolean;
  readonly default: string | null;
}

export interface Tokenizer {
  /** Total ids the model's embedding has (specials + normal tokens), e.g. 131072. */
  readonly vocabSize: number;
  /** Ids below this are special tokens (1000 in real Tekken files). */
  readonly numSpecialTokens: number;
  /** Tokenizer version string from the file, e.g. "v15". */
  readonly version: string;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly image: TokenizerImageConfig | undefined;
  readonly modelSettings: Readonly<Record<string, ModelSettingSpec>>;

  /** Encodes plain text (no BOS/EOS). Special-token strings inside `text` are plain text unless `allowSpecial`. */
  encode(text: string, options?: { allowSpecial?: boolean }): number[];
  /** Decodes ids to text; invalid UTF-8 becomes U+FFFD. Specials are skipped unless policy is "keep". */
  decode(ids: ArrayLike<number>, options?: { specialTokens?: SpecialTokenPolicy }): string;
  /** Raw bytes of one token (a special token's string as UTF-8). */
  tokenBytes(id: number): Uint8Array;
  /** Id of a special token by its string, e.g. "[INST]"; throws TokenizerError if the file has no such token. */
  specialId(tokenStr: string): number;
  /** Like specialId but returns undefined when absent. */
  findSpecialId(tokenStr: string): number | undefined;
  /** True for ids < numSpecialTokens. */
  isSpecial(id: number): boolean;
  /** String of a special token id, e.g. 3 -> "[INST]". */
  specialString(id: number): string;
}
