import { describe, expect, it } from "vitest";
import { StopStringMatcher } from "../../lib/generation/stop-strings";

/** Feeds `pieces`; returns what was emitted before the stop (or everything plus the flush) and the stop. */
function run(stops: string[], pieces: string[]): { emitted: string[]; stop: string | undefined } {
  const m = new StopStringMatcher(stops);
  const emitted: string[] = [];
  for (const p of pieces) {
    const r = m.push(p);
    if (r.emit) emitted.push(r.emit);
    if (r.stop !== undefined) return { emitted, stop: r.stop };
  }
  const rest = m.flush();
  if (rest) emitted.push(rest);
  return { emitted, stop: undefined };
}

describe("StopStringMatcher", () => {
  it("passes text through without stop strings", () => {
    expect(run([], ["ab", "c"])).toEqual({ emitted: ["ab", "c"], stop: undefined });
  });

  it("holds back the longest suffix that starts a stop string", () => {
    expect(run(["END"], ["abcE", "N", "D tail"])).toEqual({ emitted: ["abc"], stop: "END" });
    expect(run(["END"], ["abcE", "N", "x"])).toEqual({ emitted: ["abc", "ENx"], stop: undefined });
    expect(run(["END"], ["abcEN"])).toEqual({ emitted: ["abc", "EN"], stop: undefined });
  });

  it("stops at the stop string that completes first, however the text is split", () => {
    for (const pieces of [["abcdef"], ["abcd", "ef"], [..."abcdef"]]) {
      expect(run(["bcde", "cd"], pieces)).toEqual({
        emitted: pieces.length === 6 ? ["a", "b"] : ["ab"],
        stop: "cd",
      });
    }
    expect(run(["xyz", "b"], ["a", "bc"])).toEqual({ emitted: ["a"], stop: "b" });
    expect(run(["bc", "abc"], ["abc"])).toEqual({ emitted: [], stop: "abc" });
  });

  it("handles overlapping prefixes and surrogate pairs", () => {
    expect(run(["aab"], ["a", "a", "a", "b"])).toEqual({ emitted: ["a"], stop: "aab" });
    expect(run(["😀!"], ["x😀", "y"])).toEqual({ emitted: ["x", "😀y"], stop: undefined });
  });
});
