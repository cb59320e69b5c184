/**
 * The flags molt knows: their types, defaults (the plan's), and how each is
 * written in an environment variable.
 *
 * @module
 */
import { Schema } from "effect";
import { BUCKETS } from "./bucket.ts";

/** Every flag and the type of its value. */
export interface FlagValues {
  /** Route any traffic to V2 at all. */
  readonly pool_v2_enabled: boolean;
  /** Use the enhanced worker features. */
  readonly enhanced_workers: boolean;
  /** Turn the circuit breaker on. */
  readonly circuit_breaker: boolean;
  /** Send the V2 telemetry. */
  readonly telemetry_v2: boolean;
  /** Let the pool optimizer resize pools. */
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
  enhanced_workers: bool,
  circuit_breaker: bool,
  telemetry_v2: bool,
  pool_optimizer: bool,
  pool_v2_share: basisPoints,
};

/**
 * The plan's defaults: everything off, a V2 share of 0.
 *
 * @example
 * ```ts
 * import { FLAG_DEFAULTS } from "molt";
 * console.log(FLAG_DEFAULTS.pool_v2_enabled, FLAG_DEFAULTS.pool_v2_share); // false 0
 * ```
 */
export const FLAG_DEFAULTS: FlagValues = {
  pool_v2_enabled: false,
  enhanced_workers: false,
  circuit_breaker: false,
  telemetry_v2: false,
  pool_optimizer: false,
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
