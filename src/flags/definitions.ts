/**
 * The flags molt knows: their types, defaults (the plan's), and how each is
 * written in an environment variable.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { BUCKETS } from "./bucket.ts";

/** Every flag and the type of its value. */
export interface FlagValues {
  /** Route any traffic to V2 at all. */
  readonly pool_v2_enabled: boolean;
  /**
   * The circuit breakers of every pool created with these flags guard its
   * calls; off, calls bypass them (a kill switch for a breaker that refuses
   * good traffic). Read live.
   */
  readonly circuit_breaker: boolean;
  /** Pools created with these flags whose optimizer is enabled may resize; off, none does. Read live. */
  readonly pool_optimizer: boolean;
  /** The V2 share in basis points, 0–10000 (2500 = 25%). */
  readonly pool_v2_share: number;
}

/** A flag's name. */
export type FlagName = keyof FlagValues;

interface Definition {
  readonly is: (value: unknown) => boolean;
  readonly allowed: string;
  /** Parse an environment variable's text; undefined if it does not parse. */
  readonly parse: (text: string) => unknown;
}

const BOOLEAN_TEXT: Readonly<Record<string, boolean>> = { true: true, false: false, "1": true, "0": false, on: true, off: false, yes: true, no: false };

const bool: Definition = {
  is: Schema.is(Schema.Boolean),
  allowed: "a boolean",
  parse: (text) => BOOLEAN_TEXT[text.trim().toLowerCase()],
};

const basisPoints: Definition = {
  is: Schema.is(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: BUCKETS }))),
  allowed: `an integer from 0 to ${BUCKETS} (basis points)`,
  // "2500" is basis points; "25%" is a percentage.
  parse: (text) => {
    const t = text.trim();
    if (/^\d+(\.\d+)?%$/.test(t)) return Math.round(Number(t.slice(0, -1)) * 100);
    return /^\d+$/.test(t) ? Number(t) : undefined;
  },
};

/** Each flag's rule. */
export const DEFINITIONS: Readonly<Record<FlagName, Definition>> = {
  pool_v2_enabled: bool,
  circuit_breaker: bool,
  pool_optimizer: bool,
  pool_v2_share: basisPoints,
};

/**
 * The defaults: V2 off with a share of 0, as the plan has it; the two kill
 * switches on, so that flags change nothing about a pool until an operator
 * turns one off.
 *
 * @example
 * ```ts
 * import { FLAG_DEFAULTS } from "molt";
 * console.log(FLAG_DEFAULTS.pool_v2_enabled, FLAG_DEFAULTS.pool_v2_share); // false 0
 * ```
 */
export const FLAG_DEFAULTS: FlagValues = {
  pool_v2_enabled: false,
  circuit_breaker: true,
  pool_optimizer: true,
  pool_v2_share: 0,
};

/**
 * Every flag name, in a stable order.
 *
 * @example
 * ```ts
 * import { FLAG_NAMES } from "molt";
 * console.log(FLAG_NAMES[0]); // pool_v2_enabled
 * ```
 */
export const FLAG_NAMES: readonly FlagName[] = Object.keys(FLAG_DEFAULTS) as FlagName[];

/**
 * The environment variable that overrides a flag.
 *
 * @example
 * ```ts
 * import { envName } from "molt";
 * console.log(envName("pool_v2_share")); // MOLT_FLAG_POOL_V2_SHARE
 * ```
 */
export const envName = (flag: FlagName): string => `MOLT_FLAG_${flag.toUpperCase()}`;

/** True when `name` is a flag molt knows. */
export const isFlagName = (name: unknown): name is FlagName => typeof name === "string" && Object.hasOwn(DEFINITIONS, name);
