/**
 * Imported first by mod.ts: an unsupported runtime fails here, before
 * anything else of molt loads.
 *
 * @module
 */
import { checkRuntime, currentRuntime } from "./runtime.ts";

checkRuntime(currentRuntime());
