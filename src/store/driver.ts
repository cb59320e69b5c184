/**
 * The little SQL surface the tables are written against, so one set of
 * accessors serves SQLite and PostgreSQL. Statements use `?` placeholders;
 * JSON travels as text, times as integer milliseconds, booleans as booleans.
 *
 * @module
 */
import type { StoreBackend } from "../errors.ts";

/** A value bound to a placeholder. */
export type SqlValue = string | number | boolean | null;

/** A row as the driver returns it, before its table decodes it. */
export type SqlRow = Readonly<Record<string, unknown>>;

/** Run statements, inside or outside a transaction. */
export interface Queryable {
  /** Rows of a query. */
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Run a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** A connection (or connection pool) to one store. */
export interface Driver extends Queryable {
  readonly backend: StoreBackend;
  /** Where it points, without a password. */
  readonly display: string;
  /** Column types that differ between backends. */
  readonly types: { readonly json: string; readonly bool: string; readonly serial: string };
  /** Run `fn` in one transaction: all of it commits, or none of it. */
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribe to a notification channel; null where the backend has none
   * (SQLite: watchers poll instead). Resolves with the unsubscribe function.
   */
  listen(channel: string, onMessage: (payload: string) => void): Promise<(() => Promise<void>) | null>;
  /** Send a notification from inside a transaction (delivered when it commits); nothing where there are none. */
  notify(q: Queryable, channel: string, payload: string): Promise<void>;
  /** Run `fn` holding the store-wide lock that serialises schema migrations between processes. */
  exclusive<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The statement's verb and table, for error messages. */
export function firstWord(sql: string): string {
  return sql.trim().split(/\s+/, 3).join(" ").toLowerCase();
}
