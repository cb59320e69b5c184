/**
 * Every TypeScript block in README.md and docs/ (subfolders too) runs as written: each
 * is written to a scratch directory inside the repository (so that
 * `import "molt"` resolves to it) beside the handler files the docs name
 * (`handler.py`, `handler_v1.py`, `handler_v2.py`: the demo's summarizer),
 * run with Bun, and must exit 0 within its time. A block that is a fragment
 * on purpose says so on the line before it: `<!-- excerpt: why -->`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fencedBlocks, markdownFiles, readDoc } from "./docs-markdown.ts";
import { repoPath, spawnChild, tsCommand } from "./helpers.ts";

/** The ```ts blocks of a markdown file, each with whether the line before it marks it an excerpt. */
export function tsBlocks(file: string, text: string): Block[] {
  return fencedBlocks(file, text, ["ts"]).map((b) => ({ file, line: b.line, code: b.body.join("\n"), excerpt: b.marker?.name === "excerpt" }));
}

interface Block {
  readonly file: string;
  readonly line: number;
  readonly code: string;
  readonly excerpt: boolean;
}

const BLOCKS = markdownFiles().flatMap((f) => tsBlocks(f, readDoc(f)));
// Inside the repository, so that "molt" resolves to its sources; one folder per run, so that runs side by side (Bun and Node in CI) keep apart.
const SCRATCH = repoPath(`.snippets/${process.pid}`);
const TIMEOUT_MS = 60_000;

describe("docs snippets", () => {
  afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

  test("the checker finds blocks and excerpt marks", () => {
    const found = tsBlocks("x.md", "text\n<!-- excerpt: a fragment -->\n```ts\nfoo();\n```\n\n```ts\nbar();\n```\n");
    expect(found.map((b) => [b.line, b.code, b.excerpt])).toEqual([[3, "foo();", true], [7, "bar();", false]]);
    expect(BLOCKS.length).toBeGreaterThan(20);
  });

  for (const [i, block] of BLOCKS.entries()) {
    if (block.excerpt) continue;
    test(`${block.file}:${block.line} runs as written`, async () => {
      const dir = join(SCRATCH, String(i));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const name of ["handler.py", "handler_v1.py", "handler_v2.py"]) copyFileSync(repoPath("examples/summarizer.py"), join(dir, name));
      writeFileSync(join(dir, "snippet.ts"), block.code);
      const child = spawnChild(tsCommand("snippet.ts"), { cwd: dir, stderr: "pipe", env: { ...process.env, MOLT_FLAG_POOL_V2_SHARE: "" } });
      const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
      const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      clearTimeout(timer);
      // A block that does not end (a timer, a pool left running) is killed: say so rather than "exit 137".
      expect({ block: `${block.file}:${block.line}`, code, err: code === 0 ? "" : `${err}${out}`.slice(-2000) }).toEqual({ block: `${block.file}:${block.line}`, code: 0, err: "" });
      rmSync(dir, { recursive: true, force: true });
    }, TIMEOUT_MS + 10_000);
  }
});
