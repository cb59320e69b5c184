/**
 * Finding the Python interpreter and molt's Python package.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SpawnFailure } from "./child.ts";

/** The directory holding the `molt` Python package, for PYTHONPATH. */
export const PYTHON_PACKAGE_DIR: string = fileURLToPath(new URL("../python", import.meta.url));

const resolved = new Map<string, Promise<string>>();

/**
 * The real interpreter behind `python` (`sys.executable`), asked once per
 * name: a shim such as pyenv's adds 50–90 ms to every spawn otherwise.
 */
export function resolvePython(python: string): Promise<string> {
  let found = resolved.get(python);
  if (found === undefined) {
    found = new Promise<string>((resolve, reject) => {
      execFile(python, ["-c", "import sys; print(sys.executable)"], { timeout: 30_000 }, (error, stdout, stderr) => {
        const path = String(stdout).trim();
        if (error === null && path !== "") return resolve(path);
        const code = (error as NodeJS.ErrnoException | null)?.code;
        reject(
          new SpawnFailure(
            typeof code === "string" ? code : "EPYTHON",
            code === "ENOENT"
              ? `python interpreter ${JSON.stringify(python)} was not found (set the "python" option to a path or a command on PATH)`
              : `python interpreter ${JSON.stringify(python)} did not report sys.executable: ${error?.message ?? ""} ${String(stderr).trim()}`,
          ),
        );
      });
    });
    resolved.set(python, found);
    found.catch(() => resolved.delete(python));
  }
  return found;
}
