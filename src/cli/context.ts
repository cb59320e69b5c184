/**
 * What every command shares: the global options, the store (opened
 * without creating one for the commands that only read), who is acting,
 * and the usage errors (exit 2) every option check ends in.
 *
 * @module
 */
import { userInfo } from "node:os";
import type { Command } from "commander";
import { isMoltError, openStore, type Store } from "../../mod.ts";

/** The options every command takes. */
export interface Globals {
  readonly store: string;
  readonly migration: string;
}

/** Ends a command with `message` on stderr and `exitCode` (2: a usage error, found before anything happened). */
export class CommandFailure {
  constructor(readonly message: string, readonly exitCode: number = 2) {}
}

/** Who is acting when `--by` is not given: the OS user. */
export function defaultOperator(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): still someone to record.
    return `uid ${process.getuid?.() ?? "unknown"}`;
  }
}

/** Every migration (or rollout) id the store has a machine for. */
export async function knownMigrations(store: Store): Promise<string[]> {
  const actors = new Set([...(await store.snapshots.actors()), ...(await store.journal.actors())]);
  const ids = new Set<string>();
  for (const actor of actors) {
    const m = /^(?:migration|rollout):(.+)$/.exec(actor);
    if (m !== null) ids.add(m[1]!);
  }
  return [...ids].sort();
}

/** "no migration X in Y; the store has: a, b" (or "it has none"). */
export async function unknownMigration(store: Store, id: string): Promise<string> {
  const known = await knownMigrations(store);
  return `no migration "${id}" in ${store.location}; ${known.length === 0 ? "it has none" : `it has: ${known.join(", ")} (choose one with --migration)`}`;
}

/**
 * Open the store named by the global options and run `fn` with it.
 * `create: false` (every command that only reads) never makes a store: a
 * missing one is an error that says so.
 */
export async function withStore<T>(program: Command, fn: (store: Store, g: Globals) => Promise<T>, options: { create: boolean }): Promise<T> {
  const g = program.opts<Globals>();
  const store = await openStore(g.store, { create: options.create });
  try {
    return await fn(store, g);
  } finally {
    await store.close();
  }
}

/** The message for an error that ends a command: a molt error with its tag. */
export function describeError(e: unknown): string {
  return isMoltError(e) ? `${e._tag}: ${e.message}` : String((e as Error).message ?? e);
}
