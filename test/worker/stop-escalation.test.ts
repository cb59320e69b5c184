/**
 * stop() escalates to SIGKILL under every runtime: a worker that neither
 * answers `shutdown` nor dies of SIGTERM (stopped with SIGSTOP) is gone when
 * stop() resolves. Under Deno, node:child_process refuses a second kill()
 * once the first was sent, so molt signals the pid itself.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { fixture, pidAlive, PROCESS_TEST_TIMEOUT_MS, repoPath, spawnChild, tsCommand } from "../helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

const RUNTIMES: [string, string[]][] = [
  [typeof Bun === "undefined" ? "node" : "bun", tsCommand(fixture("stop-stuck-worker.ts"))],
  ["deno", [repoPath("node_modules/.bin/deno"), "run", "--allow-run", "--allow-read", "--allow-env", fixture("stop-stuck-worker.ts")]],
];

for (const [name, command] of RUNTIMES) {
  test(`under ${name}`, async () => {
    const child = spawnChild(command);
    // Generous for a loaded machine: without the escalation the host never exits at all.
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    clearTimeout(timer);
    expect([code, err]).toEqual([0, ""]);
    const { pid, exit } = JSON.parse(out) as { pid: number; exit: { signal: string | null } };
    expect(exit.signal).toBe("SIGKILL");
    expect(pidAlive(pid)).toBe(false);
  }, 90_000);
}
