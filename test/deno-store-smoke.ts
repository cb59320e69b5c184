// Run by .ci/run under Deno: the store on a SQLite file and, when the server
// at 127.0.0.1:5432 (or MOLT_TEST_PG_URL) answers, on PostgreSQL in a scratch
// schema: migrations, a persisted actor restored from its journal, a backup.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { BREAKER_MACHINE_VERSION, breakerMachine } from "../machines/mod.ts";
import { openStore, persistActor, replay } from "../mod.ts";

assert.equal(typeof (globalThis as { Deno?: unknown }).Deno, "object", "run this with deno");
const pgUrl = process.env.MOLT_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function exercise(url: string): Promise<string> {
  const store = await openStore(url, { connectTimeoutMs: 2000 });
  assert.deepEqual((await store.migrations()).map((m) => m.version), [1, 2, 3, 4, 5, 6, 7, 8]);
  const o = { actorId: "breaker:deno", machineVersion: BREAKER_MACHINE_VERSION, store, input: { breakerId: "deno" }, snapshotEvery: 2 };
  const first = await persistActor(breakerMachine, o);
  await first.send({ type: "breaker.opened", now: 1 });
  await first.send({ type: "breaker.halfOpened", now: 2 });
  await first.send({ type: "breaker.opened", now: 3 });
  const again = await persistActor(breakerMachine, o);
  assert.deepEqual([again.getSnapshot().value, again.seq, again.restore.replayed], ["open", 3, 1]);
  await again.stop();
  assert.equal((await replay(breakerMachine, { ...o, untilSeq: 2 })).state.value, "halfOpen");
  await store.flags.set("pool_v2_enabled", true, { by: "deno" });
  const backup = await store.backups.write(await store.backups.collect(), { reason: "smoke" });
  assert.equal((await store.backups.read(backup.id))?.document.flags[0]?.key, "pool_v2_enabled");
  await store.close();
  return store.backend;
}

const dir = mkdtempSync(join(tmpdir(), "molt-deno-"));
const done = [await exercise(`sqlite:${join(dir, "molt.db")}`)];
rmSync(dir, { recursive: true, force: true });

const admin = postgres(pgUrl, { max: 1, connect_timeout: 2, onnotice: () => {} });
const schema = `molt_deno_${process.pid}`;
const down = await admin`select 1`.then(() => null, (e: Error) => e.message);
try {
  if (down === null) done.push(await exercise(`${pgUrl}?schema=${schema}`));
  else console.log(`deno store smoke: PostgreSQL skipped (${down})`);
} finally {
  if (down === null) await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end({ timeout: 1 });
}
console.log(`deno store smoke: ok (${done.join(", ")})`);
