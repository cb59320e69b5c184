import { createPool, EventBus, type MoltEvent, type Pool, type PoolOptions } from "../../mod.ts";
import { fixture } from "../helpers.ts";

/** A pool over the echo fixture, quiet, without heartbeat or RSS sampling unless asked. */
export async function echoPool(options: Partial<PoolOptions> = {}): Promise<{ pool: Pool; events: MoltEvent[] }> {
  const bus = options.events ?? new EventBus();
  const events: MoltEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const pool = await createPool({
    name: "p",
    handler: fixture("echo_handler.py"),
    heartbeatMs: 0,
    sampleEveryMs: 0,
    onStderr: () => {},
    ...options,
    events: bus,
  });
  return { pool, events };
}

/** The pids of a pool's workers. */
export const pids = (pool: Pool): number[] => pool.metrics().workers.map((w) => w.pid);

/** Events of one type. */
export function ofType<T extends MoltEvent["type"]>(events: MoltEvent[], type: T): Extract<MoltEvent, { type: T }>[] {
  return events.filter((e): e is Extract<MoltEvent, { type: T }> => e.type === type);
}
