/**
 * A pool's resolved options as plain JSON, for backups and archives: what
 * the pool was really started with, defaults included.
 *
 * @module
 */
import { resolveWorkerOptions } from "../worker/options.ts";
import type { ResolvedPoolOptions } from "./options.ts";
import type { ResolvedPoolConfiguration } from "./types.ts";

/** @internal The JSON form of resolved pool options (see {@link ResolvedPoolConfiguration}). */
export function configurationOf(o: ResolvedPoolOptions): ResolvedPoolConfiguration {
  const { events, store, flags, worker, breaker, ...plain } = o;
  const { id: _id, onStderr: _onStderr, env, ...resolvedWorker } = resolveWorkerOptions({ ...worker, id: `${o.name}-0` });
  const { initialState: _initialState, ...breakerSettings } = breaker ?? {};
  return JSON.parse(JSON.stringify({
    ...plain,
    breaker: breaker === null ? false : breakerSettings,
    events: events !== undefined,
    store: store !== undefined,
    flags: flags !== undefined,
    worker: { ...resolvedWorker, env: Object.fromEntries(Object.keys(env).sort().map((k) => [k, "(set)"])) },
  }));
}
