import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { MOLT_VERSION } from "../mod.ts";
import { repoPath } from "./helpers.ts";

test("MOLT_VERSION (what fleet nodes register) is package.json's version", () => {
  expect(MOLT_VERSION).toBe(JSON.parse(readFileSync(repoPath("package.json"), "utf8")).version);
});
