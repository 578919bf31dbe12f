import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors";
import { GENERATE_REQUEST_KEYS } from "../../lib/generation/validate";
import { LOAD_OPTION_KEYS } from "../../lib/model/load-options";
import { checkKnownKeys, closestName, editDistance } from "../../lib/options/known-keys";

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["abc", "", 3],
    ["kitten", "sitting", 3],
    ["maxcontxt", "maxcontext", 1],
    ["tpo", "top", 1], // one swap of adjacent characters
    ["same", "same", 0],
  ])("%s → %s is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe("closestName", () => {
  it("finds the option meant under OpenAI's snake_case spelling, a typo or another case", () => {
    expect(closestName("max_tokens", GENERATE_REQUEST_KEYS)).toBe("maxTokens");
    expect(closestName("top_p", GENERATE_REQUEST_KEYS)).toBe("topP");
    expect(closestName("response_format", GENERATE_REQUEST_KEYS)).toBe("responseFormat");
    expect(closestName("tool_choice", GENERATE_REQUEST_KEYS)).toBe("toolChoice");
    expect(closestName("MAXTOKENS", GENERATE_REQUEST_KEYS)).toBe("maxTokens");
    expect(closestName("maxContxt", LOAD_OPTION_KEYS)).toBe("maxContext");
    expect(closestName("thread", LOAD_OPTION_KEYS)).toBe("threads");
  });

  it("suggests nothing when no known name is close", () => {
    expect(closestName("beamWidth", GENERATE_REQUEST_KEYS)).toBeUndefined();
    expect(closestName("n", GENERATE_REQUEST_KEYS)).toBeUndefined();
    expect(closestName("gpuLayers", LOAD_OPTION_KEYS)).toBeUndefined();
  });
});

describe("checkKnownKeys", () => {
  it("accepts known keys and rejects the first unknown one with its path and a suggestion", () => {
    expect(() => checkKnownKeys({ a: 1, bb: 2 }, ["a", "bb"])).not.toThrow();
    const run = () => checkKnownKeys({ a: 1, bc: 2 }, ["a", "bb"], { path: "options.inner", noun: "field" });
    expect(run).toThrow(InvalidArgumentError);
    expect(run).toThrow(/^unknown field "bc" in options.inner \(did you mean "bb"\?\)$/);
    try {
      run();
    } catch (e) {
      expect((e as InvalidArgumentError).argument).toBe("options.inner.bc");
      expect((e as InvalidArgumentError).code).toBe("ERR_INVALID_ARGUMENT");
    }
  });

  it("lists the known keys when none is close, and counts a key set to undefined as given", () => {
    expect(() => checkKnownKeys({ zzzzzz: undefined }, ["alpha", "beta"])).toThrow(
      /^unknown option "zzzzzz" \(expected one of: alpha, beta\)$/,
    );
  });
});
