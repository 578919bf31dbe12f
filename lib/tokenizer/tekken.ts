/**
 * Tekken, Mistral's tiktoken-based tokenizer (mistral-common `Tekkenizer`): ids below
 * `numSpecialTokens` are special tokens, every other id is a BPE rank shifted by `numSpecialTokens`.
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError, TokenizerError } from "../errors";
import { BpeEncoder } from "./bpe-encoder";
import { parseTekkenJson, type TekkenTables } from "./parse-tekken-json";
import type { ModelSettingSpec, SpecialTokenPolicy, Tokenizer, TokenizerImageConfig } from "./types";

/** Keeps a leading U+FEFF (TextDecoder strips it by default); invalid UTF-8 becomes U+FFFD. */
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export class Tekken implements Tokenizer {
  readonly vocabSize: number;
  readonly numSpecialTokens: number;
  readonly version: string;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly image: TokenizerImageConfig | undefined;
  readonly modelSettings: Readonly<Record<string, ModelSettingSpec>>;
  /** The pre-split pattern as written in the file (Rust regex syntax). */
  readonly pattern: string;

  private readonly encoder: BpeEncoder;
  private readonly rankBytes: Uint8Array;
  private readonly rankOffsets: Uint32Array;
  private readonly specialStrings: readonly string[];
  private readonly specialIds: ReadonlyMap<string, number>;
  private specialSplitter: RegExp | undefined;

  private constructor(tables: TekkenTables) {
    this.vocabSize = tables.vocabSize;
    this.numSpecialTokens = tables.numSpecialTokens;
    this.version = tables.version;
    this.image = tables.image;
    this.modelSettings = tables.modelSettings;
    this.pattern = tables.pattern;
    this.rankBytes = tables.rankBytes;
    this.rankOffsets = tables.rankOffsets;
    this.specialStrings = tables.specialTokens;
    this.specialIds = new Map(tables.specialTokens.map((s, id) => [s, id]));
    this.encoder = new BpeEncoder(
      tables.pieceRegex,
      tables.rankBytes,
      tables.rankOffsets,
      tables.numSpecialTokens,
    );
    this.bosId = this.specialId("<s>");
    this.eosId = this.specialId("</s>");
    this.padId = this.specialId("<pad>");
    this.unkId = this.specialId("<unk>");
  }

  /** Loads a tekken.json file; any problem with it is a TokenizerError naming the file. */
  static fromFile(path: string): Tekken {
    if (typeof path !== "string" || path === "") throw new InvalidArgumentError("path", "a file path", path);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new TokenizerError(`${path}: cannot read the file: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (error) {
      throw new TokenizerError(`${path}: not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    return Tekken.fromJson(obj, path);
  }

  /** Builds a tokenizer from an already parsed tekken.json object; `sourceName` appears in errors. */
  static fromJson(obj: unknown, sourceName = "tekken.json"): Tekken {
    return new Tekken(parseTekkenJson(obj, sourceName));
  }

  encode(text: string, options?: { allowSpecial?: boolean }): number[] {
    if (typeof text !== "string") throw new InvalidArgumentError("text", "a string", text);
    const out: number[] = [];
    if (!options?.allowSpecial) {
      this.encoder.encode(text, out);
      return out;
    }
    const splitter = this.getSpecialSplitter();
    splitter.lastIndex = 0;
    let start = 0;
    for (let match = splitter.exec(text); match !== null; match = splitter.exec(text)) {
      if (match.index > start) this.encoder.encode(text.slice(start, match.index), out);
      out.push(this.specialIds.get(match[0])!);
      start = match.index + match[0].length;
    }
    if (start < text.length) this.encoder.encode(start === 0 ? text : text.slice(start), out);
    return out;
  }

  decode(ids: ArrayLike<number>, options?: { specialTokens?: SpecialTokenPolicy }): string {
    const policy = options?.specialTokens ?? "skip";
    if (policy !== "skip" && policy !== "keep") {
      throw new InvalidArgumentError("options.specialTokens", '"skip" or "keep"', policy);
    }
    if (ids === null || typeof ids !== "object" || typeof ids.length !== "number") {
      throw new InvalidArgumentError("ids", "an array of token ids", ids);
    }
    const numSpecial = this.numSpecialTokens;
    const offsets = this.rankOffsets;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) this.checkId(id, `ids[${i}]`);
      if (id >= numSpecial) total += offsets[id - numSpecial + 1]! - offsets[id - numSpecial]!;
    }
    const bytes = new Uint8Array(total);
    let text = "";
    let runStart = 0; // start in `bytes` of the current run of normal tokens
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >= numSpecial) {
        const rank = id - numSpecial;
        bytes.set(this.rankBytes.subarray(offsets[rank]!, offsets[rank + 1]!), length);
        length += offsets[rank + 1]! - offsets[rank]!;
        continue;
      }
      // Like mistral-common, each run of normal tokens between specials is decoded on its own.
      if (length > runStart) text += utf8Decoder.decode(bytes.subarray(runStart, length));
      runStart = length;
      if (policy === "keep") text += this.specialStrings[id]!;
    }
    if (length > runStart) text += utf8Decoder.decode(bytes.subarray(runStart, length));
    return text;
  }

  tokenBytes(id: number): Uint8Array {
    this.checkId(id, "id");
    if (id < this.numSpecialTokens) return utf8Encoder.encode(this.specialStrings[id]!);
    const rank = id - this.numSpecialTokens;
    return this.rankBytes.slice(this.rankOffsets[rank]!, this.rankOffsets[rank + 1]!);
  }

  specialId(tokenStr: string): number {
    const id = this.findSpecialId(tokenStr);
    if (id === undefined)
      throw new TokenizerError(`the tokenizer has no special token ${JSON.stringify(tokenStr)}`);
    return id;
  }

  findSpecialId(tokenStr: string): number | undefined {
    return this.specialIds.get(tokenStr);
  }

  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.numSpecialTokens;
  }

  specialString(id: number): string {
    if (!this.isSpecial(id)) {
      throw new InvalidArgumentError("id", `a special token id in [0, ${this.numSpecialTokens})`, id);
    }
    return this.specialStrings[id]!;
  }

  private checkId(id: unknown, argument: string): number {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InvalidArgumentError(argument, `an integer token id in [0, ${this.vocabSize})`, id);
    }
    return id;
  }

  /** Matches any special token string, longest first. */
  private getSpecialSplitter(): RegExp {
    if (this.specialSplitter === undefined) {
      const alternatives = [...this.specialStrings]
        .sort((a, b) => b.length - a.length)
        .map((s) => s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"));
      this.specialSplitter = new RegExp(alternatives.join("|"), "gu");
    }
    return this.specialSplitter;
  }
}
