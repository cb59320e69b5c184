/**
 * molt's modules import Effect one module at a time ("effect/Schema"), not
 * from the package's index: the index loads every module of Effect, 0.17 s
 * of CPU in each process that starts (each `molt` command among them)
 * against 0.10 s for the modules molt uses.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoPath } from "./helpers.ts";

function sources(dir: string): string[] {
  return readdirSync(repoPath(dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  );
}

test("no module of molt imports Effect's index (examples in comments may)", () => {
  const barrel = /^\s*(?:import|export)\b[^\n]*\bfrom\s+["']effect["']/m;
  const offenders = ["mod.ts", ...sources("src"), ...sources("machines")].filter((f) => barrel.test(readFileSync(repoPath(f), "utf8")));
  expect(offenders).toEqual([]);
  expect(barrel.test('import { Schema } from "effect";')).toBe(true);
  expect(barrel.test(' * import { Schema } from "effect";')).toBe(false);
});
