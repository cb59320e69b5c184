import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { diagrams } from "../docs/generate-diagrams.ts";
import { repoPath } from "./helpers.ts";

test("docs/machines diagrams match the machine definitions", () => {
  for (const [file, text] of Object.entries(diagrams)) {
    expect(readFileSync(repoPath(`docs/machines/${file}`), "utf8")).toBe(text);
  }
});
