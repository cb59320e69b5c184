/**
 * PythonWorker: one Python process speaking wire protocol v1. Calls are
 * pipelined and matched by id; lifecycle changes go through the worker
 * machine, per-call bookkeeping stays in counters.
 *
 * @module
 */
import { delimiter } from "node:path";
import { type Actor, createActor } from "xstate";
import {
  CallAbortedError,
  ConfigError,
  type ExitInfo,
  ProtocolError,
  PythonError,
  WorkerExitedError,
  WorkerStartError,
  WorkerTimeoutError,
  WorkerUnavailableError,
} from "../errors.ts";
import { type WorkerEvent, workerMachine, type WorkerState } from "../../machines/worker.ts";
import { type ChildProcess, SpawnFailure, spawnChild } from "../process/child.ts";
import { resolvePython } from "../process/python.ts";
import { pythonPackageDir } from "../process/python-package.ts";
import { announcedLengths, attachmentFrames, BinaryArgs, fillPlaceholders, withPlaceholders } from "../protocol/attachments.ts";
import { Deframer, encodeFrame } from "../protocol/frame.ts";
import { ownedCopy } from "../protocol/unfilled-bytes.ts";
import { type Chunk, type Hello, parseFrame, parseHello, PROTOCOL_MINOR, type Response, type StreamEnd } from "../protocol/messages.ts";
import { type ChunkSink, ChunkStream, type StreamOptions, streamWindow, withStop } from "./chunk-stream.ts";
import { checkCall } from "./call-check.ts";
import type { ResolvedWorkerOptions } from "./options.ts";
import { type Deadlined, type PendingCall, PendingTable } from "./pending.ts";
import { SharedRegion } from "./shared-ring.ts";
import { StderrLines } from "./stderr-lines.ts";

/** Per-call options. */
export interface CallOptions {
  /** Deadline of this call. Default: the worker's `callTimeoutMs`. */
  readonly timeoutMs?: number;
  /**
   * Abort the call: it rejects with CallAbortedError at once, and a worker
   * of protocol minor 1 is told to cancel it (an async handler gets
   * CancelledError at its next await, a sync one sees `ctx.cancelled`).
   */
  readonly signal?: AbortSignal;
  /** Session id, passed to the handler as `ctx.session`. */
  readonly sessionId?: string;
}

/** What the Python side reports about itself (`health` command). */
export interface WorkerHealth {
  readonly pid: number;
  /** Resident memory, without the pages of the shared rings (`sharedMemoryBytes`): those are molt's, taken once, not the handler's growth. */
  readonly rssBytes: number;
  readonly uptimeS: number;
  readonly served: number;
  readonly failed: number;
  /** Calls it answered as cancelled (0 from a minor-0 worker). */
  readonly cancelled: number;
}

/** Host-side counters of one worker. */
export interface WorkerStats {
  readonly id: string;
  readonly pid: number;
  readonly state: WorkerState;
  readonly inFlight: number;
  readonly calls: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly aborted: number;
  /** Answers that came after their call had timed out or been aborted. */
  readonly lateResponses: number;
  /** Cancel frames sent: calls aborted or past their deadline, on a worker that can cancel. */
  readonly cancels: number;
  /** Error answers the worker could not tie to a request id. */
  readonly unattributedErrors: number;
  readonly missedHeartbeats: number;
  /** Why the worker should be replaced, or null. */
  readonly recycle: string | null;
}

/**
 * A supervised Python worker process.
 *
 * @example
 * ```ts
 * import { spawnWorker } from "molt";
 * const worker = await spawnWorker({ handler: "./test/fixtures/echo_handler.py", heartbeatMs: 0 });
 * console.log(await worker.call("echo", { hello: "world" })); // { hello: "world" }
 * await worker.stop();
 * ```
 */
export interface Worker {
  readonly id: string;
  readonly pid: number;
  /** The lifecycle state (see machines/worker.ts). */
  readonly state: WorkerState;
  /** The worker's hello: protocol, Python version, handler, commands. */
  readonly hello: Hello;
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<ExitInfo>;
  /** Send a call; resolves with the result or rejects with a tagged error. */
  call<T = unknown>(command: string, args?: unknown, options?: CallOptions): Promise<T>;
  /**
   * Call a command whose handler yields, and iterate over the items as they
   * come: at most `window` (default 16) wait on the host before the worker
   * stops reading the generator; `break` cancels the call in Python; an
   * error is thrown after the items before it. The deadline covers the
   * whole stream. A command that does not yield gives its result as the
   * one item, as does every command on a worker older than minor 2.
   */
  stream<T = unknown>(command: string, args?: unknown, options?: CallOptions & StreamOptions): AsyncIterableIterator<T>;
  /** Ask the Python side for its pid, RSS, uptime and counts. */
  health(options?: { readonly timeoutMs?: number }): Promise<WorkerHealth>;
  stats(): WorkerStats;
  /** The last lines the process wrote to stderr (`stderrTailLines` of them), an unfinished last line included. */
  stderrTail(): readonly string[];
  /** Drain, then `shutdown`, then SIGTERM, then SIGKILL; resolves once the process is gone. */
  stop(): Promise<ExitInfo>;
}

/** The protocol minor from which a worker reads and writes binary attachments. */
const BINARY_MINOR = 3;

/** A frame whose attachments are still arriving: the frames after it are its raw bytes. */
interface Incoming {
  readonly frame: Response | Chunk | StreamEnd;
  readonly lengths: readonly number[];
  /** Those from the shared ring are in at once; the others (undefined until then) come as the frames that follow. */
  readonly parts: (Uint8Array | undefined)[];
  /** What was wrong with an attachment that arrived: the frame's call fails with it once the last one is in. */
  problem: string | null;
}

const NO_BYTES = new Uint8Array(0);

const flatten = (value: unknown): WorkerState =>
  (typeof value === "string" ? value : Object.keys(value as object)[0]) as WorkerState;

/** The Worker implementation; created by spawnWorker / acquireWorker. */
export class PythonWorker implements Worker {
  readonly id: string;
  pid = 0;
  hello!: Hello;
  state: WorkerState = "spawning";
  readonly exited: Promise<ExitInfo>;
  private resolveExited!: (info: ExitInfo) => void;
  private readonly actor: Actor<typeof workerMachine>;
  private readonly pending: PendingTable;
  /** Calls cancelled but not yet answered, each until its grace period ends. */
  private readonly cancelling: PendingTable<Deadlined>;
  private readonly deframer: Deframer;
  private readonly stderr: StderrLines;
  private proc: ChildProcess | null = null;
  private exitInfo: ExitInfo | null = null;
  private accepting = false;
  private broken = false;
  private nextId = 1;
  private heartbeatId = -1;
  private tickTimer: ReturnType<typeof setTimeout> | undefined;
  private tickAt: number | null = null;
  private startWaiter: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  private stopHook: (() => Promise<unknown>) | null = null;
  private watcher: ((state: WorkerState) => void) | null = null;
  private counts = { calls: 0, succeeded: 0, failed: 0, timedOut: 0, aborted: 0, late: 0, unattributed: 0, cancels: 0 };
  private incoming: Incoming | null = null;
  /** The rings shared with the process (sharedMemoryBytes, under Bun on Linux): made by it, mapped once its hello names them. */
  private shared: SharedRegion | null = null;

  private constructor(private readonly options: ResolvedWorkerOptions) {
    this.id = options.id;
    this.exited = new Promise((r) => (this.resolveExited = r));
    this.deframer = new Deframer(options.maxFrameBytes);
    this.stderr = new StderrLines(options.stderrTailLines, options.onStderr);
    this.pending = new PendingTable(() => performance.now(), (call) => this.expire(call));
    this.cancelling = new PendingTable(() => performance.now(), (call) => this.overran(call.id));
    this.actor = createActor(
      workerMachine.provide({
        actions: {
          sendShutdown: () => this.sendShutdown(),
          terminateProcess: () => this.proc?.kill("SIGTERM"),
          killProcess: () => this.proc?.kill("SIGKILL"),
        },
      }),
      {
        input: {
          workerId: options.id,
          limits: {
            startTimeoutMs: options.startTimeoutMs,
            drainTimeoutMs: options.drainTimeoutMs,
            shutdownGraceMs: options.shutdownGraceMs,
            killGraceMs: options.killGraceMs,
            unhealthyAfterMisses: options.unhealthyAfterMisses,
            recycleOnOverrun: options.recycleOnOverrun,
          },
        },
      },
    ).start();
  }

  /** Spawn the process and wait for its hello; rejects with WorkerStartError. */
  static async start(options: ResolvedWorkerOptions): Promise<PythonWorker> {
    const worker = new PythonWorker(options);
    await worker.launch();
    return worker;
  }

  /** Make `stop()` close an owning scope instead of stopping directly. */
  setStopHook(hook: () => Promise<unknown>): void {
    this.stopHook = hook;
  }

  /** Be told of every lifecycle state change (one watcher: the owning pool), and again when its last cancelled call ends. */
  watch(watcher: (state: WorkerState) => void): void {
    this.watcher = watcher;
  }

  /**
   * Calls cancelled and not yet ended in Python. A pool sends such a worker
   * nothing new: its handler may be stuck (a frozen process, a sync handler
   * holding the reading thread), and the grace period will tell.
   */
  get cancelsOutstanding(): number {
    return this.cancelling.size;
  }

  call<T = unknown>(command: string, args?: unknown, options?: CallOptions): Promise<T> {
    const checked = checkCall("worker", this.id, command, args, options);
    if (checked instanceof ConfigError) return Promise.reject(checked);
    return this.callChecked(command, checked ?? args, options) as Promise<T>;
  }

  /**
   * `call` for a caller that has checked the call already (a pool, in
   * `execute`): the args are walked once, and arrive wrapped in a
   * BinaryArgs when they hold bytes.
   */
  callChecked(command: string, args: unknown, options: CallOptions | undefined, sink?: ChunkSink): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? this.options.callTimeoutMs;
    if (sink !== undefined && (this.hello.minor ?? 0) < 2) {
      // A worker before streams answers whole: its result is the one item.
      return this.send(command, args, timeoutMs, options?.signal, options?.sessionId).then((result) => sink.push(result));
    }
    return this.send(command, args, timeoutMs, options?.signal, options?.sessionId, sink);
  }

  stream<T = unknown>(command: string, args?: unknown, options?: CallOptions & StreamOptions): AsyncIterableIterator<T> {
    const { window, ...callOptions } = options ?? {};
    const size = streamWindow(`worker "${this.id}"`, window);
    const checked = checkCall("worker", this.id, command, args, callOptions);
    return new ChunkStream<T>(size, (sink) =>
      checked instanceof ConfigError
        ? Promise.reject(checked)
        : this.callChecked(command, checked ?? args, { ...callOptions, signal: withStop(callOptions.signal, sink) }, sink)
    );
  }

  async health(options?: { readonly timeoutMs?: number }): Promise<WorkerHealth> {
    const h = await this.call<{ pid: number; rss_bytes: number; uptime_s: number; served: number; failed: number; cancelled?: number }>(
      "health",
      null,
      options,
    );
    return { pid: h.pid, rssBytes: h.rss_bytes, uptimeS: h.uptime_s, served: h.served, failed: h.failed, cancelled: h.cancelled ?? 0 };
  }


  stderrTail(): readonly string[] {
    return this.exitInfo === null ? this.stderr.peek() : this.stderr.tail();
  }

  stats(): WorkerStats {
    const ctx = this.actor.getSnapshot().context;
    const c = this.counts;
    return {
      id: this.id,
      pid: this.pid,
      state: this.state,
      inFlight: this.pending.size,
      calls: c.calls,
      succeeded: c.succeeded,
      failed: c.failed,
      timedOut: c.timedOut,
      aborted: c.aborted,
      lateResponses: c.late,
      cancels: c.cancels,
      unattributedErrors: c.unattributed,
      missedHeartbeats: ctx.misses,
      recycle: ctx.recycle,
    };
  }

  stop(): Promise<ExitInfo> {
    return (this.stopHook ?? (() => this.terminate()))().then(() => this.exited);
  }

  /** The stop sequence itself, driven by the machine; safe to call again. */
  terminate(): Promise<ExitInfo> {
    if (this.exitInfo === null) {
      // While the worker lives, what its handlers started is still its own: note it, to end it with the worker.
      this.proc?.rememberTree();
      this.dispatch({ type: "stop.requested", now: Date.now() });
      this.checkDrained();
    }
    return this.exited;
  }

  /** Fail every call in flight with `error(call)` at once; the process keeps running. */
  failPending(error: (command: string, requestId: number) => unknown): number {
    const calls = this.pending.takeAll();
    for (const call of calls) {
      this.counts.aborted++;
      call.reject(error(call.command, call.id));
    }
    this.checkDrained();
    return calls.length;
  }

  /** One heartbeat ping; resolves with whether the worker is still live. */
  async heartbeat(): Promise<boolean> {
    if (!this.accepting) return false;
    this.heartbeatId = this.nextId;
    try {
      await this.send("ping", null, this.options.heartbeatTimeoutMs, undefined, undefined);
      this.dispatch({ type: "heartbeat.answered", now: Date.now() });
    } catch (e) {
      if (e instanceof WorkerTimeoutError) this.dispatch({ type: "heartbeat.missed", now: Date.now() });
    }
    return this.accepting;
  }

  private send(command: string, args: unknown, timeoutMs: number, signal: AbortSignal | undefined, session: string | undefined, sink?: ChunkSink): Promise<unknown> {
    if (!this.accepting) {
      return Promise.reject(new WorkerUnavailableError({ workerId: this.id, state: this.state, command }));
    }
    if (signal?.aborted) {
      return Promise.reject(new CallAbortedError({ workerId: this.id, requestId: 0, command, written: false }));
    }
    const binary = args instanceof BinaryArgs;
    if (binary && (this.hello.minor ?? 0) < BINARY_MINOR) {
      return Promise.reject(new ConfigError({
        owner: `worker "${this.id}" call "${command}"`,
        option: "args",
        received: "bytes (a Uint8Array)",
        allowed: `JSON data without bytes for this worker: it speaks protocol minor ${this.hello.minor ?? 0}, and bytes travel from minor ${BINARY_MINOR}`,
      }));
    }
    const id = this.nextId++;
    let frame: Uint8Array;
    let attached: Uint8Array[] | null = null;
    let parts: Uint8Array[] = [];
    try {
      const request: { id: number; command: string; args: unknown; deadline_ms: number; session?: string; window?: number; attachments?: number[] } = {
        id, command, args: args ?? null, deadline_ms: timeoutMs,
      };
      if (session !== undefined) request.session = session;
      if (sink !== undefined) request.window = sink.window;
      // Null for a call without bytes, and for a worker without rings: nothing is allocated for them.
      let inRing: boolean[] | null = null;
      if (binary) {
        const bytes: Uint8Array[] = [];
        request.args = withPlaceholders(args.args, bytes);
        inRing = this.shared?.plan(bytes.map((b) => b.length)) ?? null;
        request.attachments = bytes.map((b, i) => (inRing?.[i] ? -b.length : b.length));
        attached = attachmentFrames(bytes, this.options.maxFrameBytes, inRing ?? undefined);
        parts = bytes;
      }
      frame = encodeFrame(JSON.stringify(request), this.options.maxFrameBytes);
      // Only now that nothing can fail: into the ring, before the frame that announces them is written.
      if (inRing?.includes(true)) this.shared!.write(parts, inRing);
    } catch (e) {
      return Promise.reject(
        e instanceof ProtocolError
          ? new ProtocolError({ reason: e.reason, detail: `call "${command}": ${e.detail}`, workerId: this.id, pid: this.pid })
          : new ProtocolError({ reason: "invalid_message", detail: `args of "${command}" are not JSON: ${(e as Error).message}`, workerId: this.id, pid: this.pid }),
      );
    }
    return new Promise((resolve, reject) => {
      const call: PendingCall = { id, command, deadline: performance.now() + timeoutMs, timeoutMs, resolve, reject, release: undefined, sink, credit: sink?.window };
      sink?.bindCredit((n) => this.credit(call, n));
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (this.pending.take(id) === undefined) return;
          this.counts.aborted++;
          reject(new CallAbortedError({ workerId: this.id, requestId: id, command, written: true }));
          this.cancel(id);
          this.checkDrained();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        call.release = () => signal.removeEventListener("abort", onAbort);
      }
      this.pending.add(call);
      this.counts.calls++;
      this.proc!.write(frame);
      // Written in the same turn as the request: nothing can come between a request and its attachments.
      if (attached !== null) for (const part of attached) this.proc!.write(part);
    });
  }

  private async launch(): Promise<void> {
    const o = this.options;
    try {
      const [python, packageDir] = await Promise.all([resolvePython(o.python), pythonPackageDir()]);
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
      Object.assign(env, o.env, {
        PYTHONPATH: [packageDir, o.env.PYTHONPATH ?? process.env.PYTHONPATH].filter(Boolean).join(delimiter),
        PYTHONUNBUFFERED: "1",
      });
      this.proc = await spawnChild({
        argv: [
          python, "-m", "molt.worker", "--handler", o.handler, "--threads", String(o.threads), "--concurrency", String(o.concurrency),
          "--max-frame-bytes", String(o.maxFrameBytes), "--host-minor", String(PROTOCOL_MINOR),
          ...(o.sharedMemoryBytes > 0 && SharedRegion.supported ? ["--shared-ring-bytes", String(o.sharedMemoryBytes)] : []),
        ],
        env,
        cwd: o.cwd,
        onStdout: (chunk) => this.onStdout(chunk),
        onStderr: (chunk) => this.stderr.push(chunk),
      });
    } catch (e) {
      const detail = e instanceof SpawnFailure ? e.detail : String(e);
      this.dispatch({ type: "spawn.failed", detail, now: Date.now() });
      this.exitInfo = { exitCode: null, signal: null };
      this.resolveExited(this.exitInfo);
      throw new WorkerStartError({ workerId: this.id, reason: "spawn_failed", detail, pid: null, exitCode: null, signal: null, stderrTail: [] });
    }
    this.pid = this.proc.pid;
    const ready = new Promise<void>((resolve, reject) => (this.startWaiter = { resolve, reject }));
    void this.proc.exited.then((info) => this.onExit(info));
    this.dispatch({ type: "process.spawned", pid: this.pid, now: Date.now() });
    await ready;
  }

  private dispatch(event: WorkerEvent): void {
    this.actor.send(event);
    const snapshot = this.actor.getSnapshot();
    const previous = this.state;
    this.state = flatten(snapshot.value);
    this.accepting = this.state === "ready" || this.state === "degraded";
    this.syncTick(snapshot.context.deadline);
    if (this.startWaiter !== null) {
      if (this.state === "ready") {
        this.startWaiter.resolve();
        this.startWaiter = null;
      } else if (this.state === "crashed") {
        const waiter = this.startWaiter;
        this.startWaiter = null;
        void this.exited.then(() => waiter.reject(this.startError()));
      }
    }
    // Last: the watcher may stop this worker, dispatching again from inside this call.
    if (this.state !== previous) this.watcher?.(this.state);
  }

  private startError(): WorkerStartError {
    const { failure } = this.actor.getSnapshot().context;
    const exit = this.exitInfo ?? { exitCode: null, signal: null };
    const reason = failure?.reason === "start_timeout" ? "timeout" : failure?.reason === "protocol" ? "protocol" : "exited";
    const detail = reason === "exited"
      ? `the process exited before its hello (${exit.signal ?? `exit code ${exit.exitCode}`})`
      : failure?.detail ?? "unknown";
    return new WorkerStartError({ workerId: this.id, reason, detail, pid: this.pid, ...exit, stderrTail: this.stderr.tail() });
  }

  private syncTick(deadline: number | null): void {
    if (deadline === this.tickAt) return;
    clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    this.tickAt = deadline;
    if (deadline === null) return;
    this.tickTimer = setTimeout(() => {
      this.tickAt = null;
      this.tickTimer = undefined;
      // A timer may fire a little early; the re-sync re-arms when the guard did not pass.
      this.dispatch({ type: "clock.ticked", now: Math.max(Date.now(), deadline) });
    }, Math.max(0, deadline - Date.now()));
  }

  private onStdout(chunk: Uint8Array): void {
    if (this.broken) return;
    try {
      this.deframer.push(chunk, (payload, owned) => (this.incoming === null ? this.onMessage(parseFrame(payload)) : this.onAttachment(payload, owned)));
    } catch (e) {
      if (e instanceof ProtocolError) this.violate(e);
      else throw e;
    }
  }

  private onMessage(frame: Response | Chunk | StreamEnd): void {
    if (!("attachments" in frame)) return this.onFrame(frame);
    const lengths = announcedLengths(frame.attachments, this.options.maxFrameBytes, this.shared?.capacity ?? 0);
    // Without lengths the frames that follow cannot be told apart: the stream is broken.
    if (lengths === null) throw new ProtocolError({ reason: "invalid_message", detail: `"attachments" must be a list of frame lengths, received ${JSON.stringify(frame.attachments).slice(0, 80)}` });
    // In frame order, as the worker put them: the ring's next pieces.
    const parts = lengths.map((length) => (length < 0 ? this.shared!.take(-length) : undefined));
    this.incoming = { frame, lengths, parts, problem: null };
    if (!parts.includes(undefined)) this.attached(this.incoming);
  }

  /** One raw attachment of the frame before it. Each is a frame of its own: one of the wrong length fails its call alone, the stream is intact. */
  private onAttachment(payload: Uint8Array, owned: boolean): void {
    const incoming = this.incoming!;
    const i = incoming.parts.indexOf(undefined);
    const announced = incoming.lengths[i]!;
    if (payload.length !== announced) {
      incoming.problem ??= `attachment ${i} of the frame for call ${incoming.frame.id} is ${payload.length} bytes, the frame announced ${announced}`;
      incoming.parts[i] = NO_BYTES;
    } else {
      // A view into the runtime's read buffer is valid only during this call: kept, it is copied (into a
      // plain Uint8Array: a Node Buffer's slice() would be another view).
      incoming.parts[i] = owned ? payload : ownedCopy(payload);
    }
    if (!incoming.parts.includes(undefined)) this.attached(incoming);
  }

  /** Every attachment of a frame is in: its placeholders become the bytes, and the frame goes on as any other. */
  private attached(incoming: Incoming): void {
    this.incoming = null;
    const frame = incoming.frame as { result?: unknown; error?: unknown; chunk?: unknown };
    let problem = incoming.problem;
    if (problem === null) {
      try {
        const parts = incoming.parts as Uint8Array[];
        if ("result" in frame) frame.result = fillPlaceholders(frame.result, parts);
        if ("chunk" in frame) frame.chunk = fillPlaceholders(frame.chunk, parts);
        if ("error" in frame) frame.error = fillPlaceholders(frame.error, parts);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        problem = e.detail;
      }
    }
    if (problem === null) return this.onFrame(incoming.frame);
    this.refuse(incoming.frame, problem);
  }

  /** A frame whose attachments are wrong: its call fails with a ProtocolError, and only it; the worker serves on. */
  private refuse(frame: Response | Chunk | StreamEnd, detail: string): void {
    const call = frame.id === null ? undefined : this.pending.get(frame.id);
    if (call === undefined) {
      // No call waits for it (late, or unattributed): counted as such, its content unread.
      if ("ok" in frame) this.onResponse(frame);
      else this.counts.late++;
      return;
    }
    this.pending.take(call.id);
    this.counts.failed++;
    call.reject(new ProtocolError({ reason: "invalid_message", detail, workerId: this.id, pid: this.pid }));
    // A stream would go on sending to a call that has ended: the worker is told to stop it.
    if (!("ok" in frame)) this.cancel(call.id);
    if (this.state === "draining") this.checkDrained();
  }

  private onFrame(frame: Response | Chunk | StreamEnd): void {
    if ("ok" in frame) return this.onResponse(frame);
    const call = this.pending.get(frame.id);
    if (call === undefined) {
      // A stream the host gave up on (aborted, past its deadline, a chunk refused) may still be sending.
      if ("end" in frame) this.late(frame.id);
      else this.counts.late++;
      return;
    }
    if (call.sink === undefined) {
      this.violate(new ProtocolError({ reason: "invalid_message", detail: `a stream frame for call ${frame.id} "${call.command}", which is not a stream` }));
      return;
    }
    if ("end" in frame) {
      this.pending.take(frame.id);
      this.counts.succeeded++;
      call.resolve(undefined);
      if (this.state === "draining") this.checkDrained();
      return;
    }
    if (--call.credit! < 0) {
      this.violate(new ProtocolError({ reason: "invalid_message", detail: `stream ${frame.id} "${call.command}" sent more chunks than its credit` }));
      return;
    }
    call.sink.push(frame.chunk);
  }

  /** The consumer of stream `call` took `n` chunks: the worker may send `n` more. */
  private credit(call: PendingCall, n: number): void {
    if (this.pending.get(call.id) !== call || this.proc === null || this.broken) return;
    call.credit! += n;
    this.proc.write(encodeFrame(JSON.stringify({ credit: call.id, n })));
  }

  private onResponse(response: Response): void {
    if (this.state === "handshaking") {
      this.hello = parseHello(response);
      const fd = this.hello.shared_memory;
      // Only memory of the process this host started (not the hello's pid, which any peer may write).
      this.shared = fd === undefined || this.options.sharedMemoryBytes === 0 ? null : SharedRegion.attach(this.pid, fd, this.options.sharedMemoryBytes);
      this.dispatch({ type: "hello.received", now: Date.now() });
      return;
    }
    if (response.id === null) {
      this.counts.unattributed++;
      this.options.onStderr(`worker refused a frame it could not attribute: ${response.ok ? "" : response.error.message}`);
      return;
    }
    const call = this.pending.take(response.id);
    if (call === undefined) return this.late(response.id);
    if (response.ok) {
      this.counts.succeeded++;
      call.resolve(response.result);
    } else {
      this.counts.failed++;
      const err = response.error;
      call.reject(
        new PythonError({ workerId: this.id, pid: this.pid, requestId: call.id, command: call.command, type: err.type, detail: err.message, traceback: err.traceback }),
      );
    }
    if (this.state === "draining") this.checkDrained();
  }

  /** The end of call `id`, which the host no longer waits for. */
  private late(id: number): void {
    // A cancelled call that ended within its grace period: the worker need not be replaced.
    if (this.cancelling.take(id) !== undefined && this.cancelling.size === 0) this.watcher?.(this.state);
    this.counts.late++;
  }

  private violate(error: ProtocolError): void {
    this.broken = true;
    const enriched = new ProtocolError({ reason: error.reason, detail: error.detail, workerId: this.id, pid: this.pid });
    for (const call of this.pending.takeAll()) call.reject(enriched);
    this.dispatch({ type: "protocol.violated", detail: error.detail, now: Date.now() });
  }

  private expire(call: PendingCall): void {
    this.counts.timedOut++;
    call.reject(new WorkerTimeoutError({ workerId: this.id, pid: this.pid, requestId: call.id, command: call.command, timeoutMs: call.timeoutMs }));
    // A heartbeat's miss is counted by the machine; another call past its deadline is cancelled,
    // and overruns only if it keeps running past the grace period (at once on a worker that cannot cancel).
    if (call.id !== this.heartbeatId && !this.cancel(call.id)) this.overran(call.id);
    this.checkDrained();
  }

  /** Tell the worker to cancel call `id`, and start its grace period; false when this worker cannot cancel. */
  private cancel(id: number): boolean {
    if ((this.hello.minor ?? 0) < 1 || this.broken || this.exitInfo !== null || this.proc === null) return false;
    this.counts.cancels++;
    this.cancelling.add({ id, deadline: performance.now() + this.options.cancelGraceMs, release: undefined });
    this.proc.write(encodeFrame(JSON.stringify({ cancel: id })));
    return true;
  }

  private overran(requestId: number): void {
    this.dispatch({ type: "call.overran", requestId, now: Date.now() });
  }

  private checkDrained(): void {
    if (this.state === "draining" && this.pending.size === 0) this.dispatch({ type: "calls.drained", now: Date.now() });
  }

  private sendShutdown(): void {
    const proc = this.proc;
    if (proc === null) return;
    proc.write(encodeFrame(JSON.stringify({ id: this.nextId++, command: "shutdown", args: null })));
    proc.closeStdin();
  }

  private onExit(info: ExitInfo): void {
    this.exitInfo = info;
    // The mapping goes with the last reference to it; the memory, once both processes have let go.
    this.shared = null;
    const stderrTail = this.stderr.tail();
    this.cancelling.takeAll();
    for (const call of this.pending.takeAll()) {
      call.reject(new WorkerExitedError({ workerId: this.id, pid: this.pid, requestId: call.id, command: call.command, ...info, stderrTail, written: true }));
    }
    this.dispatch({ type: "process.exited", exitCode: info.exitCode, signal: info.signal, now: Date.now() });
    clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    this.actor.stop();
    this.resolveExited(info);
  }
}
