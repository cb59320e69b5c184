/**
 * Holding a rollout's lease: a follower takes it when it is free (never
 * held, released, expired, or its holder's session is over), a leader renews
 * it, and either learns at once when its term ends.
 *
 * On PostgreSQL the leader also holds a session advisory lock on its own
 * connection: a leader killed with `kill -9` loses its connection, the
 * server frees the lock, and the next follower to try it knows the holder is
 * gone without waiting for the lease to expire. A leader that is alive but
 * stuck (SIGSTOP, a partition) keeps its lock, so the lease expires and a
 * follower takes it without the lock, ending the stuck holder's session so
 * that the lock follows. The lease row, not the lock, decides: every write
 * is fenced by its term.
 *
 * @module
 */
import type { SessionLocks } from "../store/driver.ts";
import { driverOf, type Store } from "../store/store.ts";
import type { Lease } from "../store/tables/leases.ts";

/** What the keeper tells its node. */
export interface LeaseEvents {
  gained(term: number): void;
  lost(term: number, reason: string): void;
}

/** Keeps (or seeks) one lease for one node. */
export class LeaseKeeper {
  /** The term this node holds, or null while it follows. */
  term: number | null = null;
  /** The lease as last read or written. */
  last: Lease | null = null;
  private locks: SessionLocks | null;
  /** The backend holding the session lock for this node, or null. */
  private lockPid: number | null = null;
  /** When the lease was last renewed (this host's monotonic clock), while leading. */
  private renewedAt = 0;

  constructor(
    private readonly store: Store,
    readonly name: string,
    private readonly nodeId: string,
    private readonly leaseMs: number,
    private readonly events: LeaseEvents,
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    this.locks = driverOf(store).sessionLocks();
  }

  /** One round: renew while leading, else try to take the lease. A store failure rejects after handling what it means. */
  async step(): Promise<void> {
    if (this.term !== null) await this.renew();
    else await this.seek();
  }

  /** Give the lease up (a node stopping): the next node need not wait for it to expire. */
  async release(): Promise<void> {
    const term = this.term;
    if (term !== null) {
      this.term = null;
      // Not released (the store is away): the lease expires after leaseMs instead.
      await this.store.leases.release(this.name, this.nodeId, term).catch(this.onError);
      this.events.lost(term, "released: the node stopped");
    }
    await this.unlock();
    await this.locks?.close().catch(this.onError);
    this.locks = null;
  }

  /** Stop leading under `term` (a write was fenced: another node holds a newer one); nothing if this node no longer holds it. */
  demote(term: number, reason: string): void {
    if (this.term !== term) return;
    this.term = null;
    void this.unlock();
    this.events.lost(term, reason);
  }

  private async renew(): Promise<void> {
    const term = this.term!;
    try {
      // The lock only speeds up a failover: a lock connection that fails must not stop the renewal.
      await this.checkLock().catch((e) => (this.lockPid = null, this.onError(e)));
      const ok = await this.store.leases.renew(this.name, this.nodeId, term, this.leaseMs, this.lockPid);
      if (!ok) return this.demote(term, `term ${term} is over: another node holds the lease`);
      this.renewedAt = performance.now();
    } catch (e) {
      // Unsure whether it still holds the lease: once it may have expired, it must act as if it had.
      if (performance.now() - this.renewedAt >= this.leaseMs) this.demote(term, `could not renew for ${this.leaseMs} ms: ${(e as Error).message}`);
      throw e;
    }
  }

  private async seek(): Promise<void> {
    const lease = await this.store.leases.get(this.name);
    this.last = lease;
    const expired = lease === null || lease.holder === null || lease.remainingMs < 0;
    // A holder that holds the session lock and is alive keeps it: getting the lock means its session is over.
    const gone = !expired && lease!.lockPid !== null && (await this.tryLock());
    if (!expired && !gone) return;
    const started = performance.now();
    const got = await this.store.leases.acquire(this.name, this.nodeId, this.leaseMs, { lockPid: this.lockPid, holderGone: gone });
    this.last = got.lease;
    if (!got.acquired) return void (await this.unlock());
    this.term = got.lease!.term;
    this.renewedAt = started;
    // Taken by expiry from a holder whose session lives on (stopped, cut off): end that session, so its lock is freed.
    if (lease?.lockPid != null && !gone) await this.endSession(lease.lockPid);
    this.events.gained(this.term);
  }

  /** Take the session lock if this backend has one and does not hold it yet; true when held. */
  private async tryLock(): Promise<boolean> {
    if (this.locks === null) return false;
    if (this.lockPid === null) this.lockPid = await this.locks.tryLock(this.name);
    return this.lockPid !== null;
  }

  /** While leading: keep (or take) the lock, and notice when its session was lost. */
  private async checkLock(): Promise<void> {
    if (this.locks === null) return;
    if (this.lockPid !== null && (await this.locks.backendPid()) !== this.lockPid) this.lockPid = null;
    if (this.lockPid === null) await this.tryLock();
  }

  private async unlock(): Promise<void> {
    if (this.locks === null || this.lockPid === null) return;
    this.lockPid = null;
    await this.locks.unlock(this.name).catch(() => {});
  }

  /** End the session `pid` only while it still holds an advisory lock (a reused pid is left alone). */
  private async endSession(pid: number): Promise<void> {
    await driverOf(this.store).all(
      "SELECT pg_terminate_backend(pid) AS ended FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = ?::int AND objid::bigint = (hashtext(?)::bigint & 4294967295)",
      [pid, this.name],
    ).catch(this.onError);
  }
}
