/**
 * molt's version, as package.json says (a test keeps them equal): what a
 * fleet node registers, so an operator sees which version each node runs.
 *
 * @example
 * ```ts
 * import { MOLT_VERSION } from "molt";
 * console.log(/^\d+\.\d+\.\d+/.test(MOLT_VERSION)); // true
 * ```
 */
export const MOLT_VERSION = "0.1.0";
