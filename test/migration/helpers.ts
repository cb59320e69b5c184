/** A migration on real pools with a simulated clock, and its traffic. */
import { createFlags, createMigration, type MigrationOptions, openStore, type PoolOptions } from "../../mod.ts";
import { fixture } from "../helpers.ts";
import { armPool } from "../routing/helpers.ts";
import { QUICK_PLAN } from "../rollout/helpers.ts";

export const MIN = 60_000;

export const v2Options = (fault = "", extra: Partial<PoolOptions> = {}): PoolOptions => ({
  name: "v2", handler: fixture("arm_handler.py"), size: 1, heartbeatMs: 0, sampleEveryMs: 0, onStderr: () => {}, env: { MOLT_ARM: "v2", MOLT_FAULT: fault }, retry: false, ...extra,
});

export async function setup(url: string, v2: PoolOptions, extra: Partial<MigrationOptions> = {}, v1Extra: Partial<PoolOptions> = {}) {
  let clock = 5_000_000;
  const store = await openStore(url, { now: () => clock });
  const flags = await createFlags({ store, env: {} });
  const v1 = await armPool("v1", v1Extra);
  const migration = await createMigration({
    v1, v2, flags, store, now: () => clock, decommissionAfterMs: 10 * MIN,
    rollout: { plan: QUICK_PLAN, thresholds: { minCalls: 20, criticalMinCalls: 10 } }, ...extra,
  });
  let session = 0;
  const traffic = (n: number) =>
    Promise.all(Array.from({ length: n }, () => migration.router!.execute("work", { x: 1 }, { sessionId: `s${session++}`, idempotent: true }).catch(() => null)));
  const close = async () => {
    await migration.stop({ stopV2: true });
    await v1.stop();
    await flags.close();
    await store.close();
  };
  const advance = (ms: number) => void (clock += ms);
  /** Run the migration, then a minute of `calls` calls and a tick at a time, until the rollout is promoted or rolled back (four ticks at most). */
  const rollOut = async (calls = 80) => {
    await migration.run();
    for (let i = 0; i < 4 && migration.status().state === "rollout"; i++) {
      advance(MIN);
      await traffic(calls);
      await migration.tick();
    }
  };
  return { store, flags, v1, migration, traffic, advance, rollOut, close };
}


/**
 * A migration that records windows of half a second (its pools' slices are half a second), so that windows end while a
 * test waits; with the calls both pools served, and the calls the windows written to pool_metrics hold.
 */
export async function recordingSetup(url: string) {
  const slices = { windowMs: 10_000, windowSlices: 20 };
  const m = await setup(url, v2Options("", slices), { recordWindowMs: 500 }, slices);
  const served = (): number => m.v1.stats().calls + (m.migration.v2?.stats().calls ?? 0);
  const recorded = async (): Promise<number> => {
    const rows = [...await m.store.poolMetrics.range("v1"), ...await m.store.poolMetrics.range("v2")];
    return rows.reduce((sum, r) => sum + Number((r.metrics as { calls?: number }).calls ?? 0), 0);
  };
  return { ...m, served, recorded };
}
