import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fillSystemPrompt, loadDefaultSystemPrompt } from "../../lib/chat/index";

const dir = mkdtempSync(join(tmpdir(), "ms4-system-prompt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("default system prompt", () => {
  it("fills {name}, {today} and {yesterday} from SYSTEM_PROMPT.txt", () => {
    writeFileSync(
      join(dir, "SYSTEM_PROMPT.txt"),
      "You are {name}. Today is {today}; yesterday was {yesterday}.",
    );
    const prompt = loadDefaultSystemPrompt(dir, {
      modelName: "Mistral-Small-4",
      today: new Date(2026, 2, 1),
    });
    expect(prompt).toBe("You are Mistral-Small-4. Today is 2026-03-01; yesterday was 2026-02-28.");
  });

  it("returns undefined when the checkpoint has no SYSTEM_PROMPT.txt", () => {
    expect(loadDefaultSystemPrompt(join(dir, "missing"), { modelName: "m" })).toBeUndefined();
  });

  it("treats doubled braces as literal braces and leaves other placeholders alone", () => {
    expect(
      fillSystemPrompt('{{"a": 1}} {other} {name}', { modelName: "M", today: new Date(2024, 0, 1) }),
    ).toBe('{"a": 1} {other} M');
  });
});
