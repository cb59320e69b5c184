// bench/store.bench.ts: the store's journal, per backend, in one run:
//   append   events/s through persistActor.send (validate, INSERT, apply), 10,000 events
//   raw      events/s through store.journal.append alone
//   restore  ms to restore an actor from a snapshot and the 99 events after it,
//            and from its initial snapshot and all 10,000 events (the worst case)
// Backends: SQLite in a file (WAL), SQLite :memory:, and PostgreSQL at
// 127.0.0.1:5432 (or MOLT_BENCH_PG_URL) in a scratch schema, skipped with a
// note when it cannot be reached. Prints a table and one JSON line.
//
//   npx bun run bench/store.bench.ts [--events 10000] [--rounds 3]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { openStore, persistActor, type Store } from "../mod.ts";
import { ledgerMachine } from "../test/fixtures/ledger-machine.ts";
import { numberFlag } from "./args.ts";
import { median } from "./bare-driver.ts";

const EVENTS = numberFlag("--events", 10_000);
const ROUNDS = numberFlag("--rounds", 3);
const PG = process.env.MOLT_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const input = { owner: "bench" };

interface Row {
  backend: string;
  appendPerSec: number;
  rawPerSec: number;
  restoreTailMs: number;
  restoreAllMs: number;
}

const TAIL = 99;

async function once(url: string): Promise<Omit<Row, "backend">> {
  const store: Store = await openStore(url);
  // Only the initial snapshot: a restore must replay every event (the worst case).
  const o = { actorId: "bench", machineVersion: 1, store, input, snapshotEvery: EVENTS + 1 };
  const actor = await persistActor(ledgerMachine, o);
  let t = performance.now();
  for (let i = 1; i <= EVENTS; i++) await actor.send({ type: "ledger.added", amount: 1, now: i });
  const appendPerSec = EVENTS / ((performance.now() - t) / 1000);
  // No stop(): restore as after a crash.
  t = performance.now();
  const restored = await persistActor(ledgerMachine, o);
  const restoreAllMs = performance.now() - t;
  if (restored.getSnapshot().context.count !== EVENTS || restored.restore.replayed !== EVENTS) throw new Error("restore lost events");
  await restored.stop();
  // The usual case: a snapshot every 100 events, so at most 99 to replay.
  const usual = { ...o, actorId: "usual", snapshotEvery: 100 };
  const writer = await persistActor(ledgerMachine, usual);
  for (let i = 1; i <= 100 + TAIL; i++) await writer.send({ type: "ledger.added", amount: 1, now: i });
  t = performance.now();
  const back = await persistActor(ledgerMachine, usual);
  const restoreTailMs = performance.now() - t;
  if (back.restore.replayed !== TAIL) throw new Error("unexpected tail");
  await back.stop();
  t = performance.now();
  for (let seq = 1; seq <= EVENTS; seq++) await store.journal.append({ actorId: "raw", seq, event: { type: "ledger.added", amount: 1, now: seq }, at: seq });
  const rawPerSec = EVENTS / ((performance.now() - t) / 1000);
  await store.close();
  return { appendPerSec, rawPerSec, restoreTailMs, restoreAllMs };
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
  restoreTailMs: Number(median(rs.map((r) => r.restoreTailMs)).toFixed(1)),
  restoreAllMs: Number(median(rs.map((r) => r.restoreAllMs)).toFixed(1)),
}));
console.log(`\n${EVENTS} events, median of ${ROUNDS} rounds\n`);
console.log(`| backend | persistActor.send /s | journal.append /s | restore: snapshot + ${TAIL} events, ms | restore: replay all ${EVENTS}, ms |`);
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.backend} | ${r.appendPerSec} | ${r.rawPerSec} | ${r.restoreTailMs} | ${r.restoreAllMs} |`);
console.log(JSON.stringify({ bench: "store", events: EVENTS, rounds: ROUNDS, rows }));

rmSync(dir, { recursive: true, force: true });
if (schemas.length > 0) {
  const sql = postgres(PG, { max: 1, onnotice: () => {} });
  for (const s of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await sql.end();
}
