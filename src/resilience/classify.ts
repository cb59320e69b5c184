/**
 * Error classification: every failure of a call lands in one of the plan's
 * categories, with a severity, and with the two facts the resilience layer
 * acts on — whether it says something about the infrastructure (breaker,
 * consecutive-failure count) and whether the request can have reached Python
 * (what makes a retry safe).
 *
 * @module
 */

/** The plan's error categories. */
export type ErrorCategory =
  | "initialization"
  | "connection"
  | "communication"
  | "timeout"
  | "resource"
  | "health_check"
  | "session"
  | "python"
  | "system";

/** How bad one occurrence is. */
export type Severity = "low" | "medium" | "high" | "critical";

/** What the resilience layer needs to know about an error. */
export interface Classification {
  readonly category: ErrorCategory;
  readonly severity: Severity;
  /** A failure of the process or the pipe (crash, hang, broken stream), not of the handler. */
  readonly infrastructure: boolean;
  /** False only when the request provably never reached Python. */
  readonly mayHaveRun: boolean;
}

const c = (category: ErrorCategory, severity: Severity, infrastructure: boolean, mayHaveRun: boolean): Classification => ({
  category,
  severity,
  infrastructure,
  mayHaveRun,
});

const BY_TAG: Readonly<Record<string, Classification>> = {
  WorkerStartError: c("initialization", "high", true, false),
  WorkerUnavailableError: c("connection", "medium", false, false),
  WorkerExitedError: c("connection", "high", true, true),
  ProtocolError: c("communication", "high", true, true),
  WorkerTimeoutError: c("timeout", "medium", true, true),
  QueueTimeoutError: c("timeout", "medium", false, false),
  PoolSaturatedError: c("resource", "medium", false, false),
  SessionWorkerLostError: c("session", "medium", false, false),
  PythonError: c("python", "low", false, true),
  BreakerOpenError: c("system", "medium", false, false),
  PoolDrainingError: c("system", "low", false, false),
  CallAbortedError: c("system", "low", false, true),
  ConfigError: c("system", "high", false, false),
  StoreError: c("system", "high", false, false),
  StoreRowError: c("system", "high", false, false),
  MachineVersionError: c("system", "high", false, false),
  FlagError: c("system", "medium", false, false),
  ProgramError: c("system", "medium", false, false),
  RolloutError: c("system", "low", false, false),
  MigrationError: c("system", "low", false, false),
};

const UNKNOWN = c("system", "critical", false, true);
const PYTHON_RESOURCE = c("resource", "high", false, true);
const EXITED_UNWRITTEN = c("connection", "high", true, false);
const ABORTED_UNWRITTEN = c("system", "low", false, false);
const DRAINED_IN_FLIGHT = c("system", "low", false, true);

/**
 * Classify any error a pool call can end with.
 *
 * @example
 * ```ts
 * import { classifyError, WorkerExitedError } from "molt";
 * const crash = new WorkerExitedError({ workerId: "w1", pid: 7, requestId: 1, command: "x", exitCode: null, signal: "SIGKILL", stderrTail: [], written: true });
 * console.log(classifyError(crash)); // { category: "connection", severity: "high", infrastructure: true, mayHaveRun: true }
 * ```
 */
export function classifyError(error: unknown): Classification {
  const tag = (error as { _tag?: unknown } | null)?._tag;
  if (typeof tag !== "string") return UNKNOWN;
  if (tag === "PythonError" && (error as { type: string }).type === "MemoryError") return PYTHON_RESOURCE;
  if (tag === "WorkerExitedError" && (error as { written: boolean }).written === false) return EXITED_UNWRITTEN;
  if (tag === "CallAbortedError" && (error as { written: boolean }).written === false) return ABORTED_UNWRITTEN;
  if (tag === "PoolDrainingError" && (error as { inFlight: boolean }).inFlight === true) return DRAINED_IN_FLIGHT;
  return BY_TAG[tag] ?? UNKNOWN;
}
