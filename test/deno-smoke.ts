// Run by .ci/run under Deno: a real worker spawned through node:child_process,
// calls, pipelining, a handler error, a crash, and a clean stop.
import assert from "node:assert/strict";
import { spawnWorker } from "../mod.ts";

const handler = new URL("./fixtures/echo_handler.py", import.meta.url).pathname;
assert.equal(typeof (globalThis as { Deno?: unknown }).Deno, "object", "run this with deno");

const worker = await spawnWorker({ handler, threads: 4, heartbeatMs: 200 });
assert.deepEqual(await worker.call("echo", { hello: "deno" }), { hello: "deno" });
const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => worker.call("echo", i)));
assert.deepEqual(answers, Array.from({ length: 1000 }, (_, i) => i));
await assert.rejects(worker.call("fail", {}), { _tag: "PythonError", type: "ValueError" });
assert.equal((await worker.health()).pid, worker.pid);
assert.deepEqual(await worker.stop(), { exitCode: 0, signal: null });

const doomed = await spawnWorker({ handler, heartbeatMs: 0 });
await assert.rejects(doomed.call("crash", { code: 9 }), { _tag: "WorkerExitedError", exitCode: 9 });
assert.equal(doomed.state, "crashed");
await doomed.stop();
console.log(`deno smoke: ok (worker pid ${worker.pid}, 1000 pipelined calls, crash reported)`);
