// bench/store.bench.ts: the store's journal, per backend, in one run:
//   append   events/s through persistActor.send (validate, INSERT, apply), 10,000 events
//   raw      events/s through store.journal.append alone
//   restore  ms to restore the actor (latest snapshot + the journal after it)
//   replay   ms to replay all 10,000 events from the start
// Backends: SQLite in a file (WAL), SQLite :memory:, and PostgreSQL at
// 127.0.0.1:5432 (or MOLT_BENCH_PG_URL) in a scratch schema, skipped with a
// note when it cannot be reached. Prints a table and one JSON line.
//
//   npx bun run bench/store.bench.ts [--events 10000] [--rounds 3]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { openStore, persistActor, replay, type Store } from "../mod.ts";
import { ledgerMachine } from "../test/fixtures/ledger-machine.ts";
import { median } from "./bare-driver.ts";

const arg = (name: string, fallback: number): number => Number(process.argv[process.argv.indexOf(name) + 1] || fallback);
const EVENTS = arg("--events", 10_000);
const ROUNDS = arg("--rounds", 3);
const PG = process.env.MOLT_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const input = { owner: "bench" };

interface Row {
  backend: string;
  appendPerSec: number;
  rawPerSec: number;
  restoreMs: number;
  replayMs: number;
}

async function once(url: string): Promise<Omit<Row, "backend">> {
  const store: Store = await openStore(url);
  const o = { actorId: "bench", machineVersion: 1, store, input, snapshotEvery: 100 };
  const actor = await persistActor(ledgerMachine, o);
  let t = performance.now();
  for (let i = 1; i <= EVENTS; i++) await actor.send({ type: "ledger.added", amount: 1, now: i });
  const appendPerSec = EVENTS / ((performance.now() - t) / 1000);
  // No stop(): restore as after a crash, from the last snapshot and the tail after it.
  t = performance.now();
  const restored = await persistActor(ledgerMachine, { ...o, actorId: "bench" });
  const restoreMs = performance.now() - t;
  if (restored.getSnapshot().context.count !== EVENTS) throw new Error("restore lost events");
  await restored.stop();
  t = performance.now();
  const whole = await replay(ledgerMachine, { ...o, from: "start" });
  const replayMs = performance.now() - t;
  if (whole.replayed !== EVENTS) throw new Error("replay lost events");
  t = performance.now();
  for (let seq = 1; seq <= EVENTS; seq++) await store.journal.append({ actorId: "raw", seq, event: { type: "ledger.added", amount: 1, now: seq }, at: seq });
  const rawPerSec = EVENTS / ((performance.now() - t) / 1000);
  await store.close();
  return { appendPerSec, rawPerSec, restoreMs, replayMs };
}

async function pgReachable(): Promise<string | null> {
  const sql = postgres(PG, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const dir = mkdtempSync(join(tmpdir(), "molt-bench-"));
const pgDown = await pgReachable();
const backends: [string, () => string][] = [
  ["sqlite (file, WAL)", () => `sqlite:${join(dir, `${crypto.randomUUID()}.db`)}`],
  ["sqlite (:memory:)", () => ":memory:"],
];
const schemas: string[] = [];
if (pgDown === null) {
  backends.push(["postgres (127.0.0.1)", () => {
    schemas.push(`molt_bench_${process.pid}_${schemas.length}`);
    return `${PG}?schema=${schemas.at(-1)}`;
  }]);
} else console.log(`postgres skipped: ${pgDown}`);

const samples = new Map<string, Omit<Row, "backend">[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, url] of backends) {
    const r = await once(url());
    samples.set(name, [...(samples.get(name) ?? []), r]);
  }
}
const rows: Row[] = [...samples].map(([backend, rs]) => ({
  backend,
  appendPerSec: Math.round(median(rs.map((r) => r.appendPerSec))),
  rawPerSec: Math.round(median(rs.map((r) => r.rawPerSec))),
  restoreMs: Number(median(rs.map((r) => r.restoreMs)).toFixed(1)),
  replayMs: Number(median(rs.map((r) => r.replayMs)).toFixed(1)),
}));
console.log(`\n${EVENTS} events, median of ${ROUNDS} rounds\n`);
console.log("| backend | persistActor.send /s | journal.append /s | restore (snapshot + tail) ms | replay all ms |");
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.backend} | ${r.appendPerSec} | ${r.rawPerSec} | ${r.restoreMs} | ${r.replayMs} |`);
console.log(JSON.stringify({ bench: "store", events: EVENTS, rounds: ROUNDS, rows }));

rmSync(dir, { recursive: true, force: true });
if (schemas.length > 0) {
  const sql = postgres(PG, { max: 1, onnotice: () => {} });
  for (const s of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await sql.end();
}
