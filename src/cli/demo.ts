// The demo (`npx bun run demo`): starts workers on an example handler and
// shows calls, pipelining with out-of-order answers, and a crash survived.
import { fileURLToPath } from "node:url";
import { spawnWorker, type Worker } from "../../mod.ts";

const handler = fileURLToPath(new URL("./demo_handler.py", import.meta.url));
const ms = (t0: number): string => `${(performance.now() - t0).toFixed(1)} ms`;

let t0 = performance.now();
const [a, b] = await Promise.all([
  spawnWorker({ id: "demo-a", handler, threads: 4 }),
  spawnWorker({ id: "demo-b", handler, threads: 4 }),
]);
console.log(`1. two workers started concurrently in ${ms(t0)}: pids ${a.pid}, ${b.pid} (Python ${a.hello.python})`);

console.log(`2. a call: count_words -> ${JSON.stringify(await a.call("count_words", { text: "molt moves traffic from V1 to V2" }))}`);

t0 = performance.now();
const order: number[] = [];
const squares = await Promise.all(
  [5, 4, 3, 2, 1].map((n) =>
    a.call<{ square: number }>("slow_square", { n, delay_ms: n * 40 }).then((r) => {
      order.push(n);
      return r.square;
    })
  ),
);
console.log(`3. five pipelined calls on one worker (--threads 4) took ${ms(t0)}, not 600 ms;`);
console.log(`   sent in the order 5,4,3,2,1, answered in the order ${order.join(",")}; results in call order: ${squares.join(",")}`);

t0 = performance.now();
const many = await Promise.all(Array.from({ length: 10_000 }, (_, i) => b.call("count_words", { text: `call ${i}` })));
console.log(`4. 10,000 pipelined calls on worker b: ${ms(t0)}, all ${many.length} answered`);

const inFlight = b.call("slow_square", { n: 7, delay_ms: 5000 });
process.kill(b.pid, "SIGKILL");
const failure = await inFlight.catch((e: Error & { _tag: string }) => e);
console.log(`5. worker b was killed with SIGKILL mid-call; the caller got ${(failure as { _tag: string })._tag} at once:`);
console.log(`   ${(failure as Error).message.split("\n")[0]}`);
t0 = performance.now();
const replacement: Worker = await spawnWorker({ id: "demo-b2", handler, threads: 4 });
console.log(`   a replacement started in ${ms(t0)} and answers: ${JSON.stringify(await replacement.call("count_words", { text: "still here" }))}`);

t0 = performance.now();
const exits = await Promise.all([a.stop(), b.stop(), replacement.stop()]);
console.log(`6. stopped every worker in ${ms(t0)}: ${exits.map((e) => e.signal ?? `exit ${e.exitCode}`).join(", ")}; no process left behind`);
