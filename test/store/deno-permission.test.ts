/**
 * Under Deno without write access, opening a SQLite store is a StoreError
 * "permission" that says what to grant (it read "unreachable").
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture, repoPath, spawnChild } from "../helpers.ts";

test("Deno without --allow-write: the store says which permission is missing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "molt-deno-perm-"));
  try {
    const child = spawnChild([repoPath("node_modules/.bin/deno"), "run", "--allow-read", "--allow-env", fixture("open-store.ts"), `sqlite:${join(dir, "sub", "molt.db")}`, "0"], {
      stderr: "pipe", cwd: repoPath("."),
    });
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect([code, out]).toEqual([1, ""]);
    expect(err).toContain("open failed (permission): Requires write access to");
    expect(err).toContain("Deno: --allow-read --allow-write, or -A");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
