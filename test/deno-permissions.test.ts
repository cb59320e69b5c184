/**
 * Under Deno a permission the run did not grant fails a worker's start with
 * Deno's own message, naming the flag (docs/troubleshooting.md, "Deno
 * permission error").
 */
import { expect, test } from "bun:test";
import { repoPath, spawnChild } from "./helpers.ts";

test("under Deno without --allow-run, a worker fails to start saying which flag to add", async () => {
  const child = spawnChild([repoPath("node_modules/.bin/deno"), "run", "--allow-read", "--allow-env", repoPath("test/deno-smoke.ts")], { env: { ...process.env, NO_COLOR: "1" } });
  const [err, code] = await Promise.all([new Response(child.stderr).text(), child.exited, new Response(child.stdout).text()]);
  expect(code).toBe(1);
  expect(err).toContain('worker worker-1 failed to start (spawn_failed): python interpreter "python3" could not be started: Requires run access to "python3", run again with the --allow-run flag');
}, 30_000);
