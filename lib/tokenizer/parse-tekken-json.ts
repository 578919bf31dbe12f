/**
 * Validates a parsed tekken.json object and turns it into the tables the Tekken class runs on.
 * Follows mistral-common's loader: ids below `default_num_special_tokens` are special, normal ids are
 * BPE rank + that number, only the first `default_vocab_size - num_special` ranks are used, unnamed
 * special slots are `<SPECIAL_{i}>`. Every defect is a TokenizerError naming the file and the field.
 */
import { TokenizerError } from "../errors";
import { compileRustPattern } from "./rust-regex";
import { fillerSpecialToken, REQUIRED_SPECIAL_TOKENS } from "./special-tokens";
import type { ModelSettingSpec, TokenizerImageConfig } from "./types";

export interface TekkenTables {
  /** The pattern as written in the file (Rust syntax). */
  readonly pattern: string;
  /** The same pattern as a global Unicode JS RegExp with Rust semantics. */
  readonly pieceRegex: RegExp;
  readonly version: string;
  readonly vocabSize: number;
  readonly numSpecialTokens: number;
  /** Bytes of rank r are `rankBytes.subarray(rankOffsets[r], rankOffsets[r + 1])`. */
  readonly rankBytes: Uint8Array;
  readonly rankOffsets: Uint32Array;
  /** Special token strings indexed by id (length numSpecialTokens). */
  readonly specialTokens: readonly string[];
  readonly image: TokenizerImageConfig | undefined;
  readonly modelSettings: Readonly<Record<string, ModelSettingSpec>>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const VERSION = /^v(\d+)$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

export function parseTekkenJson(obj: unknown, source: string): TekkenTables {
  const fail = (message: string): never => {
    throw new TokenizerError(`${source}: ${message}`);
  };
  if (!isObject(obj)) return fail("the top level is not a JSON object");
  const config = obj["config"];
  if (!isObject(config)) return fail("missing 'config' object");

  const version = config["version"];
  if (typeof version !== "string" || !VERSION.test(version)) {
    return fail(`config.version must be a string like "v15", got ${JSON.stringify(version)}`);
  }
  const versionNumber = Number(VERSION.exec(version)![1]);

  const pattern = config["pattern"];
  if (typeof pattern !== "string" || pattern === "") return fail("config.pattern must be a non-empty string");
  let pieceRegex: RegExp;
  try {
    pieceRegex = compileRustPattern(pattern);
  } catch (error) {
    return fail(`config.pattern does not compile: ${(error as Error).message}`);
  }

  const vocab = obj["vocab"];
  if (!Array.isArray(vocab)) return fail("missing 'vocab' array");
  const specialList = obj["special_tokens"];
  if (!Array.isArray(specialList)) return fail("missing 'special_tokens' array");

  const numSpecialRaw = config["default_num_special_tokens"] ?? specialList.length;
  if (!isCount(numSpecialRaw)) {
    return fail(
      `config.default_num_special_tokens must be a non-negative integer, got ${String(numSpecialRaw)}`,
    );
  }
  const numSpecialTokens = numSpecialRaw;
  const vocabSize = config["default_vocab_size"];
  if (!isCount(vocabSize)) return fail("config.default_vocab_size must be a non-negative integer");
  if (config["num_vocab_tokens"] !== undefined && !isCount(config["num_vocab_tokens"])) {
    return fail("config.num_vocab_tokens must be a non-negative integer");
  }
  const numRanks = vocabSize - numSpecialTokens;
  if (numRanks < 256) {
    return fail(
      `config.default_vocab_size (${vocabSize}) leaves ${numRanks} normal tokens after ` +
        `${numSpecialTokens} special ones; at least 256 are needed`,
    );
  }
  if (numRanks > vocab.length) {
    return fail(
      `config.default_vocab_size (${vocabSize}) needs ${numRanks} vocab entries but the file has ${vocab.length}`,
    );
  }

  const specialTokens = parseSpecialTokens(specialList, numSpecialTokens, fail);
  const { rankBytes, rankOffsets } = parseVocab(vocab, numRanks, fail);

  const image = parseImage(obj, versionNumber, fail);
  const modelSettings = parseModelSettings(obj["model_settings_builder"], versionNumber, fail);

  return {
    pattern,
    pieceRegex,
    version,
    vocabSize,
    numSpecialTokens,
    rankBytes,
    rankOffsets,
    specialTokens,
    image,
    modelSettings,
  };
}

function parseSpecialTokens(list: unknown[], numSpecialTokens: number, fail: (m: string) => never): string[] {
  if (list.length > numSpecialTokens) {
    fail(`special_tokens has ${list.length} entries but default_num_special_tokens is ${numSpecialTokens}`);
  }
  const byRank: (string | undefined)[] = new Array(numSpecialTokens).fill(undefined);
  const seen = new Map<string, number>();
  list.forEach((entry, index) => {
    const where = `special_tokens[${index}]`;
    if (!isObject(entry)) fail(`${where} is not an object`);
    const e = entry as Json;
    const rank = e["rank"];
    const tokenStr = e["token_str"];
    if (!isCount(rank) || rank >= numSpecialTokens) {
      fail(`${where}.rank must be an integer in [0, ${numSpecialTokens}), got ${JSON.stringify(rank)}`);
    }
    if (typeof tokenStr !== "string" || tokenStr === "")
      fail(`${where}.token_str must be a non-empty string`);
    const r = rank as number;
    const s = tokenStr as string;
    if (byRank[r] !== undefined) fail(`${where}: duplicate special rank ${r} (also "${byRank[r]}")`);
    const previous = seen.get(s);
    if (previous !== undefined) fail(`${where}: duplicate special token "${s}" (also rank ${previous})`);
    byRank[r] = s;
    seen.set(s, r);
  });
  const tokens = byRank.map((s, rank) => s ?? fillerSpecialToken(rank));
  // A filler name may not collide with a named token at another rank.
  if (new Set(tokens).size !== tokens.length) {
    fail("special_tokens: a named token collides with the <SPECIAL_i> name of an unnamed slot");
  }
  for (const required of REQUIRED_SPECIAL_TOKENS) {
    if (!seen.has(required)) fail(`special_tokens lacks the required token "${required}"`);
  }
  return tokens;
}

function parseVocab(
  vocab: unknown[],
  numRanks: number,
  fail: (m: string) => never,
): { rankBytes: Uint8Array; rankOffsets: Uint32Array } {
  const pieces: Buffer[] = new Array(numRanks);
  const seen = new Map<string, number>();
  let total = 0;
  for (let index = 0; index < vocab.length; index++) {
    const entry = vocab[index];
    const where = `vocab[${index}]`;
    if (!isObject(entry)) return fail(`${where} is not an object`);
    const rank = entry["rank"];
    if (rank !== index) {
      if (isCount(rank) && rank < index) return fail(`${where}: duplicate rank ${rank}`);
      return fail(`${where} has rank ${JSON.stringify(rank)}; ranks must be 0..n-1 in order`);
    }
    const tokenStr = entry["token_str"];
    if (tokenStr !== undefined && tokenStr !== null && typeof tokenStr !== "string") {
      return fail(`${where}.token_str must be a string or null`);
    }
    if (index >= numRanks) continue; // beyond default_vocab_size: unused, like mistral-common
    const b64 = entry["token_bytes"];
    if (typeof b64 !== "string" || b64 === "" || !BASE64.test(b64)) {
      return fail(`${where}.token_bytes is not valid non-empty base64: ${JSON.stringify(b64)}`);
    }
    const bytes = Buffer.from(b64, "base64");
    const key = bytes.toString("latin1");
    const previous = seen.get(key);
    if (previous !== undefined) return fail(`${where} has the same bytes as vocab[${previous}]`);
    seen.set(key, index);
    pieces[index] = bytes;
    total += bytes.length;
  }
  for (let byte = 0; byte < 256; byte++) {
    if (!seen.has(String.fromCharCode(byte))) {
      return fail(`vocab has no token for the single byte 0x${byte.toString(16).padStart(2, "0")}`);
    }
  }
  const rankBytes = new Uint8Array(total);
  const rankOffsets = new Uint32Array(numRanks + 1);
  let offset = 0;
  for (let rank = 0; rank < numRanks; rank++) {
    const bytes = pieces[rank]!;
    rankBytes.set(bytes, offset);
    offset += bytes.length;
    rankOffsets[rank + 1] = offset;
  }
  return { rankBytes, rankOffsets };
}

function positiveInt(block: Json, key: string, where: string, fail: (m: string) => never): number {
  const value = block[key];
  if (!isCount(value) || value === 0)
    fail(`${where}.${key} must be a positive integer, got ${JSON.stringify(value)}`);
  return value as number;
}

function parseImage(
  obj: Json,
  versionNumber: number,
  fail: (m: string) => never,
): TokenizerImageConfig | undefined {
  // `multimodal` is the deprecated name of the block, accepted up to v11 (as mistral-common does).
  let key = "image";
  if (obj["multimodal"] !== undefined && obj["multimodal"] !== null) {
    if (versionNumber > 11) fail("the 'multimodal' block must be called 'image' for versions after v11");
    key = "multimodal";
  }
  const block = obj[key];
  if (block === undefined || block === null) return undefined;
  if (!isObject(block)) return fail(`'${key}' is not an object`);
  return {
    imagePatchSize: positiveInt(block, "image_patch_size", key, fail),
    maxImageSize: positiveInt(block, "max_image_size", key, fail),
    spatialMergeSize:
      block["spatial_merge_size"] === undefined ? 1 : positiveInt(block, "spatial_merge_size", key, fail),
  };
}

function parseModelSettings(
  block: unknown,
  versionNumber: number,
  fail: (m: string) => never,
): Record<string, ModelSettingSpec> {
  if (block === undefined || block === null) return {};
  if (versionNumber < 15) fail("model_settings_builder is only allowed from version v15");
  if (!isObject(block)) return fail("model_settings_builder is not an object");
  const settings: Record<string, ModelSettingSpec> = {};
  for (const [name, field] of Object.entries(block)) {
    if (field === null) continue; // an unsupported setting
    const where = `model_settings_builder.${name}`;
    if (!isObject(field)) return fail(`${where} is not an object`);
    const type = field["type"] ?? "enum";
    if (type !== "enum") return fail(`${where}.type must be "enum", got ${JSON.stringify(type)}`);
    const values = field["values"];
    if (!Array.isArray(values) || !values.every((v) => typeof v === "string")) {
      return fail(`${where}.values must be an array of strings`);
    }
    if (new Set(values).size !== values.length) return fail(`${where}.values has duplicates`);
    const acceptsNone = field["accepts_none"];
    if (typeof acceptsNone !== "boolean") return fail(`${where}.accepts_none must be a boolean`);
    if (!("default" in field)) return fail(`${where}.default is missing`);
    const def = field["default"];
    if (def !== null && typeof def !== "string") return fail(`${where}.default must be a string or null`);
    if (def !== null && !acceptsNone)
      return fail(`${where}.default may only be set when accepts_none is true`);
    if (def !== null && !values.includes(def))
      return fail(`${where}.default "${def}" is not one of its values`);
    if (values.length === 0 && !acceptsNone)
      return fail(`${where}.values is empty while accepts_none is false`);
    settings[name] = {
      type: "enum",
      values: [...values] as string[],
      acceptsNone,
      default: def as string | null,
    };
  }
  return settings;
}
