import { expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "node:child_process";
import { fixture, pidAlive, PROCESS_TEST_TIMEOUT_MS, tsCommand, waitFor } from "../helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

// The host is a real Bun (or Node) process running test/fixtures/host.ts; kill -9 gives
// it no chance to clean up, so only the worker's own watch can end it.
for (const threads of [1, 4]) {
  test(`a worker busy in a handler (--threads ${threads}) exits within 2 s of its host's kill -9`, async () => {
    const [runtime, ...args] = tsCommand(fixture("host.ts"), String(threads));
    const host = spawn(runtime!, args, { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve) => host.stdout.once("data", (d) => resolve(String(d))));
    const { workerPid } = JSON.parse(line) as { workerPid: number };
    expect(pidAlive(workerPid)).toBe(true);
    host.kill("SIGKILL");
    await new Promise((r) => host.once("exit", r));
    const killedAt = Date.now();
    const gone = await waitFor(() => !pidAlive(workerPid), 2000);
    expect({ gone, afterMs: Date.now() - killedAt }).toMatchObject({ gone: true });
  }, 15_000);
}
