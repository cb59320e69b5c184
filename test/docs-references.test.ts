/**
 * What the docs point at exists. Every relative link in README.md and
 * docs/**\/*.md names a file or folder of the repository, and its
 * `#fragment` a heading of the target as GitHub makes anchors of them
 * (http(s) and mailto links are not fetched). Every `**Reproduced by:**`
 * line (docs/troubleshooting.md has one per entry) names test files that
 * exist and test names each of them has, so that a symptom a page
 * describes stays reproduced by a test.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { headingSlugs, markdownFiles, readDoc } from "./docs-markdown.ts";
import { repoPath } from "./helpers.ts";

/** The targets of a markdown text's inline links and images, with their lines; code spans and blocks are not links. */
export function links(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  let fenced = false;
  for (const [i, raw] of text.split("\n").entries()) {
    if (raw.trim().startsWith("```")) fenced = !fenced;
    if (fenced) continue;
    const line = raw.replace(/`[^`]*`/g, "");
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line: i + 1, target: m[1]! });
  }
  return out;
}

/** What is wrong with a relative link from `file`, or null: a missing file, or a fragment no heading of the target makes. */
export function brokenLink(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null;
  const [path, fragment] = target.split("#", 2) as [string, string | undefined];
  const resolved = path === "" ? file : normalize(join(dirname(file), decodeURIComponent(path)));
  if (resolved.startsWith("..")) return `${target}: outside the repository`;
  if (!existsSync(repoPath(resolved))) return `${target}: no file ${resolved}`;
  if (fragment === undefined || fragment === "") return null;
  if (!resolved.endsWith(".md") || statSync(repoPath(resolved)).isDirectory()) return null;
  return headingSlugs(readFileSync(repoPath(resolved), "utf8")).has(fragment.toLowerCase()) ? null : `${target}: no heading #${fragment} in ${resolved}`;
}

/** The (file, test name) pairs of a text's `**Reproduced by:**` lines. */
export function reproducedBy(text: string): { line: number; file: string; name: string }[] {
  return text.split("\n").flatMap((l, i) =>
    /^\*\*Reproduced by:\*\*/.test(l) ? [...l.matchAll(/`(test\/[^`]+)`, "([^"]+)"/g)].map((m) => ({ line: i + 1, file: m[1]!, name: m[2]! })) : []
  );
}

/** Whether a test file's source declares a test (or describe) with exactly this name. */
export function declaresTest(source: string, name: string): boolean {
  const quoted = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // test("name", ...), test.skip("name", ...), test.if(condition)("name", ...).
  return new RegExp(`\\b(?:test|it|describe)(?:\\.\\w+(?:\\([^()]*\\))?)?\\(\\s*(["'\`])${quoted}\\1`).test(source);
}

const FILES = markdownFiles();

test("the checkers find links, anchors and named tests", () => {
  expect(links("see [a](b.md#c) and ![p](x.png \"t\") and `[not](code.md)` and [w](https://x.org)\n```\n[no](z.md)\n```\n").map((l) => l.target))
    .toEqual(["b.md#c", "x.png", "https://x.org"]);
  expect([...headingSlugs("# A leader that does not change\n## Window length, `minCalls` and `minSamples`\n## Dup\n## Dup\n")])
    .toEqual(["a-leader-that-does-not-change", "window-length-mincalls-and-minsamples", "dup", "dup-1"]);
  expect(brokenLink("docs/troubleshooting.md", "tuning.md#window-length-mincalls-and-minsamples")).toBeNull();
  expect(brokenLink("docs/troubleshooting.md", "tuning.md#no-such-heading")).toBe("tuning.md#no-such-heading: no heading #no-such-heading in docs/tuning.md");
  expect(brokenLink("docs/troubleshooting.md", "nowhere.md")).toBe("nowhere.md: no file docs/nowhere.md");
  expect(reproducedBy('**Reproduced by:** `test/a.test.ts`, "one thing"; `test/b.test.ts`, "another".')).toEqual([
    { line: 1, file: "test/a.test.ts", name: "one thing" }, { line: 1, file: "test/b.test.ts", name: "another" },
  ]);
  expect([declaresTest('  test("one thing", async () => {', "one thing"), declaresTest('test("one thing more", () => {', "one thing")]).toEqual([true, false]);
  expect([declaresTest('test.if(onPostgres)("one thing", () => {', "one thing"), declaresTest('test.skip("one thing", () => {', "one thing")]).toEqual([true, true]);
});

test("every relative link in README.md and docs/ resolves, fragments included", () => {
  const broken = FILES.flatMap((file) => links(readDoc(file)).flatMap(({ line, target }) => {
    const why = brokenLink(file, target);
    return why === null ? [] : [`${file}:${line}: ${why}`];
  }));
  expect(broken).toEqual([]);
});

test("every troubleshooting entry names the tests that reproduce its symptom, and they exist", () => {
  const text = readDoc("docs/troubleshooting.md");
  const entries = text.split("\n## ").slice(1);
  expect(entries.filter((e) => reproducedBy(e).length === 0).map((e) => e.split("\n")[0])).toEqual([]);
  const missing = FILES.flatMap((file) => reproducedBy(readDoc(file)).flatMap(({ line, file: testFile, name }) => {
    if (!existsSync(repoPath(testFile))) return [`${file}:${line}: no file ${testFile}`];
    return declaresTest(readFileSync(repoPath(testFile), "utf8"), name) ? [] : [`${file}:${line}: ${testFile} has no test "${name}"`];
  }));
  expect(missing).toEqual([]);
});
