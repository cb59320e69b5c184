/**
 * createFlags: molt's feature flags, typed, persisted in the store, read
 * synchronously from memory, and kept in step with every other holder of the
 * same store.
 *
 * Precedence, highest first: a pin in this process's memory (`pin`, for an
 * emergency), an environment variable (`MOLT_FLAG_<NAME>`), a config
 * override (`overrides`), the value stored, the default (`defaults`, else
 * the plan's).
 *
 * @module
 */
import { option, positiveDuration, refuseUnknown, required, type Rule } from "../config.ts";
import { ConfigError, FlagError, StoreRowError } from "../errors.ts";
import { type Store, storeRule } from "../store/store.ts";
import type { ChangeMeta, FlagChange, FlagWatch } from "../store/tables/flags.ts";
import { DEFINITIONS, envName, FLAG_DEFAULTS, FLAG_NAMES, type FlagName, type FlagValues, isFlagName } from "./definitions.ts";

/** Where a flag's value comes from. "pin": held in this process's memory by `pin` (an emergency). */
export type FlagSource = "pin" | "env" | "config" | "store" | "default";

/** A flag's value and why it has it. */
export interface FlagExplanation<N extends FlagName = FlagName> {
  readonly flag: N;
  readonly value: FlagValues[N];
  readonly source: FlagSource;
  /** The value in the store, or undefined if none was stored. */
  readonly stored: FlagValues[N] | undefined;
}

/** A change of a flag's effective value, seen by `subscribe`. */
export interface FlagUpdate {
  readonly flag: FlagName;
  readonly from: unknown;
  readonly to: unknown;
  /** "local": set through this handle; "remote": another holder of the store set it. */
  readonly origin: "local" | "remote";
}

/** Options of createFlags. */
export interface FlagsOptions {
  /** The store the flags live in. Required. */
  readonly store: Store;
  /** Values for flags the store has not stored. Default: `FLAG_DEFAULTS` (V2 off with a share of 0, the kill switches on). */
  readonly defaults?: Partial<FlagValues>;
  /** Values that win over the store (but not over the environment). Default: none. */
  readonly overrides?: Partial<FlagValues>;
  /** Where `MOLT_FLAG_<NAME>` variables are read from. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** SQLite: how often to look for changes by other holders. Default: 1000 ms. (PostgreSQL is pushed.) */
  readonly pollMs?: number;
  /** Told when polling or a reload fails; the last known values stay. Default: nothing. */
  readonly onError?: (error: unknown) => void;
}

/** molt's flags. */
export interface Flags {
  /** A flag's effective value (synchronous, from memory); an unknown name throws a FlagError. */
  get<N extends FlagName>(flag: N): FlagValues[N];
  /** Every flag's effective value. */
  values(): FlagValues;
  /** The V2 share in basis points (0–10000). */
  share(): number;
  /** The V2 share as a percentage (0–100). */
  sharePercent(): number;
  /** A flag's value, where it comes from, and what is stored. */
  explain<N extends FlagName>(flag: N): FlagExplanation<N>;
  /** Validate and store a value; every holder of the store sees it. Rejects with FlagError and changes nothing if invalid. */
  set<N extends FlagName>(flag: N, value: FlagValues[N], meta?: ChangeMeta): Promise<FlagExplanation<N>>;
  /** Set the V2 share as a percentage (0–100, two decimals kept). */
  setSharePercent(percent: number, meta?: ChangeMeta): Promise<FlagExplanation<"pool_v2_share">>;
  /** The recorded changes, oldest first (of one flag with `flag`). */
  history(flag?: FlagName): Promise<FlagChange[]>;
  /**
   * Hold a flag at `value` in this process's memory, above every other
   * source, at once and without a round trip: what an emergency rollback does
   * before it persists the change. `unpin` lets the other sources speak again.
   */
  pin<N extends FlagName>(flag: N, value: FlagValues[N]): void;
  /** Release a pin. Safe to repeat. */
  unpin(flag: FlagName): void;
  /** Hear of every change of an effective value; returns the unsubscribe function. */
  subscribe(listener: (update: FlagUpdate) => void): () => void;
  /** Read the store again now. */
  refresh(): Promise<void>;
  /** Stop watching the store. Safe to repeat. */
  close(): Promise<void>;
}

/** Flags from createFlags(), as an option that takes them. */
export const flagsRule: Rule<Flags> = {
  is: (v): v is Flags => typeof (v as Flags | null)?.get === "function" && typeof (v as Flags).subscribe === "function",
  allowed: "Flags from createFlags()",
};

// PostgreSQL's text columns cannot hold NUL while SQLite's can: refused on both, so the backends agree.
const metaText: Rule<string> = {
  is: (v): v is string => typeof v === "string" && !v.includes("\0"),
  allowed: "a string without NUL characters",
};

/** Refuse a `by` or `reason` that some store cannot hold, before anything is written. */
function checkMeta(flag: string, meta: ChangeMeta): void {
  if (typeof meta !== "object" || meta === null) throw new ConfigError({ owner: `flags: set ${flag}`, option: "meta", received: meta, allowed: "an object { by?, reason? }" });
  option(`flags: set ${flag}`, "by", meta.by, metaText, undefined);
  option(`flags: set ${flag}`, "reason", meta.reason, metaText, undefined);
}

/** Refuse an unknown flag or a value of the wrong type; `where` says where the value came from. */
function check(flag: string, value: unknown, where: string): void {
  if (!isFlagName(flag)) throw new FlagError({ flag, received: value, allowed: `one of the known flags (${FLAG_NAMES.join(", ")})${where}` });
  if (!DEFINITIONS[flag].is(value)) throw new FlagError({ flag, received: value, allowed: `${DEFINITIONS[flag].allowed}${where}` });
}

function partial(values: unknown, source: string): Partial<Record<FlagName, unknown>> {
  if (values === undefined) return {};
  if (values === null || typeof values !== "object") {
    throw new ConfigError({ owner: "flags", option: source, received: values, allowed: "an object of flag values" });
  }
  for (const [flag, value] of Object.entries(values)) check(flag, value, ` (in ${source})`);
  return values as Partial<Record<FlagName, unknown>>;
}

function fromEnv(env: Readonly<Record<string, string | undefined>>): Partial<Record<FlagName, unknown>> {
  const out: Partial<Record<FlagName, unknown>> = {};
  for (const flag of FLAG_NAMES) {
    const text = env[envName(flag)];
    if (text === undefined || text === "") continue;
    const value = DEFINITIONS[flag].parse(text);
    if (value === undefined || !DEFINITIONS[flag].is(value)) {
      throw new FlagError({ flag, received: text, allowed: `${DEFINITIONS[flag].allowed} (in ${envName(flag)})` });
    }
    out[flag] = value;
  }
  return out;
}

/**
 * Load the flags from `store` and keep them current.
 *
 * @example
 * ```ts
 * import { createFlags, openStore } from "molt";
 * const store = await openStore(":memory:");
 * const flags = await createFlags({ store, env: {} });
 * await flags.set("pool_v2_enabled", true, { by: "ops", reason: "canary" });
 * await flags.setSharePercent(5);
 * console.log(flags.get("pool_v2_enabled"), flags.share(), flags.explain("pool_v2_share").source); // true 500 store
 * await flags.close();
 * await store.close();
 * ```
 */
export async function createFlags(options: FlagsOptions): Promise<Flags> {
  refuseUnknown("flags", options, ["store", "defaults", "overrides", "env", "pollMs", "onError"]);
  required("flags", "store", options.store, storeRule);
  const pollMs = option("flags", "pollMs", options.pollMs, positiveDuration, 1000);
  const defaults = { ...FLAG_DEFAULTS, ...partial(options.defaults, "defaults") } as FlagValues;
  const flags = new FlagSet(options.store, defaults, partial(options.overrides, "overrides"), fromEnv(options.env ?? process.env), options.onError ?? (() => {}));
  await flags.refresh();
  await flags.watch(pollMs);
  return flags;
}

class FlagSet implements Flags {
  private stored: Partial<Record<FlagName, unknown>> = {};
  private pins: Partial<Record<FlagName, unknown>> = {};
  private effective: FlagValues;
  private readonly listeners = new Set<(update: FlagUpdate) => void>();
  private watcher: FlagWatch | null = null;
  private writes: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly defaults: FlagValues,
    private readonly overrides: Partial<Record<FlagName, unknown>>,
    private readonly env: Partial<Record<FlagName, unknown>>,
    private readonly onError: (error: unknown) => void,
  ) {
    this.effective = this.compute();
  }

  get<N extends FlagName>(flag: N): FlagValues[N] {
    const value = this.effective[flag];
    // Every flag holds a boolean or a number; anything else came from Object.prototype ("__proto__", "toString"), or from nowhere.
    if (typeof value !== "boolean" && typeof value !== "number") check(flag, undefined, "");
    return value;
  }

  values(): FlagValues {
    return this.effective;
  }

  share(): number {
    return this.effective.pool_v2_share;
  }

  sharePercent(): number {
    return this.effective.pool_v2_share / 100;
  }

  explain<N extends FlagName>(flag: N): FlagExplanation<N> {
    if (!isFlagName(flag)) check(flag, undefined, "");
    return {
      flag,
      value: this.effective[flag],
      source: this.source(flag),
      stored: this.stored[flag] as FlagValues[N] | undefined,
    };
  }

  set<N extends FlagName>(flag: N, value: FlagValues[N], meta: ChangeMeta = {}): Promise<FlagExplanation<N>> {
    try {
      check(flag, value, "");
      checkMeta(flag, meta);
    } catch (e) {
      return Promise.reject(e);
    }
    // Writes from one handle are applied in the order they were made.
    const write = this.writes.then(async () => {
      await this.store.flags.set(flag, value, meta);
      this.apply({ ...this.stored, [flag]: value }, "local");
      return this.explain(flag);
    });
    this.writes = write.catch(() => {});
    return write;
  }

  setSharePercent(percent: number, meta: ChangeMeta = {}): Promise<FlagExplanation<"pool_v2_share">> {
    if (typeof percent !== "number" || !(percent >= 0 && percent <= 100)) {
      return Promise.reject(new FlagError({ flag: "pool_v2_share", received: percent, allowed: "a percentage from 0 to 100" }));
    }
    return this.set("pool_v2_share", Math.round(percent * 100), meta);
  }

  pin<N extends FlagName>(flag: N, value: FlagValues[N]): void {
    check(flag, value, " (in pin)");
    this.pins = { ...this.pins, [flag]: value };
    this.apply(this.stored, "local");
  }

  unpin(flag: FlagName): void {
    if (!(flag in this.pins)) return;
    const { [flag]: _, ...rest } = this.pins;
    this.pins = rest;
    this.apply(this.stored, "local");
  }

  history(flag?: FlagName): Promise<FlagChange[]> {
    return this.store.flags.changes(flag === undefined ? {} : { key: flag });
  }

  subscribe(listener: (update: FlagUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async refresh(): Promise<void> {
    const stored: Partial<Record<FlagName, unknown>> = {};
    for (const record of await this.store.flags.list()) {
      if (!isFlagName(record.key)) continue;
      if (!DEFINITIONS[record.key].is(record.value)) {
        throw new StoreRowError({ table: "flags", row: `key=${record.key}`, direction: "read", issue: `expected ${DEFINITIONS[record.key].allowed}, got ${JSON.stringify(record.value)}` });
      }
      stored[record.key] = record.value;
    }
    this.apply(stored, "remote");
  }

  async watch(pollMs: number): Promise<void> {
    this.watcher = await this.store.flags.watch(() => {
      if (!this.closed) this.refresh().catch(this.onError);
    }, { pollMs, onError: this.onError });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.watcher?.close();
  }

  private source(flag: FlagName): FlagSource {
    if (flag in this.pins) return "pin";
    if (flag in this.env) return "env";
    if (flag in this.overrides) return "config";
    if (flag in this.stored) return "store";
    return "default";
  }

  private compute(): FlagValues {
    return { ...this.defaults, ...this.stored, ...this.overrides, ...this.env, ...this.pins } as FlagValues;
  }

  private apply(stored: Partial<Record<FlagName, unknown>>, origin: FlagUpdate["origin"]): void {
    const before = this.effective;
    this.stored = stored;
    this.effective = this.compute();
    for (const flag of FLAG_NAMES) {
      if (before[flag] === this.effective[flag]) continue;
      for (const listener of this.listeners) listener({ flag, from: before[flag], to: this.effective[flag], origin });
    }
  }
}
