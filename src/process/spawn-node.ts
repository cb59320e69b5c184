/**
 * node:child_process behind the SpawnedProcess shape: used under Deno and Node
 * (it measured as fast as Deno.Command under Deno).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { afterOutput, SpawnFailure, type SpawnedProcess, type SpawnSpec } from "./child.ts";
import type { ExitInfo } from "../errors.ts";

/** Spawn with node:child_process; resolves once the process has started. */
export function spawnNode(spec: SpawnSpec): Promise<SpawnedProcess> {
  const [file, ...args] = spec.argv;
  const child = spawn(file!, args, { cwd: spec.cwd, env: { ...spec.env }, stdio: ["pipe", "pipe", "pipe"] });
  const exit = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => resolve({ exitCode: code, signal }));
  });
  const stdoutEnded = new Promise<void>((resolve) => {
    child.stdout.on("data", spec.onStdout);
    child.stdout.once("close", resolve);
    child.stdout.on("error", () => resolve());
  });
  child.stderr.on("data", spec.onStderr);
  child.stderr.on("error", () => {});
  let open = true;
  // EPIPE after the child died is reported through the exit, not as an unhandled error.
  child.stdin.on("error", () => (open = false));
  return new Promise<SpawnedProcess>((resolve, reject) => {
    child.once("error", (e: NodeJS.ErrnoException) => reject(new SpawnFailure(e.code ?? "ESPAWN", e.message)));
    child.once("spawn", () =>
      resolve({
        pid: child.pid!,
        write(bytes) {
          if (open) child.stdin.write(bytes);
        },
        closeStdin() {
          open = false;
          child.stdin.end();
        },
        exited: afterOutput(exit, stdoutEnded),
      }));
  });
}
