/**
 * Finding the Python interpreter and molt's Python package.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { SpawnFailure } from "./child.ts";
import { signalTree } from "./tree.ts";

/** How long a caller with no start deadline of its own waits for an interpreter to answer. */
const DEFAULT_RESOLVE_TIMEOUT_MS = 30_000;

const resolved = new Map<string, Promise<string>>();

/**
 * The real interpreter behind `python` (`sys.executable`), asked once per
 * name: a shim such as pyenv's adds 50–90 ms to every spawn otherwise.
 * Rejects with a SpawnFailure (code `ETIMEDOUT`) when no answer comes within
 * `timeoutMs`; an interpreter that hangs is killed with what it started.
 */
export function resolvePython(python: string, timeoutMs: number = DEFAULT_RESOLVE_TIMEOUT_MS): Promise<string> {
  let found = resolved.get(python);
  if (found === undefined) {
    const asking = ask(python, timeoutMs);
    found = asking;
    resolved.set(python, asking);
    // The real path answers for itself: a worker given it spawns at once.
    asking.then((path) => void (resolved.has(path) || resolved.set(path, asking)), () => resolved.delete(python));
  }
  return within(found, timeoutMs, python);
}

const notAnswered = (python: string, timeoutMs: number): SpawnFailure =>
  new SpawnFailure("ETIMEDOUT", `python interpreter ${JSON.stringify(python)} did not report sys.executable within ${timeoutMs} ms`);

/** `found`, or a timeout for this caller: a later caller joins a question another asked, with its own deadline. */
function within(found: Promise<string>, timeoutMs: number, python: string): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(notAnswered(python, timeoutMs)), timeoutMs)));
  return Promise.race([found, late]).finally(() => clearTimeout(timer));
}

function ask(python: string, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    // A group of its own, so that a shim that hangs is killed with whatever it started: a child left
    // holding the pipe open would keep the answer from ever coming.
    const child = spawn(python, ["-c", "import sys; print(sys.executable)"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.on("data", (chunk) => out.push(String(chunk)));
    child.stderr.on("data", (chunk) => err.push(String(chunk)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) signalTree(child.pid, "SIGKILL");
    }, timeoutMs);
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === "ENOENT"
          ? new SpawnFailure("ENOENT", `python interpreter ${JSON.stringify(python)} was not found (set the "python" option to a path or a command on PATH)`)
          : new SpawnFailure(error.code ?? "EPYTHON", `python interpreter ${JSON.stringify(python)} could not be started: ${error.message}`),
      );
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const path = out.join("").trim();
      if (code === 0 && path !== "") return resolve(path);
      if (timedOut) return reject(notAnswered(python, timeoutMs));
      const exit = signal === null ? `exit code ${code}` : `killed by ${signal}`;
      reject(new SpawnFailure("EPYTHON", `python interpreter ${JSON.stringify(python)} did not report sys.executable (${exit}): ${err.join("").trim()}`));
    });
  });
}
