/**
 * The options of one worker, their defaults and their validation.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import {
  boolean,
  nonEmptyString,
  nonNegativeDuration,
  option,
  positiveDuration,
  positiveInt,
  refuseUnknown,
  type Rule,
  stringRecord,
} from "../config.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/frame.ts";

/** Options of {@link spawnWorker}. Only `handler` is required. */
export interface WorkerOptions {
  /** A `.py` file or an importable module that registers commands. Required. */
  readonly handler: string;
  /** Name used in errors and logs. Default `worker-<n>`. */
  readonly id?: string;
  /** Interpreter command or path. Default `"python3"`, resolved once to `sys.executable`. */
  readonly python?: string;
  /** Handler threads in the worker for synchronous commands; above 1, answers come out of order. Default 1. */
  readonly threads?: number;
  /** How many `async def` calls the worker runs at once on its event loop; the rest wait their turn. Default 64. */
  readonly concurrency?: number;
  /** How long a cancelled call (aborted, or past its deadline) may keep running in Python before the worker is marked for recycling. Default 2000 ms. */
  readonly cancelGraceMs?: number;
  /** Extra environment variables, over the host's own. Default `{}`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory of the process. Default: the host's. */
  readonly cwd?: string;
  /** Time allowed to start: resolving the interpreter, spawning, and the hello frame. Default 10000 ms. */
  readonly startTimeoutMs?: number;
  /** Deadline of a call that sets no `timeoutMs`. Default 30000 ms. */
  readonly callTimeoutMs?: number;
  /** Interval between heartbeat pings; 0 turns the heartbeat off. Default 5000 ms. */
  readonly heartbeatMs?: number;
  /** How long a heartbeat ping may take. Default: `heartbeatMs`. */
  readonly heartbeatTimeoutMs?: number;
  /** Consecutive missed heartbeats that make the worker degraded. Default 2. */
  readonly unhealthyAfterMisses?: number;
  /** Whether a call past its deadline marks the worker for recycling. Default true. */
  readonly recycleOnOverrun?: boolean;
  /** How long `stop()` waits for calls in flight before shutting down. Default 5000 ms. */
  readonly drainTimeoutMs?: number;
  /** How long `stop()` waits after `shutdown` before SIGTERM. Default 2000 ms. */
  readonly shutdownGraceMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. Default 2000 ms. */
  readonly killGraceMs?: number;
  /** Largest frame sent or accepted, both sides: 64 bytes to 512 MiB. Default 64 MiB. */
  readonly maxFrameBytes?: number;
  /**
   * Under Bun on Linux, the size of each of two rings of memory shared with
   * the process, one each way: bytes of at least 64 KiB in args and results
   * that fit go through them instead of the pipes (args take the pipes when
   * the host's ring is full; results wait for room in the worker's) (a
   * 1 MiB echo in 0.9-1.1 ms against 1.6-1.7 ms through the pipes). The
   * process makes them (a memfd: nothing in /dev/shm or any directory);
   * their pages take memory only once bytes have reached them, up to twice
   * this size per worker. 0 turns them off; elsewhere (Deno, Node, other
   * systems) they are never used. 64 KiB to 1 GiB, or 0. Default 4 MiB.
   */
  readonly sharedMemoryBytes?: number;
  /** Lines of stderr kept for error messages. Default 20. */
  readonly stderrTailLines?: number;
  /** Receives each stderr line. Default: `console.error` prefixed with the worker id. */
  readonly onStderr?: (line: string) => void;
}

/** Options after defaults, as the worker uses them. */
export interface ResolvedWorkerOptions {
  readonly handler: string;
  readonly id: string;
  readonly python: string;
  readonly threads: number;
  readonly concurrency: number;
  readonly cancelGraceMs: number;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly startTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly unhealthyAfterMisses: number;
  readonly recycleOnOverrun: boolean;
  readonly drainTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly killGraceMs: number;
  readonly maxFrameBytes: number;
  readonly sharedMemoryBytes: number;
  readonly stderrTailLines: number;
  readonly onStderr: (line: string) => void;
}

const KNOWN = [
  "handler", "id", "python", "threads", "concurrency", "cancelGraceMs", "env", "cwd", "startTimeoutMs", "callTimeoutMs", "heartbeatMs",
  "heartbeatTimeoutMs", "unhealthyAfterMisses", "recycleOnOverrun", "drainTimeoutMs", "shutdownGraceMs",
  "killGraceMs", "maxFrameBytes", "sharedMemoryBytes", "stderrTailLines", "onStderr",
] as const;

/**
 * The largest `maxFrameBytes`: 512 MiB. The frame header is a 32-bit length
 * (up to 4 GiB) and the Python side takes any size from 64 up, but a frame
 * is one JSON text decoded into one string, and V8 (Deno) holds no string
 * much longer than 2^29 characters.
 */
const MAX_FRAME_BYTES_LIMIT = 2 ** 29;

const frameBytes: Rule<number> = {
  is: (v): v is number => positiveInt.is(v) && v >= 64 && v <= MAX_FRAME_BYTES_LIMIT,
  allowed: `an integer from 64 to ${MAX_FRAME_BYTES_LIMIT} (512 MiB)`,
};
const RING_MAX_BYTES = 1024 * 1024 * 1024;
const ringBytes: Rule<number> = {
  is: (v): v is number => v === 0 || (positiveInt.is(v) && v >= 64 * 1024 && v <= RING_MAX_BYTES),
  allowed: `0, or an integer from 65536 (64 KiB) to ${RING_MAX_BYTES} (1 GiB)`,
};
const lineSink: Rule<(line: string) => void> = {
  is: (v): v is (line: string) => void => typeof v === "function",
  allowed: "a function (line: string) => void",
};

let counter = 0;

/** Apply defaults and validate; throws a ConfigError naming the first bad option. */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError({ owner: "worker", option: "options", received: options, allowed: "an object with at least { handler }" });
  }
  const id = option("worker", "id", options.id, nonEmptyString, `worker-${++counter}`);
  const owner = `worker "${id}"`;
  refuseUnknown(owner, options, KNOWN);
  const get = <A, F = A>(name: (typeof KNOWN)[number], rule: Rule<A>, fallback: F): A | F =>
    option(owner, name, (options as unknown as Record<string, unknown>)[name], rule, fallback);
  if (options.handler === undefined) {
    throw new ConfigError({ owner, option: "handler", received: undefined, allowed: "a .py file path or a module name" });
  }
  const heartbeatMs = get("heartbeatMs", nonNegativeDuration, 5000);
  return {
    id,
    handler: get("handler", nonEmptyString, ""),
    python: get("python", nonEmptyString, "python3"),
    threads: get("threads", positiveInt, 1),
    concurrency: get("concurrency", positiveInt, 64),
    cancelGraceMs: get("cancelGraceMs", nonNegativeDuration, 2000),
    env: get("env", stringRecord, {}),
    cwd: get("cwd", nonEmptyString, undefined),
    startTimeoutMs: get("startTimeoutMs", positiveDuration, 10_000),
    callTimeoutMs: get("callTimeoutMs", positiveDuration, 30_000),
    heartbeatMs,
    heartbeatTimeoutMs: get("heartbeatTimeoutMs", positiveDuration, Math.max(heartbeatMs, 1)),
    unhealthyAfterMisses: get("unhealthyAfterMisses", positiveInt, 2),
    recycleOnOverrun: get("recycleOnOverrun", boolean, true),
    drainTimeoutMs: get("drainTimeoutMs", nonNegativeDuration, 5000),
    shutdownGraceMs: get("shutdownGraceMs", nonNegativeDuration, 2000),
    killGraceMs: get("killGraceMs", nonNegativeDuration, 2000),
    maxFrameBytes: get("maxFrameBytes", frameBytes, DEFAULT_MAX_FRAME_BYTES),
    sharedMemoryBytes: get("sharedMemoryBytes", ringBytes, 4 * 1024 * 1024),
    stderrTailLines: get("stderrTailLines", positiveInt, 20),
    onStderr: get("onStderr", lineSink, (line: string) => console.error(`[molt ${id}] ${line}`)),
  };
}
