/**
 * The options of `startDashboard` (and `molt dashboard`), each checked
 * before anything listens, so that a bad one fails with a ConfigError that
 * names the option, the value received and what is allowed.
 *
 * @module
 */
import { idRule, option, positiveDuration, refuseUnknown, required, type Rule } from "../config.ts";
import { type Store, storeRule } from "../store/store.ts";

/** Options of startDashboard. */
export interface DashboardOptions {
  /** The store the migration writes to. */
  readonly store: Store;
  /** The migration (and rollout) to show. */
  readonly migrationId: string;
  /** Where to listen. Default "127.0.0.1": only this machine can reach the page. */
  readonly host?: string;
  /** The TCP port; 0 takes a free one (read it from the returned `url`). Default 4280. */
  readonly port?: number;
  /**
   * The secret an operator gives to act (pause, resume, promote, abort,
   * emergency rollback). Without it the dashboard is read-only and refuses
   * every action.
   */
  readonly token?: string;
  /** How often the store is read for changes while a page is open. Default 250. */
  readonly pollMs?: number;
}

/** The options as used: defaults filled, every value checked. */
export interface ResolvedDashboardOptions {
  readonly store: Store;
  readonly migrationId: string;
  readonly host: string;
  readonly port: number;
  readonly token: string | null;
  readonly pollMs: number;
}

/**
 * The default port: 4280, free of the usual development servers (3000, 5173, 8080).
 *
 * @example
 * ```ts
 * import { DEFAULT_DASHBOARD_PORT } from "molt";
 * console.log(`http://127.0.0.1:${DEFAULT_DASHBOARD_PORT}/`); // http://127.0.0.1:4280/
 * ```
 */
export const DEFAULT_DASHBOARD_PORT: number = 4280;

const port: Rule<number> = {
  is: (v): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535,
  allowed: "an integer from 0 to 65535 (0 takes a free port)",
};

// An IPv4 or IPv6 address, or a host name: what node:http's listen() accepts, without a scheme, port or path.
const host: Rule<string> = {
  is: (v): v is string =>
    typeof v === "string" && (/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(v) || /^[0-9A-Fa-f:.]{2,45}$/.test(v) && v.includes(":")),
  allowed: "an IP address or a host name, without scheme or port (e.g. 127.0.0.1, ::1, 0.0.0.0)",
};

// Long enough that guessing it over HTTP is hopeless, and only characters that travel in a header unchanged.
const token: Rule<string> = {
  is: (v): v is string => typeof v === "string" && /^[\x21-\x7e]{16,256}$/.test(v),
  allowed: "16 to 256 visible ASCII characters (no spaces), e.g. from `openssl rand -hex 24`",
};

/** Where and how the dashboard listens: the options that need no store, checked before one is opened. */
export interface ListenOptions {
  readonly host?: string;
  readonly port?: number;
  readonly token?: string;
  readonly pollMs?: number;
}

/**
 * Check the options that need no store (host, port, token, pollMs) and fill
 * in their defaults: what `molt dashboard` checks before it opens a store.
 *
 * @example
 * ```ts
 * import { resolveListenOptions } from "./options.ts";
 * console.log(resolveListenOptions({}).port); // 4280
 * try {
 *   resolveListenOptions({ port: 70000 });
 * } catch (e) {
 *   console.log((e as Error).message); // dashboard: port must be an integer from 0 to 65535 (0 takes a free port), received 70000
 * }
 * ```
 */
export function resolveListenOptions(options: ListenOptions): Omit<ResolvedDashboardOptions, "store" | "migrationId"> {
  const owner = "dashboard";
  return {
    host: option(owner, "host", options.host, host, "127.0.0.1"),
    port: option(owner, "port", options.port, port, DEFAULT_DASHBOARD_PORT),
    token: option(owner, "token", options.token, token, null),
    pollMs: option(owner, "pollMs", options.pollMs, positiveDuration, 250),
  };
}

/**
 * Check startDashboard's options and fill in the defaults.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * import { resolveDashboardOptions } from "./options.ts";
 * const store = await openStore(":memory:");
 * const o = resolveDashboardOptions({ store, migrationId: "demo" });
 * console.log(o.host, o.port, o.token); // 127.0.0.1 4280 null
 * await store.close();
 * ```
 */
export function resolveDashboardOptions(options: DashboardOptions): ResolvedDashboardOptions {
  const owner = "dashboard";
  refuseUnknown(owner, options, ["store", "migrationId", "host", "port", "token", "pollMs"]);
  return {
    store: required(owner, "store", options.store, storeRule),
    migrationId: required(owner, "migrationId", options.migrationId, idRule),
    ...resolveListenOptions(options),
  };
}
