// bench/router.bench.ts: the cost of one routing decision (flag reads +
// bucket), in ns, measured in one run:
//   off        V2 disabled: two flag reads
//   session    V2 at 25%, a returning session id (bucket cache hit)
//   request    V2 at 25%, a new request id every call (MurmurHash3 of the key)
//   random     V2 at 25%, no sticky key (a random draw)
//   bucketOf   the hash and bucket alone, for comparison
// Target: under 300 ns. Prints a table and one JSON line.
//
//   npx bun run bench/router.bench.ts [--rounds 5]
import { bucketOf, createFlags, createRouter, openStore, type Pool, SHARE_FLAG } from "../mod.ts";
import { numberFlag } from "./args.ts";
import { median } from "./bare-driver.ts";

const ROUNDS = numberFlag("--rounds", 5);
const N = 1_000_000;

// The decision never touches a pool; stand-ins that satisfy the router's checks suffice.
const idle = (name: string): Pool => ({ execute: () => Promise.resolve(null), health: () => Promise.resolve(null), state: "serving", name }) as unknown as Pool;
const store = await openStore(":memory:");
const flags = await createFlags({ store, env: {} });
const router = createRouter({ v1: idle("v1"), v2: idle("v2"), flags, store });
const requestIds = Array.from({ length: N }, () => crypto.randomUUID());
const sessions = Array.from({ length: 1000 }, (_, i) => `session-${i}`);

function time(fn: (i: number) => unknown): number {
  let sink = 0;
  const t = performance.now();
  for (let i = 0; i < N; i++) sink += fn(i) === null ? 1 : 0;
  const ns = ((performance.now() - t) * 1e6) / N;
  if (sink < 0) console.log(sink);
  return ns;
}

const cases: Record<string, () => number> = {
  off: () => time(() => router.decide({ sessionId: "s" })),
  session: () => time((i) => router.decide({ sessionId: sessions[i % sessions.length] })),
  request: () => time((i) => router.decide({ requestId: requestIds[i] })),
  random: () => time(() => router.decide({})),
  bucketOf: () => time((i) => bucketOf(SHARE_FLAG, requestIds[i]!)),
};

const samples: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    if (name === "off") await flags.set("pool_v2_enabled", false);
    else {
      await flags.set("pool_v2_enabled", true);
      await flags.set("pool_v2_share", 2500);
    }
    (samples[name] ??= []).push(run());
  }
}
const rows = Object.entries(samples).map(([name, xs]) => ({ case: name, ns: Number(median(xs).toFixed(1)) }));
console.log(`\nrouting decision, ${N} calls per case, median of ${ROUNDS} rounds (${"Deno" in globalThis ? "deno" : "bun"})\n`);
console.log("| case | ns per decision |\n| --- | --- |");
for (const r of rows) console.log(`| ${r.case} | ${r.ns} |`);
console.log(JSON.stringify({ bench: "router", n: N, rounds: ROUNDS, rows }));
await flags.close();
await store.close();
