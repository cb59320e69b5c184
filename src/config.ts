/**
 * Option validation: each rule is a Schema plus the words that say what it
 * allows, so a bad option fails with a message naming the option, the value
 * received and what is allowed.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { ConfigError } from "./errors.ts";

/** A Schema guard and the phrase that describes what it accepts. */
export interface Rule<A> {
  readonly is: (value: unknown) => value is A;
  readonly allowed: string;
}

function rule<S extends Schema.Top>(schema: S, allowed: string): Rule<S["Type"]> {
  return { is: Schema.is(schema) as (value: unknown) => value is S["Type"], allowed };
}

export const positiveInt: Rule<number> = rule(Schema.Int.check(Schema.isGreaterThan(0)), "a positive integer");
export const nonNegativeInt: Rule<number> = rule(
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  "a non-negative integer",
);
/** A time as epoch milliseconds. */
export const epochMs: Rule<number> = rule(
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  "a non-negative integer (epoch ms)",
);
/**
 * The longest duration molt accepts, in milliseconds (about 24.8 days):
 * setTimeout fires at once for any delay above 2^31 - 1, so a longer one
 * would not wait at all.
 */
export const MAX_DURATION_MS = 2_147_483_647;

/**
 * The rule of every duration option: a number of milliseconds from 0 (or
 * above 0 with `positive`) to {@link MAX_DURATION_MS}, whole with `integer`.
 *
 * @example
 * ```ts
 * import { durationMs } from "./config.ts";
 * const timeout = durationMs({ positive: true, integer: true });
 * console.log(timeout.is(2 ** 31), timeout.allowed.startsWith("a positive integer of milliseconds, at most 2147483647")); // false true
 * ```
 */
export function durationMs(kind: { readonly positive: boolean; readonly integer: boolean }): Rule<number> {
  const { positive, integer } = kind;
  return {
    is: (v): v is number =>
      typeof v === "number" && (positive ? v > 0 : v >= 0) && v <= MAX_DURATION_MS && (!integer || Number.isInteger(v)),
    allowed: `a ${positive ? "positive" : "non-negative"} ${integer ? "integer" : "number"} of milliseconds, at most ${MAX_DURATION_MS} (the longest a timer can wait, about 24.8 days)`,
  };
}

/** A duration of at least 1 ms, in whole milliseconds. */
export const positiveDuration: Rule<number> = durationMs({ positive: true, integer: true });
/** A duration of at least 0 ms (0 usually turns something off), in whole milliseconds. */
export const nonNegativeDuration: Rule<number> = durationMs({ positive: false, integer: true });
/** A duration above 0 ms, fractions allowed: a call's deadline, which a pool derives from time left. */
export const positiveMs: Rule<number> = durationMs({ positive: true, integer: false });

export const boolean: Rule<boolean> = rule(Schema.Boolean, "a boolean");
export const nonEmptyString: Rule<string> = rule(Schema.NonEmptyString, "a non-empty string");
export const stringRecord: Rule<Readonly<Record<string, string>>> = rule(
  Schema.Record(Schema.String, Schema.String),
  "an object of string values",
);

/** `value` if it is present and valid, `fallback` if it is undefined, else a ConfigError. */
export function option<A, F = A>(owner: string, name: string, value: unknown, check: Rule<A>, fallback: F): A | F {
  if (value === undefined) return fallback;
  if (check.is(value)) return value;
  throw new ConfigError({ owner, option: name, received: value, allowed: check.allowed });
}

/** `value` if it is valid; a ConfigError otherwise, missing included. */
export function required<A>(owner: string, name: string, value: unknown, check: Rule<A>): A {
  if (check.is(value)) return value;
  throw new ConfigError({ owner, option: name, received: value, allowed: check.allowed });
}

/** A thrower of ConfigErrors for one owner, for checks a Rule does not fit; `prefix` goes before each option's name. */
export function refuser(owner: string, prefix = ""): (option: string, received: unknown, allowed: string) => never {
  return (option, received, allowed) => {
    throw new ConfigError({ owner, option: `${prefix}${option}`, received, allowed });
  };
}

/** Refuse keys that no rule knows, so a typo does not pass silently. */
export function refuseUnknown(owner: string, given: object, known: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) {
      throw new ConfigError({ owner, option: key, received: (given as Record<string, unknown>)[key], allowed: `one of the known options (${known.join(", ")})` });
    }
  }
}

/** A clock option: a function returning the time as epoch milliseconds. */
export const clockRule: Rule<() => number> = {
  is: (v): v is () => number => typeof v === "function",
  allowed: "a function returning epoch milliseconds",
};

/** An id that names a rollout or a migration in the store and on the command line. */
export const idRule: Rule<string> = {
  is: (v): v is string => typeof v === "string" && /^[\w.:-]{1,64}$/.test(v),
  allowed: "1–64 letters, digits, '_', '.', ':' or '-'",
};
