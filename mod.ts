/**
 * molt: pools of Python worker processes for Bun and Deno, and canary
 * migration from one pool to another.
 *
 * @example
 * ```ts
 * import { spawnWorker } from "molt";
 * const worker = await spawnWorker({ handler: "./test/fixtures/echo_handler.py", heartbeatMs: 0 });
 * console.log(await worker.call("echo", "hi")); // hi
 * await worker.stop();
 * ```
 *
 * @module
 */
export {
  CallAbortedError,
  ConfigError,
  type ExitInfo,
  isMoltError,
  type MoltError,
  ProtocolError,
  type ProtocolViolation,
  PythonError,
  WorkerExitedError,
  WorkerStartError,
  WorkerTimeoutError,
  WorkerUnavailableError,
} from "./src/errors.ts";
export { DEFAULT_MAX_FRAME_BYTES, Deframer, encodeFrame } from "./src/protocol/frame.ts";
export {
  ErrorResponse,
  Hello,
  OkResponse,
  parseHello,
  parseResponse,
  PROTOCOL_VERSION,
  Request,
  Response,
  WireError,
} from "./src/protocol/messages.ts";
export type { WorkerOptions } from "./src/worker/options.ts";
export type { CallOptions, Worker, WorkerHealth, WorkerStats } from "./src/worker/python-worker.ts";
export { acquireWorker, spawnWorker } from "./src/worker/spawn-worker.ts";
export type { WorkerState } from "./machines/worker.ts";
