/**
 * The embedded backend: node:sqlite's DatabaseSync (the same module under
 * Bun, Deno and Node), in WAL mode with one writer.
 *
 * A statement runs synchronously, so a single one can never interleave with
 * another; a transaction spans awaits, so while one is open every other
 * statement of this connection waits for it.
 *
 * Waiting for another process's write lock must not block the event loop,
 * and SQLite's own busy handler would: it sleeps inside the statement (a
 * write under a held lock froze the host for as long as the lock was held,
 * issue 13). So SQLite's busy timeout is 0 and a statement that meets the
 * lock is retried from a timer, after 1, 2, 4, … ms up to
 * MAX_RETRY_DELAY_MS, until `busyTimeoutMs` have passed since it was issued
 * (time spent queued behind this connection's earlier writes included, so a
 * queue of writes under a stuck lock fails together, not one per timeout);
 * then it fails saying so. Retrying is safe because what is retried is
 * atomic: a single statement outside a transaction, or `BEGIN IMMEDIATE`,
 * which takes the write lock when a transaction starts or not at all (a
 * deferred transaction that read first could not take it later: SQLite
 * fails such an upgrade at once rather than risk a deadlock), or `COMMIT`.
 * Measured with another process holding the lock for 0.3-0.7 s: the event
 * loop's longest gap while a write waited fell from the whole lock time to
 * 7 ms median, 14 ms at most (a 5 ms ticker's own period plus scheduling),
 * and the released lock was taken after 8 ms median, 19 ms at most, where
 * SQLite's handler (which sleeps up to 100 ms between its tries) took 26 ms
 * median, 75 ms at most. A busy timeout of 5 ms instead of 0 took the lock
 * no sooner, and blocked the loop 5 ms at every attempt.
 *
 * Writes and transactions of one connection queue behind each other, so
 * they land in the order they were issued even while the first waits for
 * the lock. A read waits only for the writes this connection issued before
 * it (so that it sees them) and for an open transaction: in WAL mode another
 * process's writer does not block it (it is retried the same way in the
 * rare case it meets a lock, such as another process recovering the WAL).
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
// Loaded when a SQLite store is opened, not when molt is imported: a runtime without node:sqlite can still run pools.
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { StoreError } from "../errors.ts";
import { type Driver, firstWord, type Queryable, type SqlRow, type SqlValue } from "./driver.ts";

const SQLITE_BUSY = 5;
const SQLITE_CONSTRAINT = 19;

/** How long a statement waits for another process's write lock, unless openStore is told otherwise. */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

/** The longest sleep between two attempts: how late a released lock may be noticed. */
const MAX_RETRY_DELAY_MS = 20;

function bind(params: readonly SqlValue[]): (string | number | null)[] {
  return params.map((p) => (typeof p === "boolean" ? (p ? 1 : 0) : p));
}

/** SQLITE_BUSY with any of its extended codes (BUSY_SNAPSHOT, BUSY_RECOVERY, …). */
function isBusy(e: unknown): boolean {
  return (((e as { errcode?: number }).errcode ?? 0) & 0xff) === SQLITE_BUSY;
}

function lockedReason(waitedMs: number, busyTimeoutMs: number): string {
  return `database is locked by another process: gave up after ${waitedMs} ms (the store's busyTimeoutMs is ${busyTimeoutMs})`;
}

/**
 * Run `attempt` until it does not meet another process's lock, sleeping
 * between attempts so the event loop runs meanwhile. Before each attempt,
 * waits for what `blocked` returns (null: nothing). Rejects with what
 * `attempt` threw when it is not the lock, or with `gaveUp(waited ms)` once
 * `busyTimeoutMs` have passed since `since`.
 */
async function retryWhileBusy<T>(
  attempt: () => T,
  options: { since: number; busyTimeoutMs: number; blocked: () => Promise<void> | null; gaveUp: (waitedMs: number) => Error },
): Promise<T> {
  let delay = 1;
  for (;;) {
    for (let b = options.blocked(); b !== null; b = options.blocked()) await b;
    try {
      return attempt();
    } catch (e) {
      if (!isBusy(e)) throw e;
      const waited = Date.now() - options.since;
      if (waited >= options.busyTimeoutMs) throw options.gaveUp(waited);
      await new Promise((r) => setTimeout(r, Math.min(delay, options.busyTimeoutMs - waited)));
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    }
  }
}

/**
 * node:sqlite, without the ExperimentalWarning Node 22 prints on stderr when
 * it is first loaded: molt chose the module, its users did not, and the
 * line landed in the output of every `molt` command run under Node.
 */
async function loadSqlite(): Promise<typeof import("node:sqlite")> {
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: unknown } | undefined)?.type;
    const text = typeof warning === "string" ? warning : warning.message;
    if (type === "ExperimentalWarning" && text.startsWith("SQLite is an experimental feature")) return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return await import("node:sqlite");
  } finally {
    process.emitWarning = emit;
  }
}

/** Open (creating the file and its directory) a SQLite store. */
export async function openSqlite(path: string, display: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): Promise<Driver> {
  const unreachable = (reason: string) => new StoreError({ backend: "sqlite", operation: "open", failure: "unreachable", url: display, reason });
  let db: DatabaseSync;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const sqlite = await loadSqlite();
    db = new sqlite.DatabaseSync(path);
    // SQLite's own busy handler would sleep inside the statement: locks are waited for by retrying instead.
    db.exec("PRAGMA busy_timeout = 0");
  } catch (e) {
    throw openRefused(e, display) ?? unreachable((e as Error).message);
  }
  try {
    // Switching a new file to WAL reports "locked" while another process switches it: retried like any statement.
    await retryWhileBusy(() => {
      db.exec("PRAGMA journal_mode = WAL");
      // NORMAL is durable against a crash of the process (what kill -9 does);
      // only an OS crash or power loss can drop the last commits, never tear one.
      db.exec("PRAGMA synchronous = NORMAL");
    }, { since: Date.now(), busyTimeoutMs, blocked: () => null, gaveUp: (waited) => unreachable(lockedReason(waited, busyTimeoutMs)) });
  } catch (e) {
    db.close();
    throw e instanceof StoreError ? e : unreachable((e as Error).message);
  }
  return new SqliteDriver(db, display, busyTimeoutMs);
}

class SqliteDriver implements Driver {
  readonly backend = "sqlite" as const;
  readonly types = {
    json: "TEXT",
    bool: "INTEGER",
    serial: "INTEGER PRIMARY KEY AUTOINCREMENT",
    nowMs: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    forShare: "",
  };
  private readonly statements = new Map<string, StatementSync>();
  /** Settles when the open transaction ends; reads from outside it wait for it. */
  private open: Promise<void> | null = null;
  /** Settles when the last write or transaction issued so far is done; null when none is pending. */
  private writes: Promise<void> | null = null;
  private closed = false;
  private readonly direct: Queryable = {
    all: (sql, params = []) => this.inside(() => this.exec(sql, params, "all") as SqlRow[], sql),
    run: (sql, params = []) => this.inside(() => this.exec(sql, params, "run") as number, sql),
  };

  constructor(private readonly db: DatabaseSync, readonly display: string, private readonly busyTimeoutMs: number) {}

  all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.statement(sql, () => this.exec(sql, params, "all") as SqlRow[]);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.statement(sql, () => this.exec(sql, params, "run") as number);
  }

  sessionLocks(): null {
    return null;
  }

  listen(): Promise<null> {
    return Promise.resolve(null);
  }

  notify(): Promise<void> {
    return Promise.resolve();
  }

  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.begin(fn);
  }

  exclusive<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    // Every transaction takes the database's write lock at once: a second
    // process opening the same file waits here until the first has migrated.
    return this.begin(fn);
  }

  private begin<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const since = Date.now();
    return this.serially(async () => {
      let end!: () => void;
      const ended = new Promise<void>((resolve) => (end = resolve));
      // `open` is set in the same step as BEGIN, so no read slips in between.
      await this.retrying("BEGIN IMMEDIATE", since, () => {
        this.exec("BEGIN IMMEDIATE", [], "run");
        this.open = ended;
      }, () => null);
      try {
        const result = await fn(this.direct);
        await this.retrying("COMMIT", Date.now(), () => this.exec("COMMIT", [], "run"), () => null);
        return result;
      } catch (e) {
        this.rollback();
        throw e;
      } finally {
        this.open = null;
        end();
      }
    });
  }

  /**
   * End the open transaction after its body failed. Not by asking
   * `DatabaseSync.isTransaction` first: Node has it only from 22.16, and
   * without it a failed transaction stayed open and every later one failed
   * ("cannot start a transaction within a transaction"). SQLite may have
   * rolled back already (it does on SQLITE_FULL, IOERR, NOMEM, ...): that
   * ROLLBACK finds no transaction, and the body's error is what counts.
   */
  private rollback(): void {
    try {
      this.db.exec("ROLLBACK");
    } catch (e) {
      if (!/no transaction is active/.test((e as Error).message)) throw this.error("ROLLBACK", e);
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.statements.clear();
      this.db.close();
    }
    return Promise.resolve();
  }

  /**
   * A statement from outside any transaction: a write after the writes issued before it; a read at
   * once, or, while this connection has writes queued, after them, so that it sees them.
   */
  private statement<T>(sql: string, attempt: () => T): Promise<T> {
    const since = Date.now();
    if (/^\s*select\b/i.test(sql)) {
      const read = (): Promise<T> => this.retrying(sql, since, attempt, () => this.open);
      const queued = this.writes;
      return queued === null ? read() : queued.then(read);
    }
    return this.serially(() => this.retrying(sql, since, attempt, () => null));
  }

  /** Run `unit` once every write and transaction issued before it is done; at once, in this step, when none is pending. */
  private serially<T>(unit: () => Promise<T>): Promise<T> {
    const before = this.writes;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.writes = mine;
    const settled = () => {
      if (this.writes === mine) this.writes = null;
      done();
    };
    const result = before === null ? unit() : before.then(unit);
    result.then(settled, settled);
    return result;
  }

  private retrying<T>(sql: string, since: number, attempt: () => T, blocked: () => Promise<void> | null): Promise<T> {
    return retryWhileBusy(attempt, {
      since,
      busyTimeoutMs: this.busyTimeoutMs,
      blocked,
      gaveUp: (waited) => this.failed(sql, "query", lockedReason(waited, this.busyTimeoutMs)),
    }).catch((e: unknown) => {
      throw this.error(sql, e);
    });
  }

  /** A statement inside the open transaction, which holds the write lock already. */
  private inside<T>(attempt: () => T, sql: string): Promise<T> {
    try {
      return Promise.resolve(attempt());
    } catch (e) {
      return Promise.reject(this.error(sql, e));
    }
  }

  private exec(sql: string, params: readonly SqlValue[], mode: "all" | "run"): SqlRow[] | number {
    if (this.closed) throw this.failed(sql, "closed", "the store is closed");
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return mode === "all" ? statement.all(...bind(params)) as SqlRow[] : Number(statement.run(...bind(params)).changes);
  }

  private error(sql: string, e: unknown): StoreError {
    if (e instanceof StoreError) return e;
    const code = ((e as { errcode?: number }).errcode ?? 0) & 0xff;
    return this.failed(sql, code === SQLITE_CONSTRAINT ? "conflict" : "query", (e as Error).message);
  }

  private failed(sql: string, failure: "query" | "conflict" | "closed", reason: string): StoreError {
    return new StoreError({ backend: "sqlite", operation: firstWord(sql), failure, url: this.display, reason });
  }
}

/**
 * A refusal to open for want of a permission — the runtime's (Deno's
 * `--allow-read`/`--allow-write`, Node's permission model) or the file
 * system's — as a StoreError "permission" that says what to grant; null
 * for any other failure.
 */
function openRefused(e: unknown, display: string): StoreError | null {
  const error = e as { name?: string; code?: string; message?: string };
  const runtime = error.name === "NotCapable" || error.name === "PermissionDenied" || error.code === "ERR_ACCESS_DENIED";
  if (!runtime && error.code !== "EACCES" && error.code !== "EPERM") return null;
  const hint = runtime
    ? "grant read and write access to the store's directory (Deno: --allow-read --allow-write, or -A; Node: --allow-fs-read and --allow-fs-write)"
    : "the file system refuses this process: check the directory's owner and mode";
  return new StoreError({ backend: "sqlite", operation: "open", failure: "permission", url: display, reason: `${error.message ?? String(e)}; ${hint}` });
}
