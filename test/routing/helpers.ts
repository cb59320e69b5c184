import { createFlags, createPool, createRouter, EventBus, type MoltEvent, openStore, type Pool, type PoolOptions, type RouterOptions } from "../../mod.ts";
import { fixture } from "../helpers.ts";

/** A pool over test/fixtures/arm_handler.py that knows which arm it is. */
export function armPool(arm: "v1" | "v2", extra: Partial<PoolOptions> = {}): Promise<Pool> {
  return createPool({
    name: arm,
    handler: fixture("arm_handler.py"),
    size: 1,
    heartbeatMs: 0,
    sampleEveryMs: 0,
    onStderr: () => {},
    env: { MOLT_ARM: arm },
    ...(arm === "v1" ? { strategy: "basic" as const } : {}),
    ...extra,
  });
}

/** Two arms, flags on a fresh in-memory store, and a router in front; `stop` ends it all. */
export async function arms(routerOptions: Partial<RouterOptions> = {}, v2Options: Partial<PoolOptions> = {}) {
  const store = await openStore(":memory:");
  const flags = await createFlags({ store, env: {} });
  const [v1, v2] = await Promise.all([armPool("v1"), armPool("v2", v2Options)]);
  const events = new EventBus();
  const seen: MoltEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const router = createRouter({ v1, v2, flags, store, events, ...routerOptions });
  const stop = async (): Promise<void> => {
    await router.close();
    await Promise.all([v1.stop(), v2.stop()]);
    await flags.close();
    await store.close();
  };
  return { store, flags, v1, v2, router, events: seen, stop };
}

/** Turn V2 on at a share (basis points). */
export async function share(flags: Awaited<ReturnType<typeof arms>>["flags"], bp: number): Promise<void> {
  await flags.set("pool_v2_enabled", true);
  await flags.set("pool_v2_share", bp);
}
