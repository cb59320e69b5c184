// One replica of a service in a fleet: its own V1 and V2 pools, its own
// traffic, and a fleet node sharing one rollout through the store.
//
//   npx bun examples/fleet-node.ts <store url> <node id> '<json options>'
//
// Options (all optional): handler (default examples/fleet_handler.py),
// command, v2Env (extra environment of V2's workers), rolloutId, leaseMs,
// windowMs, judgeEveryMs, plan, thresholds, autoStart, traffic (calls per
// round).
// Prints one JSON line per event: "ready", "share" (the share it serves
// changed), every "fleet.*" event, and "summary" when it stops (SIGTERM).
// `npx bun run demo --nodes 3` starts three of these.
import { fileURLToPath } from "node:url";
import { createFlags, createFleetNode, createPool, createRouter, openStore } from "../mod.ts";

const [url, nodeId, json] = process.argv.slice(2);
if (url === undefined || nodeId === undefined) {
  console.error("usage: fleet-node.ts <store url> <node id> [json options]");
  process.exit(2);
}
const o = JSON.parse(json ?? "{}");
const say = (event: string, fields: Record<string, unknown> = {}): void => console.log(JSON.stringify({ event, nodeId, at: Date.now(), ...fields }));

const store = await openStore(url);
const flags = await createFlags({ store, env: {}, pollMs: 100 });
flags.subscribe((u) => u.flag === "pool_v2_share" && say("share", { bp: u.to, origin: u.origin }));
const handler = o.handler ?? fileURLToPath(new URL("./fleet_handler.py", import.meta.url));
// Slices of 500 ms: windows of half a second, so the fleet decides within seconds.
const common = { handler, size: 1, heartbeatMs: 0, windowMs: 60_000, windowSlices: 120, onStderr: () => {} };
const [v1, v2] = await Promise.all([
  createPool({ name: "v1", strategy: "basic", ...common, env: { MOLT_ARM: "v1" } }),
  createPool({ name: "v2", ...common, env: { MOLT_ARM: "v2", ...o.v2Env } }),
]);
v2.events.subscribe((e) => e.type.startsWith("fleet.") && say(e.type, { ...e }));
const rolloutId = o.rolloutId ?? "fleet";
const router = createRouter({ v1, v2, flags, store, rolloutId });
const node = await createFleetNode({
  store, flags, v1, v2, router, nodeId,
  rolloutId,
  heartbeatMs: 200,
  leaseMs: o.leaseMs ?? 1500,
  windowMs: o.windowMs ?? 500,
  spanMs: 4000,
  judgeEveryMs: o.judgeEveryMs,
  commandPollMs: 100,
  autoStart: o.autoStart ?? true,
  plan: o.plan ?? { shadowMs: 0 },
  thresholds: { minCalls: 20, ...o.thresholds },
  onError: (e) => say("error", { error: String((e as Error).message ?? e) }),
});
say("ready", { share: flags.share(), role: node.status().role });

const failed = { v1: 0, v2: 0 };
let calls = 0;
let stopping = false;
const traffic = (async () => {
  for (let i = 0; !stopping; i++) {
    await Promise.all(Array.from({ length: o.traffic ?? 5 }, async (_, j) => {
      calls++;
      const sessionId = `${nodeId}-${i}-${j}`;
      // The arm the router picks for this session, so a failure is counted against it.
      const arm = router.decide({ sessionId }).arm;
      try {
        await router.execute(o.command ?? "work", { i, text: `call ${i} of ${nodeId}` }, { sessionId });
      } catch {
        failed[arm]++;
      }
    }));
    await new Promise((r) => setTimeout(r, 20));
  }
})();

process.on("SIGTERM", async () => {
  stopping = true;
  await traffic;
  await node.stop();
  say("summary", { calls, failed, served: router.stats() });
  await Promise.all([v1.stop(), v2.stop()]);
  await flags.close();
  await store.close();
  process.exit(0);
});
