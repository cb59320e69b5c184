/**
 * `leases`: who leads what, for how long, under which term. Terms only
 * grow: every holder change takes the next one, and a write fenced by a term
 * is refused once another exists (see fence.ts). Expiry is on the store's
 * clock, so hosts whose clocks disagree still agree on it.
 *
 * @module
 */
import type { Driver, Queryable, SqlRow } from "../driver.ts";
import { type Fence, makeFence } from "../fence.ts";

/** A lease as read. */
export interface Lease {
  readonly name: string;
  /** The node holding it; null once released. */
  readonly holder: string | null;
  readonly term: number;
  readonly expiresAt: number;
  readonly acquiredAt: number;
  /** The PostgreSQL backend pid holding the lease's session lock, or null (no lock, or SQLite). */
  readonly lockPid: number | null;
  /** Milliseconds left on the store's clock (negative once expired). */
  readonly remainingMs: number;
}

/** How an acquisition went. */
export interface Acquired {
  /** The lease now: this node's when `acquired`. */
  readonly lease: Lease | null;
  readonly acquired: boolean;
}

/**
 * Leases with terms.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * const a = await store.leases.acquire("rollout:r1", "node-a", 5000);
 * const b = await store.leases.acquire("rollout:r1", "node-b", 5000);
 * console.log(a.acquired, a.lease?.term, b.acquired, b.lease?.holder); // true 1 false node-a
 * await store.close();
 * ```
 */
export class Leases {
  private readonly select: string;

  /** @internal */
  constructor(private readonly driver: Driver) {
    this.select = `SELECT name, holder, term, expires_at, acquired_at, lock_pid, expires_at - ${driver.types.nowMs} AS remaining_ms FROM leases WHERE name = ?`;
  }

  /** The lease of `name`, or null when nobody ever held it. */
  async get(name: string, q: Queryable = this.driver): Promise<Lease | null> {
    const [row] = await q.all(this.select, [name]);
    return row === undefined ? null : lease(row);
  }

  /**
   * Take the lease for `leaseMs` when it is free: never held, released,
   * expired, or (`holderGone`) its holder's session is known to be over.
   * Two nodes racing for it: one wins, the other sees `acquired: false`.
   */
  async acquire(name: string, nodeId: string, leaseMs: number, options: { lockPid?: number | null; holderGone?: boolean } = {}): Promise<Acquired> {
    const now = this.driver.types.nowMs;
    const lockPid = options.lockPid ?? null;
    return await this.driver.transaction(async (q) => {
      const held = await this.get(name, q);
      if (held === null) {
        await q.run(`INSERT INTO leases (name, holder, term, expires_at, acquired_at, lock_pid) VALUES (?, ?, 1, ${now} + ?, ${now}, ?) ON CONFLICT (name) DO NOTHING`, [
          name, nodeId, leaseMs, lockPid,
        ]);
      } else {
        const free = held.holder === null || held.remainingMs < 0 || options.holderGone === true;
        if (!free) return { lease: held, acquired: false };
        // Compare-and-set on the term, and still free when written (PostgreSQL's read committed lets a renewal land
        // between the read and this): of two nodes that both saw it free, one moves it; a renewed lease stays.
        await q.run(
          `UPDATE leases SET holder = ?, term = term + 1, expires_at = ${now} + ?, acquired_at = ${now}, lock_pid = ?
           WHERE name = ? AND term = ? AND (holder IS NULL OR expires_at < ${now} OR ?)`,
          [nodeId, leaseMs, lockPid, name, held.term, options.holderGone === true],
        );
      }
      const after = await this.get(name, q);
      return { lease: after, acquired: after?.holder === nodeId && after.term !== held?.term };
    });
  }

  /** Extend a held lease by `leaseMs` from now (and record its lock's pid); false when the term is over. */
  async renew(name: string, nodeId: string, term: number, leaseMs: number, lockPid: number | null): Promise<boolean> {
    const changed = await this.driver.run(`UPDATE leases SET expires_at = ${this.driver.types.nowMs} + ?, lock_pid = ? WHERE name = ? AND holder = ? AND term = ?`, [
      leaseMs, lockPid, name, nodeId, term,
    ]);
    return changed > 0;
  }

  /** Give a held lease up at once (a node stopping), so the next node need not wait for it to expire. */
  async release(name: string, nodeId: string, term: number): Promise<boolean> {
    const changed = await this.driver.run("UPDATE leases SET holder = NULL, expires_at = 0, lock_pid = NULL WHERE name = ? AND holder = ? AND term = ?", [name, nodeId, term]);
    return changed > 0;
  }

  /**
   * End the current term at once, whoever holds it (an operator's emergency):
   * every write fenced by it is refused from now on, and the lease is free.
   * Returns the term that ended, or null when nobody ever held the lease.
   */
  async preempt(name: string): Promise<number | null> {
    return await this.driver.transaction(async (q) => {
      const held = await this.get(name, q);
      if (held === null) return null;
      // The lock's pid stays: the next holder ends that session if it still holds the lock (see LeaseKeeper).
      await q.run("UPDATE leases SET holder = NULL, term = term + 1, expires_at = 0 WHERE name = ?", [name]);
      return held.term;
    });
  }

  /** The fence of a term: writes made through it are refused once the term is over. */
  fence(name: string, nodeId: string, term: number): Fence {
    return makeFence(this.driver, this.select, { lease: name, nodeId, term }, lease);
  }
}

function lease(r: SqlRow): Lease {
  return {
    name: String(r.name),
    holder: r.holder === null ? null : String(r.holder),
    term: Number(r.term),
    expiresAt: Number(r.expires_at),
    acquiredAt: Number(r.acquired_at),
    lockPid: r.lock_pid === null ? null : Number(r.lock_pid),
    remainingMs: Number(r.remaining_ms),
  };
}
