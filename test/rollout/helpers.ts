import { createFlags, createRolloutController, createRouter, openStore, type PoolOptions, type RolloutOptions, type RouterOptions } from "../../mod.ts";
import { waitFor } from "../helpers.ts";
import { armPool } from "../routing/helpers.ts";

/** A small plan that moves in simulated minutes. */
export const QUICK_PLAN = {
  shadowMs: 0,
  stages: [
    { weightBp: 5000, minDurationMs: 60_000, minSamples: 20 },
    { weightBp: 7500, minDurationMs: 60_000, minSamples: 20 },
  ],
  failuresToRollback: 2,
  inconclusiveToPause: 3,
  cooldownMs: 300_000,
};

/**
 * Two arms over test/fixtures/arm_handler.py (V2 with the fault `fault`, and
 * `v2Options` over its defaults), a router, and a rollout on a simulated
 * clock; `traffic(n)` sends n "work" calls through the router on distinct
 * sessions.
 */
export async function rig(fault = "", options: Partial<RolloutOptions> = {}, routerOptions: Partial<RouterOptions> = {}, url = ":memory:", v2Options: Partial<PoolOptions> = {}) {
  let clock = 1_000_000;
  const store = await openStore(url, { now: () => clock });
  const flags = await createFlags({ store, env: {} });
  const [v1, v2] = await Promise.all([
    armPool("v1"),
    armPool("v2", { env: { MOLT_ARM: "v2", MOLT_FAULT: fault }, size: 2, sampleEveryMs: 20, retry: false, ...v2Options }),
  ]);
  const router = createRouter({ v1, v2, flags, store, ...routerOptions });
  const rollout = await createRolloutController({
    v1, v2, flags, store, router, now: () => clock, plan: QUICK_PLAN, thresholds: { minCalls: 20, criticalMinCalls: 10 }, ...options,
  });
  let session = 0;
  /** n calls, then a fresh RSS sample of every V2 worker, so that the next judgement sees what the calls did. */
  const traffic = async (n: number): Promise<void> => {
    await Promise.all(Array.from({ length: n }, () => router.execute("work", { x: 1 }, { sessionId: `s${session++}`, idempotent: true, timeoutMs: 5000 }).catch(() => null)));
    const after = Date.now();
    if (v2.metrics().workers.length > 0 && (v2Options.sampleEveryMs ?? 20) > 0) await waitFor(() => v2.metrics().workers.every((w) => (w.rssSampledAt ?? 0) > after), 10_000);
  };
  const advance = (ms: number): void => void (clock += ms);
  const stop = async (): Promise<void> => {
    await rollout.stop();
    await router.close();
    await Promise.all([v1.stop(), v2.stop()]);
    await flags.close();
    await store.close();
  };
  return { store, flags, v1, v2, router, rollout, traffic, advance, stop, now: () => clock };
}
