/**
 * Fencing: a leader's writes carry its lease's term, and the store refuses
 * them once the term is over. Every write through a fenced driver runs in a
 * transaction that first reads the lease row (holding it, on PostgreSQL,
 * until the write commits): a takeover that commits first makes the write
 * fail with a FencedError; one that comes later waits for the write, and
 * the new leader reads it when it restores. So a leader that was paused, cut
 * off or slow, and lost its lease meanwhile, cannot write after its
 * successor has begun.
 *
 * @module
 */
import { FencedError } from "../errors.ts";
import type { Driver, Queryable, SqlRow, SqlValue } from "./driver.ts";

/** Which term a fence stands for. */
export interface FenceTerm {
  /** The lease's name. */
  readonly lease: string;
  /** The node that holds (or held) it under this term. */
  readonly nodeId: string;
  readonly term: number;
}

/** A term's fence: `check` inside a transaction refuses it once the term is over (another term, or expired). */
export interface Fence extends FenceTerm {
  check(q: Queryable): Promise<void>;
}

/** @internal The fence of a term, reading the lease with `select` (one `?`: the name). */
export function makeFence<L extends { holder: string | null; term: number; remainingMs: number }>(
  driver: Driver,
  select: string,
  term: FenceTerm,
  read: (row: SqlRow) => L,
): Fence {
  const sql = `${select}${driver.types.forShare}`;
  return {
    ...term,
    async check(q) {
      const [row] = await q.all(sql, [term.lease]);
      const held = row === undefined ? null : read(row);
      if (held !== null && held.holder === term.nodeId && held.term === term.term && held.remainingMs >= 0) return;
      throw new FencedError({ ...term, currentTerm: held?.term ?? null, holder: held?.holder ?? null });
    },
  };
}

const isRead = (sql: string): boolean => /^\s*select\b/i.test(sql);

/**
 * @internal A driver whose every write is checked against `fence` in the
 * same transaction; reads pass straight through. Closing it leaves the
 * driver it wraps open.
 */
export function fencedDriver(driver: Driver, fence: Fence): Driver {
  const guarded = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> =>
    driver.transaction(async (q) => {
      await fence.check(q);
      return await fn(q);
    });
  return {
    backend: driver.backend,
    display: driver.display,
    types: driver.types,
    all: (sql: string, params?: readonly SqlValue[]) => (isRead(sql) ? driver.all(sql, params) : guarded((q) => q.all(sql, params))),
    run: (sql: string, params?: readonly SqlValue[]) => guarded((q) => q.run(sql, params)),
    transaction: guarded,
    exclusive: (fn) => driver.exclusive(fn),
    listen: (channel, onMessage) => driver.listen(channel, onMessage),
    notify: (q, channel, payload) => driver.notify(q, channel, payload),
    sessionLocks: () => driver.sessionLocks(),
    close: () => Promise.resolve(),
  };
}
