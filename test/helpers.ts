import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { Readable, type Writable } from "node:stream";
import { fileURLToPath } from "node:url";

/** Absolute path of a file under test/fixtures. */
export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Absolute path from the repository root. */
export const repoPath = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));

/**
 * Run one of test/python/'s unittest scripts with python3: its exit status, and its report (stderr) when it
 * failed, so that an assertion on both shows which Python test failed and why.
 */
export function pythonTests(script: string): { status: number | null; stderr: string } {
  const proc = spawnSync("python3", [repoPath(`test/python/${script}`)]);
  return { status: proc.status, stderr: proc.status === 0 ? "" : proc.stderr.toString() };
}

/**
 * The default timeout of a file whose tests start real processes (`setDefaultTimeout`): Bun's 5 s was passed by
 * tests that take 1-2 s alone (a worker started and stopped, a CLI run, a Python test script) when CI ran them
 * beside the Node suite on a loaded machine.
 */
export const PROCESS_TEST_TIMEOUT_MS = 30_000;

/** True while `pid` is a live process (a zombie counts as gone): molt's own check. */
export { isRunning as pidAlive } from "../src/process/proc-stat.ts";

/** Poll `check` every 10 ms until it is true or `ms` pass; returns its last value. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Run `fn` and return what it rejected with (fails the test if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { _tag?: string } & Record<string, unknown>> {
  try {
    await promise;
  } catch (e) {
    return e as Error & { _tag?: string } & Record<string, unknown>;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Bytes of a vector part, as in test/spec/protocol/frames.json. */
export function partBytes(part: { frame?: string; header?: number; text?: string; hex?: string }): Uint8Array {
  const enc = new TextEncoder();
  if (part.frame !== undefined) {
    const body = enc.encode(part.frame);
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(body, 4);
    return out;
  }
  if (part.header !== undefined) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, part.header);
    return out;
  }
  if (part.text !== undefined) return enc.encode(part.text);
  return Uint8Array.from(Buffer.from(part.hex!, "hex"));
}

/**
 * What reads a worker's raw frames (a Deframer's callback): each JSON
 * answer goes to `onAnswer` once the raw frames it announces in
 * "attachments" (protocol minor 3) have come, with those in place of the
 * lengths, in hex.
 */
export function answerReader(onAnswer: (answer: Record<string, unknown>) => void): (payload: Uint8Array) => void {
  let attaching: { attachments: string[] } | null = null;
  let due = 0;
  return (payload) => {
    if (attaching !== null) {
      attaching.attachments.push(Buffer.from(payload).toString("hex"));
      if (--due > 0) return;
      const whole = attaching as unknown as Record<string, unknown>;
      attaching = null;
      return onAnswer(whole);
    }
    const answer = JSON.parse(new TextDecoder().decode(payload));
    due = answer.attachments?.length ?? 0;
    if (due === 0) return onAnswer(answer);
    attaching = Object.assign(answer, { attachments: [] });
  };
}

export const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

/** A seeded pseudo-random sequence in [0, 1), so that a failing run can be replayed. */
export function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Lines of a child's stdout, as they come. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk);
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
    }
  }
}

/**
 * The command that runs a TypeScript file with the runtime running the
 * suite: Bun, or Node with the flags scripts/node-tests.sh gave it (a
 * program of molt's own under src/ runs compiled, from dist/, under Node).
 */
export const tsCommand = (script: string, ...args: string[]): string[] => {
  // Under Node molt runs compiled, as its npm package gives it (scripts/node-tests.sh builds dist/): a
  // program of molt's own (the CLI) starts from dist/ in 1.1 s instead of 1.8 s through the type transform.
  const compiled = underNode && script.startsWith(SRC) ? `${DIST}${script.slice(SRC.length, -3)}.js` : null;
  if (compiled !== null && existsSync(compiled)) return [process.execPath, compiled, ...args];
  // Not the test runner's own flags: the child is a program, not a test file.
  return [process.execPath, ...process.execArgv.filter((a) => !a.startsWith("--test")), script, ...args];
};
const underNode = (globalThis as { Bun?: unknown }).Bun === undefined && (globalThis as { Deno?: unknown }).Deno === undefined;
const SRC = repoPath("src/");
const DIST = repoPath("dist/src/");

/** A child process started by {@link spawnChild}. */
export interface Child {
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Its exit code, or 128 + the signal's number when a signal ended it. */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

/** Children of {@link spawnChild} still running. */
const live = new Set<number>();

/**
 * SIGKILL every child {@link spawnChild} started that still runs: a file
 * whose children outlive a test that timed out calls it in afterAll, since
 * neither runtime ends them (Node's --test-force-exit and Bun's runner exit
 * without the 'exit' event a listener could use).
 */
export function killChildren(): void {
  for (const pid of live) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
  live.clear();
}

/** Start `command` with piped stdio, under Bun and Node alike. */
export function spawnChild(
  command: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: "pipe" | "ignore"; stderr?: "pipe" | "inherit" } = {},
): Child {
  const [file, ...args] = command;
  const child = spawn(file!, args, { cwd: options.cwd, env: options.env, stdio: [options.stdin ?? "ignore", "pipe", options.stderr ?? "pipe"] });
  if (child.pid !== undefined) live.add(child.pid);
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", () => live.delete(child.pid!));
    child.once("close", (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });
  const web = (stream: Readable | null): ReadableStream<Uint8Array> =>
    stream === null ? new ReadableStream({ start: (c) => c.close() }) : (Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>);
  return {
    pid: child.pid ?? 0,
    stdin: child.stdin,
    stdout: web(child.stdout),
    stderr: web(child.stderr),
    exited,
    kill: (signal) => void child.kill(signal),
  };
}

/** Resolve after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
