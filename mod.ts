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
  BreakerOpenError,
  CallAbortedError,
  ConfigError,
  type ExitInfo,
  isMoltError,
  type MoltError,
  PoolDrainingError,
  PoolSaturatedError,
  ProtocolError,
  type ProtocolViolation,
  PythonError,
  QueueTimeoutError,
  SessionWorkerLostError,
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
export type { BreakerState } from "./machines/breaker.ts";
export type { PoolState } from "./machines/pool.ts";
export { createPool } from "./src/pool/pool.ts";
export type {
  Affinity,
  BreakerOptions,
  OptimizerOptions,
  PoolOptions,
  RetryOptions,
  Strategy,
} from "./src/pool/options.ts";
export { decideScale, type ScaleDecision, type ScaleInput, type ScaleLimits } from "./src/pool/scaling.ts";
export type {
  DrainReport,
  ExecuteOptions,
  Pool,
  PoolHealth,
  PoolMetrics,
  PoolStats,
  WorkerHealthReport,
  WorkerMetrics,
} from "./src/pool/types.ts";
export type { BreakOn } from "./src/resilience/breaker.ts";
export { type Classification, classifyError, type ErrorCategory, type Severity } from "./src/resilience/classify.ts";
export {
  type CallOutcome,
  EventBus,
  type EventListener,
  type MoltEvent,
  type MoltEventType,
  type RecycleReason,
  type ScaleReason,
} from "./src/telemetry/events.ts";
export { type LatencySummary, MetricsWindow, type WindowTotals } from "./src/telemetry/metrics-window.ts";
export { attachStatsd, type StatsdOptions, type StatsdSink } from "./src/telemetry/statsd-sink.ts";
