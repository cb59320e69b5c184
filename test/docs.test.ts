import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { architectureProblems, fillArchitecture } from "../docs/architecture-diagrams.ts";
import { diagrams } from "../docs/generate-diagrams.ts";
import { repoPath } from "./helpers.ts";

test("docs/machines diagrams match the machine definitions", () => {
  for (const [file, text] of Object.entries(diagrams)) {
    expect(readFileSync(repoPath(`docs/machines/${file}`), "utf8")).toBe(text);
  }
});

test("docs/architecture.md's diagrams name real exports, modules, functions and docs, and are up to date", () => {
  expect(architectureProblems()).toEqual([]);
  const text = readFileSync(repoPath("docs/architecture.md"), "utf8");
  expect(text).toBe(fillArchitecture(text));
});
