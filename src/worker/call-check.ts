/**
 * The checks of one call before anything is queued or written: its
 * command, its per-call options and its args. `worker.call` and
 * `pool.execute` both use them, and send the args they answer with.
 *
 * @module
 */
import { positiveMs } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { BinaryArgs } from "../protocol/attachments.ts";
import { argsProblem, HOLDS_BYTES } from "../protocol/json-args.ts";

/** Where a call is made: it names the call in a ConfigError. */
export type CallSite = "worker" | "pool";

/** The built-in command that ends a worker: only its stop sequence may send it. */
const RESERVED = "shutdown";

/**
 * Why this call cannot be made, as a ConfigError naming the option (or the
 * path in args); else the args to send: a `BinaryArgs` wrapping them when
 * they hold bytes (sent with attachments), or null when they are plain
 * JSON (sent as they are). Nothing is built for a plain call: this runs on
 * every call.
 *
 * @example
 * ```ts
 * import { checkCall } from "./call-check.ts";
 * console.log((checkCall("pool", "v2", "echo", { n: NaN }, {}) as Error).message); // pool "v2" execute: args.n must be a finite number, received NaN
 * console.log(checkCall("pool", "v2", "echo", { n: 1 }, {})); // null
 * ```
 */
export function checkCall(site: CallSite, name: string, command: unknown, args: unknown, options: unknown): ConfigError | BinaryArgs | null {
  if (typeof command !== "string" || command.length === 0) return refusal(site, name, command, "command", command, "a non-empty string");
  if (command === RESERVED) return refusal(site, name, command, "command", command, `a command other than "${RESERVED}" (it is reserved: use stop())`);
  if (options !== undefined) {
    if (typeof options !== "object" || options === null) return refusal(site, name, command, "options", options, "an object");
    const { timeoutMs, sessionId, signal } = options as { timeoutMs?: unknown; sessionId?: unknown; signal?: unknown };
    if (timeoutMs !== undefined && !positiveMs.is(timeoutMs)) return refusal(site, name, command, "timeoutMs", timeoutMs, positiveMs.allowed);
    if (sessionId !== undefined && typeof sessionId !== "string") return refusal(site, name, command, "sessionId", sessionId, "a string");
    if (signal !== undefined && !(signal instanceof AbortSignal)) return refusal(site, name, command, "signal", signal, "an AbortSignal");
  }
  let problem: ReturnType<typeof argsProblem>;
  try {
    problem = argsProblem(args);
  } catch (e) {
    // A getter or toJSON of the caller's that throws: JSON.stringify would throw it too, later and untyped.
    return refusal(site, name, command, "args", args, `readable as JSON (reading it threw ${(e as Error)?.name ?? "an error"}: ${(e as Error)?.message ?? String(e)})`);
  }
  if (problem === null) return null;
  return problem === HOLDS_BYTES ? new BinaryArgs(args) : refusal(site, name, command, problem.path, problem.received, problem.allowed);
}

function refusal(site: CallSite, name: string, command: unknown, option: string, received: unknown, allowed: string): ConfigError {
  const owner = site === "pool" ? `pool "${name}" execute` : `worker "${name}" call "${String(command)}"`;
  return new ConfigError({ owner, option, received, allowed });
}
