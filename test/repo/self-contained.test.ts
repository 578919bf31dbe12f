/**
 * The repository explains itself: no source, test, benchmark, script or document cites a file that lives
 * outside it (the team's shared notes), every relative Markdown link resolves to a file in the repository, and
 * every `docs/….md#…` or `README.md#…` section a file cites names a heading that exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, test } from "vitest";
import { documentAnchors, markdownLinks } from "./markdown";

const ROOT = resolve(__dirname, "..", "..");
const SCANNED_FOLDERS = ["lib", "native", "cuda", "test", "bench", "scripts", "docs"];
const SCANNED_FILES = ["README.md"];
/** Generated or installed content inside the scanned folders. */
const SKIPPED_FOLDERS = new Set(["node_modules", "build", "dist"]);

/**
 * Names of notes kept outside the repository. Written with a character class so that this file does not cite
 * them itself (a plain search for the names finds nothing here).
 */
const OUTSIDE_CITATIONS: readonly RegExp[] = [
  /MODEL[-]SPEC/,
  /KERNEL[-]NOTES/,
  /STYLE[-]ANCHORS/,
  /ECO[S]YSTEM/,
  /DESIGN[.]md/,
  /\.\.[/]shared\b/,
  /\bshared[/]reference\b/,
];

/** Repository-relative paths (with "/") of every text file the checks read. */
function scannedFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(path);
      } else if (entry.isFile()) {
        files.push(path);
      }
    }
  };
  for (const folder of SCANNED_FOLDERS) walk(folder);
  return [...files, ...SCANNED_FILES].sort();
}

function readText(path: string): string | undefined {
  const bytes = readFileSync(join(ROOT, path));
  return bytes.includes(0) ? undefined : bytes.toString("utf8");
}

/** `file:line: text` for every line of `path` matching one of the outside-note patterns. */
function outsideCitations(path: string, text: string): string[] {
  return text
    .split("\n")
    .flatMap((line, i) =>
      OUTSIDE_CITATIONS.some((pattern) => pattern.test(line)) ? [`${path}:${i + 1}: ${line.trim()}`] : [],
    );
}

const files = scannedFiles();
const texts = new Map<string, string>(
  files.flatMap((path) => {
    const text = readText(path);
    return text === undefined ? [] : [[path, text] as [string, string]];
  }),
);
const anchorCache = new Map<string, Set<string>>();
function anchorsOf(repoPath: string): Set<string> {
  let anchors = anchorCache.get(repoPath);
  if (anchors === undefined) {
    anchors = documentAnchors(readFileSync(join(ROOT, repoPath), "utf8"));
    anchorCache.set(repoPath, anchors);
  }
  return anchors;
}

function isInsideRepo(absolute: string): boolean {
  const rel = relative(ROOT, absolute);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep);
}

const markdownDocuments = files.filter((f) => f === "README.md" || /^docs\/[^/]+\.md$/.test(f));

describe("the repository cites nothing outside itself", () => {
  test("the scan covers the sources, tests, benchmarks, scripts, docs and the README", () => {
    for (const expected of ["README.md", "docs/model.md", "lib/index.ts", "native/addon.cc"]) {
      expect(texts.has(expected), expected).toBe(true);
    }
    expect(files.some((f) => f.startsWith("test/repo/"))).toBe(true);
  });

  test("no file cites the shared notes", () => {
    const found = [...texts].flatMap(([path, text]) => outsideCitations(path, text));
    expect(found).toEqual([]);
  });
});

describe("links and section citations resolve inside the repository", () => {
  test("the documents checked include the README and docs/model.md", () => {
    expect(markdownDocuments).toContain("README.md");
    expect(markdownDocuments).toContain("docs/model.md");
  });

  test("every relative link in README.md and docs/*.md names a file in the repository, and its anchor exists", () => {
    const broken: string[] = [];
    for (const doc of markdownDocuments) {
      for (const { line, target } of markdownLinks(texts.get(doc) ?? "")) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const where = `${doc}:${line}: ${target}`;
        const [pathPart = "", anchor] = target.split("#");
        const absolute = pathPart === "" ? join(ROOT, doc) : resolve(ROOT, dirname(doc), pathPart);
        if (!isInsideRepo(absolute)) {
          broken.push(`${where} (outside the repository)`);
        } else if (!existsSync(absolute)) {
          broken.push(`${where} (no such file)`);
        } else if (anchor !== undefined && absolute.endsWith(".md") && statSync(absolute).isFile()) {
          if (!anchorsOf(relative(ROOT, absolute).split(sep).join("/")).has(anchor)) {
            broken.push(`${where} (no such heading)`);
          }
        }
      }
    }
    expect(broken).toEqual([]);
  });

  test("every docs/….md#… and README.md#… section cited in any scanned file names an existing heading", () => {
    const citation = /(?:(?<![\w.-])docs\/[\w-]+\.md|(?<![\w./-])README\.md)#([\w-]+)/g;
    const broken: string[] = [];
    let cited = 0;
    for (const [path, text] of texts) {
      text.split("\n").forEach((line, i) => {
        for (const match of line.matchAll(citation)) {
          cited++;
          const [file = ""] = match[0].split("#");
          const repoPath = file.startsWith("docs/") ? file : "README.md";
          if (!existsSync(join(ROOT, repoPath)) || !anchorsOf(repoPath).has(match[1]!)) {
            broken.push(`${path}:${i + 1}: ${match[0]}`);
          }
        }
      });
    }
    expect(cited).toBeGreaterThan(20);
    expect(broken).toEqual([]);
  });
});
