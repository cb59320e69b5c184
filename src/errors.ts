/**
 * Every error molt raises: tagged classes with structured fields.
 *
 * Match on `_tag` (or use {@link isMoltError}); every field is plain data, so
 * an error can be logged as JSON.
 *
 * @module
 */
import * as Data from "effect/Data";
import type * as Cause from "effect/Cause";

/**
 * The class every molt error extends, written out so that the published
 * types do not depend on inferring `Data.TaggedError`'s return (JSR asks
 * for explicit types on public classes).
 */
type TaggedErrorClass<Tag extends string, Fields extends object> = new (
  fields: Fields,
) => Cause.YieldableError & { readonly _tag: Tag } & Readonly<Fields>;

/** How a process ended: its exit code, or the signal that killed it. */
export interface ExitInfo {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

function describeExit(info: ExitInfo): string {
  if (info.signal !== null) return `killed by ${info.signal}`;
  if (info.exitCode !== null) return `exit code ${info.exitCode}`;
  return "exit status unknown";
}

function withStderr(text: string, stderrTail: readonly string[]): string {
  return stderrTail.length === 0 ? text : `${text}\n--- last lines of stderr ---\n${stderrTail.join("\n")}`;
}

interface UnsupportedRuntimeFields {
  readonly runtime: string;
  readonly version: string;
  readonly needed: string;
}
const UnsupportedRuntimeBase: TaggedErrorClass<"UnsupportedRuntimeError", UnsupportedRuntimeFields> = Data.TaggedError("UnsupportedRuntimeError")<UnsupportedRuntimeFields>;

/**
 * molt was imported by a runtime it does not support: which runtime, its
 * version, and what molt needs.
 *
 * @example
 * ```ts
 * import { UnsupportedRuntimeError } from "molt";
 * const e = new UnsupportedRuntimeError({ runtime: "Node.js", version: "20.19.0", needed: "Node.js 22.13 or later" });
 * console.log(e.message); // molt does not run on Node.js 20.19.0: it needs Node.js 22.13 or later
 * ```
 */
export class UnsupportedRuntimeError extends UnsupportedRuntimeBase {
  override get message(): string {
    return `molt does not run on ${this.runtime} ${this.version}: it needs ${this.needed}`;
  }
}

interface ConfigFields {
  readonly owner: string;
  readonly option: string;
  readonly received: unknown;
  readonly allowed: string;
}
const ConfigBase: TaggedErrorClass<"ConfigError", ConfigFields> = Data.TaggedError("ConfigError")<ConfigFields>;

/**
 * An option was missing, of the wrong type or out of range.
 *
 * @example
 * ```ts
 * import { ConfigError } from "molt";
 * const e = new ConfigError({ owner: "worker", option: "heartbeatMs", received: -1, allowed: "a positive integer" });
 * console.log(e.message); // worker: heartbeatMs must be a positive integer, received -1
 * ```
 */
export class ConfigError extends ConfigBase {
  override get message(): string {
    return `${this.owner}: ${this.option} must be ${this.allowed}, received ${formatValue(this.received)}`;
  }
}

/** What broke the wire protocol. */
export type ProtocolViolation =
  | "frame_too_large"
  | "invalid_utf8"
  | "invalid_json"
  | "invalid_message"
  | "protocol_version";

interface ProtocolFields {
  readonly reason: ProtocolViolation;
  readonly detail: string;
  readonly workerId?: string;
  readonly pid?: number;
}
const ProtocolBase: TaggedErrorClass<"ProtocolError", ProtocolFields> = Data.TaggedError("ProtocolError")<ProtocolFields>;

/**
 * The byte stream from (or to) a worker broke the wire protocol. A worker
 * that sends one is killed and reported as crashed.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "molt";
 * const e = new ProtocolError({ reason: "invalid_json", detail: "Unexpected token", workerId: "w1", pid: 42 });
 * console.log(e._tag, e.reason); // ProtocolError invalid_json
 * ```
 */
export class ProtocolError extends ProtocolBase {
  override get message(): string {
    const who = this.workerId === undefined ? "" : `worker ${this.workerId} (pid ${this.pid}): `;
    return `${who}protocol violation (${this.reason}): ${this.detail}`;
  }
}

interface WorkerStartFields {
  readonly workerId: string;
  readonly reason: "spawn_failed" | "exited" | "timeout" | "protocol";
  readonly detail: string;
  readonly pid: number | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: readonly string[];
}
const WorkerStartBase: TaggedErrorClass<"WorkerStartError", WorkerStartFields> = Data.TaggedError("WorkerStartError")<WorkerStartFields>;

/**
 * A worker did not become ready: the interpreter or handler could not start,
 * the process exited, or no hello frame came within `startTimeoutMs`.
 *
 * @example
 * ```ts
 * import { spawnWorker, WorkerStartError } from "molt";
 * try {
 *   await spawnWorker({ handler: "./missing.py" });
 * } catch (e) {
 *   if (e instanceof WorkerStartError) console.log(e.reason, e.exitCode, e.stderrTail);
 * }
 * ```
 */
export class WorkerStartError extends WorkerStartBase {
  override get message(): string {
    return withStderr(`worker ${this.workerId} failed to start (${this.reason}): ${this.detail}`, this.stderrTail);
  }
}

interface WorkerTimeoutFields {
  readonly workerId: string;
  readonly pid: number;
  readonly requestId: number;
  readonly command: string;
  readonly timeoutMs: number;
}
const WorkerTimeoutBase: TaggedErrorClass<"WorkerTimeoutError", WorkerTimeoutFields> = Data.TaggedError("WorkerTimeoutError")<WorkerTimeoutFields>;

/**
 * A call passed its deadline. Python cannot abort a running handler, so the
 * worker may still be busy with it; by default it is marked for recycling.
 *
 * @example
 * ```ts
 * import { WorkerTimeoutError } from "molt";
 * const e = new WorkerTimeoutError({ workerId: "w1", pid: 7, requestId: 3, command: "slow", timeoutMs: 50 });
 * console.log(e.message); // worker w1 (pid 7): call 3 "slow" timed out after 50 ms
 * ```
 */
export class WorkerTimeoutError extends WorkerTimeoutBase {
  override get message(): string {
    return `worker ${this.workerId} (pid ${this.pid}): call ${this.requestId} "${this.command}" timed out after ${this.timeoutMs} ms`;
  }
}

interface WorkerExitedFields {
  readonly workerId: string;
  readonly pid: number;
  readonly requestId: number;
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: readonly string[];
  readonly written: boolean;
}
const WorkerExitedBase: TaggedErrorClass<"WorkerExitedError", WorkerExitedFields> = Data.TaggedError("WorkerExitedError")<WorkerExitedFields>;

/**
 * The worker process exited while the call was in flight (or before it was
 * written). `written` says whether the request reached the process's pipe.
 *
 * @example
 * ```ts
 * import { WorkerExitedError } from "molt";
 * const e = new WorkerExitedError({ workerId: "w1", pid: 7, requestId: 3, command: "x", exitCode: null, signal: "SIGKILL", stderrTail: [], written: true });
 * console.log(e.message.split("\n")[0]); // worker w1 (pid 7) exited (killed by SIGKILL) while call 3 "x" was in flight
 * ```
 */
export class WorkerExitedError extends WorkerExitedBase {
  override get message(): string {
    const exit = describeExit(this);
    return withStderr(
      `worker ${this.workerId} (pid ${this.pid}) exited (${exit}) while call ${this.requestId} "${this.command}" was in flight`,
      this.stderrTail,
    );
  }
}

interface WorkerUnavailableFields {
  readonly workerId: string;
  readonly state: string;
  readonly command: string;
}
const WorkerUnavailableBase: TaggedErrorClass<"WorkerUnavailableError", WorkerUnavailableFields> = Data.TaggedError("WorkerUnavailableError")<WorkerUnavailableFields>;

/**
 * The call cannot be accepted because the worker is not serving (it is
 * draining, stopping or gone). Nothing was sent to Python.
 *
 * @example
 * ```ts
 * import { WorkerUnavailableError } from "molt";
 * const e = new WorkerUnavailableError({ workerId: "w1", state: "stopping", command: "echo" });
 * console.log(e.message); // worker w1 is stopping and takes no new call ("echo")
 * ```
 */
export class WorkerUnavailableError extends WorkerUnavailableBase {
  override get message(): string {
    return `worker ${this.workerId} is ${this.state} and takes no new call ("${this.command}")`;
  }
}

interface CallAbortedFields {
  readonly workerId: string;
  readonly requestId: number;
  readonly command: string;
  readonly written: boolean;
}
const CallAbortedBase: TaggedErrorClass<"CallAbortedError", CallAbortedFields> = Data.TaggedError("CallAbortedError")<CallAbortedFields>;

/**
 * The caller's `AbortSignal` fired before the answer came. If the request
 * had been written, Python may still run it.
 *
 * @example
 * ```ts
 * import { CallAbortedError } from "molt";
 * const e = new CallAbortedError({ workerId: "w1", requestId: 4, command: "x", written: true });
 * console.log(e._tag); // CallAbortedError
 * ```
 */
export class CallAbortedError extends CallAbortedBase {
  override get message(): string {
    return `worker ${this.workerId}: call ${this.requestId} "${this.command}" was aborted by its signal`;
  }
}

interface PythonFields {
  readonly workerId: string;
  readonly pid: number;
  readonly requestId: number;
  readonly command: string;
  readonly type: string;
  readonly detail: string;
  readonly traceback: string | undefined;
}
const PythonBase: TaggedErrorClass<"PythonError", PythonFields> = Data.TaggedError("PythonError")<PythonFields>;

/**
 * The Python side answered with an error: a handler exception (its type,
 * message and traceback), an unknown command, or a request it refused.
 *
 * @example
 * ```ts
 * import { PythonError } from "molt";
 * const e = new PythonError({ workerId: "w1", pid: 7, requestId: 2, command: "fail", type: "ValueError", detail: "bad", traceback: undefined });
 * console.log(e.message); // worker w1 (pid 7): "fail" raised ValueError: bad
 * ```
 */
export class PythonError extends PythonBase {
  override get message(): string {
    return `worker ${this.workerId} (pid ${this.pid}): "${this.command}" raised ${this.type}: ${this.detail}`;
  }
}

interface PoolSaturatedFields {
  readonly pool: string;
  readonly command: string;
  readonly queued: number;
  readonly maxQueue: number;
}
const PoolSaturatedBase: TaggedErrorClass<"PoolSaturatedError", PoolSaturatedFields> = Data.TaggedError("PoolSaturatedError")<PoolSaturatedFields>;

/**
 * The pool's queue is full (`maxQueue` calls already wait): the call was
 * refused at once instead of growing the queue. Nothing reached Python.
 *
 * @example
 * ```ts
 * import { PoolSaturatedError } from "molt";
 * const e = new PoolSaturatedError({ pool: "v2", command: "echo", queued: 100, maxQueue: 100 });
 * console.log(e.message); // pool v2: queue full (100 of 100 waiting), refused "echo"
 * ```
 */
export class PoolSaturatedError extends PoolSaturatedBase {
  override get message(): string {
    return `pool ${this.pool}: queue full (${this.queued} of ${this.maxQueue} waiting), refused "${this.command}"`;
  }
}

interface QueueTimeoutFields {
  readonly pool: string;
  readonly command: string;
  readonly waitedMs: number;
  readonly limitMs: number;
}
const QueueTimeoutBase: TaggedErrorClass<"QueueTimeoutError", QueueTimeoutFields> = Data.TaggedError("QueueTimeoutError")<QueueTimeoutFields>;

/**
 * The call waited in the pool's queue for a worker longer than it may
 * (`queueTimeoutMs`, or its own `timeoutMs` if shorter). Nothing reached Python.
 *
 * @example
 * ```ts
 * import { QueueTimeoutError } from "molt";
 * const e = new QueueTimeoutError({ pool: "v1", command: "echo", waitedMs: 5000, limitMs: 5000 });
 * console.log(e.message); // pool v1: "echo" waited 5000 ms for a worker (limit 5000 ms)
 * ```
 */
export class QueueTimeoutError extends QueueTimeoutBase {
  override get message(): string {
    return `pool ${this.pool}: "${this.command}" waited ${this.waitedMs} ms for a worker (limit ${this.limitMs} ms)`;
  }
}

interface PoolDrainingFields {
  readonly pool: string;
  readonly command: string;
  readonly state: string;
  readonly inFlight: boolean;
}
const PoolDrainingBase: TaggedErrorClass<"PoolDrainingError", PoolDrainingFields> = Data.TaggedError("PoolDrainingError")<PoolDrainingFields>;

/**
 * The pool is draining or stopped. With `inFlight: false` it refused a new
 * (or still queued) call and nothing reached Python; with `inFlight: true`
 * the call was already with a worker when the drain's deadline passed, so
 * it may have run.
 *
 * @example
 * ```ts
 * import { PoolDrainingError } from "molt";
 * const e = new PoolDrainingError({ pool: "v1", command: "echo", state: "draining", inFlight: false });
 * console.log(e.message); // pool v1 is draining and takes no new call ("echo")
 * ```
 */
export class PoolDrainingError extends PoolDrainingBase {
  override get message(): string {
    return this.inFlight
      ? `pool ${this.pool} drained before "${this.command}" finished (it may have run)`
      : `pool ${this.pool} is ${this.state} and takes no new call ("${this.command}")`;
  }
}

interface BreakerOpenFields {
  readonly pool: string;
  readonly command: string;
  readonly state: "open" | "isolated";
}
const BreakerOpenBase: TaggedErrorClass<"BreakerOpenError", BreakerOpenFields> = Data.TaggedError("BreakerOpenError")<BreakerOpenFields>;

/**
 * The pool's circuit breaker is open (or isolated by an operator): the call
 * was refused at once. Nothing reached Python.
 *
 * @example
 * ```ts
 * import { BreakerOpenError } from "molt";
 * const e = new BreakerOpenError({ pool: "v2", command: "echo", state: "open" });
 * console.log(e.message); // pool v2: circuit breaker is open, refused "echo"
 * ```
 */
export class BreakerOpenError extends BreakerOpenBase {
  override get message(): string {
    return `pool ${this.pool}: circuit breaker is ${this.state}, refused "${this.command}"`;
  }
}

interface SessionWorkerLostFields {
  readonly pool: string;
  readonly command: string;
  readonly sessionId: string;
  readonly workerId: string;
}
const SessionWorkerLostBase: TaggedErrorClass<"SessionWorkerLostError", SessionWorkerLostFields> = Data.TaggedError("SessionWorkerLostError")<SessionWorkerLostFields>;

/**
 * With `affinity: "strict"`, the worker that holds the session is gone, so
 * the call cannot run where the session's state lives. Nothing reached Python.
 *
 * @example
 * ```ts
 * import { SessionWorkerLostError } from "molt";
 * const e = new SessionWorkerLostError({ pool: "v2", command: "step", sessionId: "s1", workerId: "v2-3" });
 * console.log(e.message); // pool v2: worker v2-3 that held session "s1" is gone, refused "step"
 * ```
 */
export class SessionWorkerLostError extends SessionWorkerLostBase {
  override get message(): string {
    return `pool ${this.pool}: worker ${this.workerId} that held session "${this.sessionId}" is gone, refused "${this.command}"`;
  }
}

/** Which store backend raised a StoreError. */
export type StoreBackend = "sqlite" | "postgres";

/** What went wrong with a store. */
export type StoreFailure = "bad_url" | "unreachable" | "permission" | "missing" | "query" | "conflict" | "closed";

interface StoreFields {
  readonly backend: StoreBackend | null;
  readonly operation: string;
  readonly failure: StoreFailure;
  readonly url: string;
  readonly reason: string;
}
const StoreBase: TaggedErrorClass<"StoreError", StoreFields> = Data.TaggedError("StoreError")<StoreFields>;

/**
 * A store could not be opened or a statement failed. `url` never carries a
 * password; `reason` is the driver's own message.
 *
 * @example
 * ```ts
 * import { StoreError } from "molt";
 * const e = new StoreError({ backend: "postgres", operation: "open", failure: "unreachable", url: "postgres://db:5432/molt", reason: "connection refused" });
 * console.log(e.message); // store postgres://db:5432/molt: open failed (unreachable): connection refused
 * ```
 */
export class StoreError extends StoreBase {
  override get message(): string {
    return `store ${this.url}: ${this.operation} failed (${this.failure}): ${this.reason}`;
  }
}

interface StoreRowFields {
  readonly table: string;
  readonly row: string;
  readonly direction: "read" | "write";
  readonly issue: string;
}
const StoreRowBase: TaggedErrorClass<"StoreRowError", StoreRowFields> = Data.TaggedError("StoreRowError")<StoreRowFields>;

/**
 * A row did not match its table's schema: on the way in (nothing was
 * written) or on the way out (the row is named so it can be inspected).
 *
 * @example
 * ```ts
 * import { StoreRowError } from "molt";
 * const e = new StoreRowError({ table: "flags", row: "key=pool_v2_enabled", direction: "read", issue: "Expected boolean, got \"yes\"" });
 * console.log(e.message); // store table flags, row key=pool_v2_enabled: cannot read: Expected boolean, got "yes"
 * ```
 */
export class StoreRowError extends StoreRowBase {
  override get message(): string {
    return `store table ${this.table}, row ${this.row}: cannot ${this.direction}: ${this.issue}`;
  }
}

interface MachineVersionFields {
  readonly actorId: string;
  readonly machine: string;
  readonly stored: string;
  readonly expected: string;
}
const MachineVersionBase: TaggedErrorClass<"MachineVersionError", MachineVersionFields> = Data.TaggedError("MachineVersionError")<MachineVersionFields>;

/**
 * A persisted snapshot was written by another version of the machine, and
 * no migration for that pair of versions was given.
 *
 * @example
 * ```ts
 * import { MachineVersionError } from "molt";
 * const e = new MachineVersionError({ actorId: "breaker:v2", machine: "breaker", stored: "1", expected: "2" });
 * console.log(e.message); // actor breaker:v2: snapshot of machine "breaker" version 1 cannot be restored into version 2 (no migration from 1 to 2)
 * ```
 */
export class MachineVersionError extends MachineVersionBase {
  override get message(): string {
    return `actor ${this.actorId}: snapshot of machine "${this.machine}" version ${this.stored} cannot be restored into version ${this.expected} (no migration from ${this.stored} to ${this.expected})`;
  }
}

interface FlagFields {
  readonly flag: string;
  readonly received: unknown;
  readonly allowed: string;
}
const FlagBase: TaggedErrorClass<"FlagError", FlagFields> = Data.TaggedError("FlagError")<FlagFields>;

/**
 * A flag was given a value it cannot hold, or does not exist. Nothing was
 * changed.
 *
 * @example
 * ```ts
 * import { FlagError } from "molt";
 * const e = new FlagError({ flag: "pool_v2_share", received: 12000, allowed: "an integer from 0 to 10000 (basis points)" });
 * console.log(e.message); // flag pool_v2_share must be an integer from 0 to 10000 (basis points), received 12000
 * ```
 */
export class FlagError extends FlagBase {
  override get message(): string {
    return `flag ${this.flag} must be ${this.allowed}, received ${formatValue(this.received)}`;
  }
}

interface ProgramFields {
  readonly programId: string;
  readonly reason: string;
}
const ProgramBase: TaggedErrorClass<"ProgramError", ProgramFields> = Data.TaggedError("ProgramError")<ProgramFields>;

/**
 * A program does not exist, or its definition is not one molt can run.
 *
 * @example
 * ```ts
 * import { ProgramError } from "molt";
 * const e = new ProgramError({ programId: "qa", reason: "not found" });
 * console.log(e.message); // program "qa": not found
 * ```
 */
export class ProgramError extends ProgramBase {
  override get message(): string {
    return `program "${this.programId}": ${this.reason}`;
  }
}

interface RolloutFields {
  readonly rolloutId: string;
  readonly command: string;
  readonly state: string;
  readonly allowed: string;
}
const RolloutBase: TaggedErrorClass<"RolloutError", RolloutFields> = Data.TaggedError("RolloutError")<RolloutFields>;

/**
 * An operator command (or API call) that the rollout's state does not
 * allow, such as resuming a rollout that is not paused.
 *
 * @example
 * ```ts
 * import { RolloutError } from "molt";
 * const e = new RolloutError({ rolloutId: "r1", command: "resume", state: "active.stage", allowed: "paused" });
 * console.log(e.message); // rollout r1: cannot resume while active.stage (allowed from: paused)
 * ```
 */
export class RolloutError extends RolloutBase {
  override get message(): string {
    return `rollout ${this.rolloutId}: cannot ${this.command} while ${this.state} (allowed from: ${this.allowed})`;
  }
}

interface MigrationFields {
  readonly migrationId: string;
  readonly command: string;
  readonly state: string;
  readonly reason: string;
}
const MigrationBase: TaggedErrorClass<"MigrationError", MigrationFields> = Data.TaggedError("MigrationError")<MigrationFields>;

/**
 * A migration command that its state or its conditions do not allow, such
 * as decommissioning V1 before V2 has held all traffic long enough.
 *
 * @example
 * ```ts
 * import { MigrationError } from "molt";
 * const e = new MigrationError({ migrationId: "m1", command: "decommission", state: "rollout", reason: "V2 has not been promoted" });
 * console.log(e.message); // migration m1: cannot decommission while rollout: V2 has not been promoted
 * ```
 */
export class MigrationError extends MigrationBase {
  override get message(): string {
    return `migration ${this.migrationId}: cannot ${this.command} while ${this.state}: ${this.reason}`;
  }
}

interface FencedFields {
  readonly lease: string;
  readonly nodeId: string;
  readonly term: number;
  readonly currentTerm: number | null;
  readonly holder: string | null;
}
const FencedBase: TaggedErrorClass<"FencedError", FencedFields> = Data.TaggedError("FencedError")<FencedFields>;

/**
 * A write of a fleet leader refused because its lease's term is over:
 * another node holds a newer term (the writer was paused, cut off or slow,
 * and lost the lease meanwhile). Nothing was written; the writer is a
 * follower now.
 *
 * @example
 * ```ts
 * import { FencedError } from "molt";
 * const e = new FencedError({ lease: "rollout:r1", nodeId: "a", term: 3, currentTerm: 4, holder: "b" });
 * console.log(e.message); // lease rollout:r1: node a's term 3 is over (term 4 is held by b): the write was refused
 * ```
 */
export class FencedError extends FencedBase {
  override get message(): string {
    const now = this.currentTerm === null ? "nobody holds it" : `term ${this.currentTerm} is held by ${this.holder}`;
    return `lease ${this.lease}: node ${this.nodeId}'s term ${this.term} is over (${now}): the write was refused`;
  }
}

interface FleetFields {
  readonly nodeId: string;
  readonly operation: string;
  readonly reason: string;
}
const FleetBase: TaggedErrorClass<"FleetError", FleetFields> = Data.TaggedError("FleetError")<FleetFields>;

/**
 * A fleet node could not join or act: its id is taken by a live node
 * elsewhere, or its settings cannot work together (a lease shorter than a
 * window).
 *
 * @example
 * ```ts
 * import { FleetError } from "molt";
 * const e = new FleetError({ nodeId: "web-1", operation: "join", reason: "node id taken by a live node (host b, pid 7)" });
 * console.log(e.message); // fleet node web-1: cannot join: node id taken by a live node (host b, pid 7)
 * ```
 */
export class FleetError extends FleetBase {
  override get message(): string {
    return `fleet node ${this.nodeId}: cannot ${this.operation}: ${this.reason}`;
  }
}

/** Why a backup could not be read or restored. */
export type BackupProblem = "unknown_id" | "unreadable" | "newer_schema" | "rollout_active" | "process_serving";

interface BackupFields {
  /** The backup's id, or the file it was read from. */
  readonly source: string;
  readonly problem: BackupProblem;
  readonly reason: string;
}
const BackupBase: TaggedErrorClass<"BackupError", BackupFields> = Data.TaggedError("BackupError")<BackupFields>;

/**
 * A backup could not be read or restored: no backup with that id, a file
 * that is not a whole backup (corrupt or truncated), one written by a newer
 * schema, a rollout still active or a process still serving a migration
 * of the store (restore with `force`). Nothing was changed.
 *
 * @example
 * ```ts
 * import { BackupError } from "molt";
 * const e = new BackupError({ source: "backup-1", problem: "unknown_id", reason: "no backup with this id in the store" });
 * console.log(e.message); // backup backup-1: no backup with this id in the store
 * ```
 */
export class BackupError extends BackupBase {
  override get message(): string {
    return `backup ${this.source}: ${this.reason}`;
  }
}

/** Why a notification was not delivered. */
export type NotifyProblem = "rejected" | "gave_up" | "dropped" | "closed";

interface NotifyFields {
  /** The notifier's name. */
  readonly notifier: string;
  /** The rollout event that was not delivered. */
  readonly event: string;
  readonly rolloutId: string;
  readonly problem: NotifyProblem;
  /** Attempts made (0 when it was dropped before any). */
  readonly attempts: number;
  readonly reason: string;
}
const NotifyBase: TaggedErrorClass<"NotifyError", NotifyFields> = Data.TaggedError("NotifyError")<NotifyFields>;

/**
 * A rollout event a notifier could not deliver: the receiver refused it
 * (a 4xx other than 408 and 429), every attempt failed, the queue was full
 * and it was dropped, or the notifier closed before it went out. Given to
 * the notifier's `onError`; the rollout never waits for it.
 *
 * @example
 * ```ts
 * import { NotifyError } from "molt";
 * const e = new NotifyError({ notifier: "webhook", event: "stage.advanced", rolloutId: "r1", problem: "gave_up", attempts: 5, reason: "HTTP 503" });
 * console.log(e.message); // notifier webhook: stage.advanced of rollout r1 not delivered (gave_up after 5 attempts): HTTP 503
 * ```
 */
export class NotifyError extends NotifyBase {
  override get message(): string {
    return `notifier ${this.notifier}: ${this.event} of rollout ${this.rolloutId} not delivered (${this.problem} after ${this.attempts} attempts): ${this.reason}`;
  }
}

/** Every error class molt raises. */
export type MoltError =
  | ConfigError
  | ProtocolError
  | WorkerStartError
  | WorkerTimeoutError
  | WorkerExitedError
  | WorkerUnavailableError
  | CallAbortedError
  | PythonError
  | PoolSaturatedError
  | QueueTimeoutError
  | PoolDrainingError
  | BreakerOpenError
  | SessionWorkerLostError
  | StoreError
  | StoreRowError
  | MachineVersionError
  | FlagError
  | ProgramError
  | RolloutError
  | MigrationError
  | FencedError
  | FleetError
  | BackupError
  | NotifyError;

const TAGS: ReadonlySet<string> = new Set([
  "ConfigError",
  "ProtocolError",
  "WorkerStartError",
  "WorkerTimeoutError",
  "WorkerExitedError",
  "WorkerUnavailableError",
  "CallAbortedError",
  "PythonError",
  "PoolSaturatedError",
  "QueueTimeoutError",
  "PoolDrainingError",
  "BreakerOpenError",
  "SessionWorkerLostError",
  "StoreError",
  "StoreRowError",
  "MachineVersionError",
  "FlagError",
  "ProgramError",
  "RolloutError",
  "MigrationError",
  "FencedError",
  "FleetError",
  "BackupError",
  "NotifyError",
]);

/**
 * True when `error` is one of molt's tagged errors, for Promise users.
 *
 * @example
 * ```ts
 * import { isMoltError, ConfigError } from "molt";
 * const e: unknown = new ConfigError({ owner: "worker", option: "threads", received: 0, allowed: "a positive integer" });
 * if (isMoltError(e) && e._tag === "ConfigError") console.log(e.option); // threads
 * ```
 */
export function isMoltError(error: unknown): error is MoltError {
  return error instanceof Error && TAGS.has((error as { _tag?: unknown })._tag as string);
}

/** Characters of a received value shown in a message before it is cut short. */
const SHOWN_LIMIT = 200;

/**
 * Render a received value for an error message as itself: strings quoted,
 * objects and arrays in JSON's notation, and what JSON cannot say (NaN,
 * Infinity, undefined, functions, symbols, bigints, Maps, Sets, cycles)
 * named as it is; cut short after SHOWN_LIMIT characters.
 */
function formatValue(value: unknown): string {
  const parts: string[] = [];
  let length = 0;
  const ancestors: object[] = [];
  // Each returns false once the limit is passed, so that a huge value is not walked to its end.
  const put = (text: string): boolean => {
    parts.push(text);
    length += text.length;
    return length <= SHOWN_LIMIT;
  };
  const show = (v: unknown): boolean => {
    switch (typeof v) {
      case "string":
        return put(JSON.stringify(v));
      case "number":
        return put(Object.is(v, -0) ? "-0" : String(v));
      case "bigint":
        return put(`${v}n`);
      case "symbol":
        return put(v.toString());
      case "function":
        return put(v.name === "" ? "a function" : `function ${v.name}`);
      case "boolean":
      case "undefined":
        return put(String(v));
    }
    if (v === null) return put("null");
    const o = v as Record<string, unknown>;
    if (ancestors.includes(o)) return put("[cycle]");
    if (o instanceof Map || o instanceof Set) return put(`${o.constructor.name}(${o.size})`);
    if (o instanceof Error) return put(`${o.name}: ${o.message}`);
    if (typeof o.toJSON === "function") {
      try {
        return show(o.toJSON());
      } catch {
        return put(String(o));
      }
    }
    ancestors.push(o);
    let whole = true;
    if (Array.isArray(o)) {
      whole = put("[");
      for (let i = 0; whole && i < o.length; i++) whole = (i === 0 || put(",")) && show(o[i]);
      whole &&= put("]");
    } else {
      const proto = Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null;
      const kind = proto === null || proto === Object.prototype ? "" : `${proto.constructor?.name ?? "Object"} `;
      whole = put(`${kind}{`) && Object.keys(o).every((key, i) => (i === 0 || put(",")) && put(`${JSON.stringify(key)}:`) && show(o[key])) && put("}");
    }
    ancestors.pop();
    return whole;
  };
  try {
    show(value);
  } catch {
    // A getter or a Proxy that throws: an error message must still be made.
    put("…(unreadable)");
  }
  const text = parts.join("");
  return text.length <= SHOWN_LIMIT ? text : `${text.slice(0, SHOWN_LIMIT)}…`;
}
