/**
 * What the docs checks read: the markdown files (README.md and every
 * docs/**\/*.md, subfolders included, so a new file is checked as soon as it
 * exists), their fenced code blocks with the marker on the line before each,
 * and their headings as GitHub turns them into link anchors.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoPath } from "./helpers.ts";

/** A fenced code block: its language, where it opens (1-based), its lines, and the `<!-- name: why -->` marker on the line before it, if any. */
export interface Fenced {
  readonly file: string;
  readonly lang: string;
  readonly line: number;
  readonly body: readonly string[];
  readonly marker: { readonly name: string; readonly why: string } | null;
}

/** README.md and docs/**\/*.md, relative to the repository, sorted. */
export function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(repoPath(dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : []
    );
  return ["README.md", ...walk("docs").sort()];
}

/** A markdown file's text, by its path from the repository root. */
export const readDoc = (file: string): string => readFileSync(repoPath(file), "utf8");

/** The fenced blocks of a markdown text whose language is one of `langs`. */
export function fencedBlocks(file: string, text: string, langs: readonly string[]): Fenced[] {
  const lines = text.split("\n");
  const blocks: Fenced[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]!.trim());
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== "```"; i++) body.push(lines[i]!);
    if (!langs.includes(open[1]!)) continue;
    const before = lines.slice(0, start).reverse().find((l) => l.trim() !== "") ?? "";
    const marker = /^<!--\s*([a-z-]+):?\s*(.*?)\s*-->$/.exec(before.trim());
    blocks.push({ file, lang: open[1]!, line: start + 1, body, marker: marker === null ? null : { name: marker[1]!, why: marker[2]! } });
  }
  return blocks;
}

/**
 * The anchors GitHub gives a markdown text's headings: lower case, spaces
 * to hyphens, punctuation dropped, and a repeated heading suffixed -1, -2.
 * Headings inside code blocks are not headings.
 */
export function headingSlugs(text: string): Set<string> {
  const slugs = new Set<string>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.trim().startsWith("```")) fenced = !fenced;
    const h = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h === null) continue;
    const base = h[1]!.toLowerCase().replace(/<[^>]*>/g, "").replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    let slug = base;
    for (let n = 1; slugs.has(slug); n++) slug = `${base}-${n}`;
    slugs.add(slug);
  }
  return slugs;
}
