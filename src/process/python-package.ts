/**
 * Where molt's Python package (`src/python/molt`) is on disk, for the
 * workers' PYTHONPATH.
 *
 * Installed from npm or run from a checkout, it sits next to this module.
 * Imported from JSR (or any URL), the modules are not files: the package is
 * then fetched once, from beside this module, into a cache directory per
 * molt version and written there atomically, so that concurrent processes
 * never see half of it.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MOLT_VERSION } from "../version.ts";
import { SpawnFailure } from "./child.ts";

/** The package's files (test/process/python-package.test.ts keeps this equal to the directory). */
export const PYTHON_FILES: readonly string[] = [
  "__init__.py", "async_runner.py", "attachments.py", "bucket.py", "builtins.py", "context.py", "framing.py", "held_answers.py", "inject.py", "loader.py", "programs.py", "registry.py", "shared_ring.py", "worker.py",
];

/** The cache directory for fetched copies: `$MOLT_CACHE_DIR`, else `$XDG_CACHE_HOME/molt`, else `~/.cache/molt`. */
function cacheRoot(env: NodeJS.ProcessEnv): string {
  return env.MOLT_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "molt");
}

async function fetchInto(base: URL, env: NodeJS.ProcessEnv): Promise<string> {
  const root = cacheRoot(env);
  // The source URL is in the name: a copy from one registry or version is never taken for another's.
  const key = `${MOLT_VERSION}-${Buffer.from(base.href).toString("base64url").slice(-40)}`;
  const dir = join(root, `python-${key}`);
  try {
    if (PYTHON_FILES.every((f) => readdirSync(join(dir, "molt")).includes(f))) return dir;
  } catch {
    // Not there yet.
  }
  const texts = await Promise.all(PYTHON_FILES.map(async (file) => {
    const url = new URL(`molt/${file}`, base);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new SpawnFailure("EPYTHONPKG", `could not fetch molt's Python package from ${url.href}: ${(e as Error).message}`);
    }
    if (!response.ok) throw new SpawnFailure("EPYTHONPKG", `could not fetch molt's Python package from ${url.href}: HTTP ${response.status}`);
    return [file, await response.text()] as const;
  }));
  try {
    mkdirSync(root, { recursive: true });
    const staging = mkdtempSync(join(root, ".python-"));
    mkdirSync(join(staging, "molt"));
    for (const [file, text] of texts) writeFileSync(join(staging, "molt", file), text);
    try {
      renameSync(staging, dir);
    } catch {
      // Another process put its copy there first: the same files, so take that one.
      rmSync(staging, { recursive: true, force: true });
    }
  } catch (e) {
    throw new SpawnFailure("EPYTHONPKG", `could not write molt's Python package under ${root} (set MOLT_CACHE_DIR to a writable directory): ${(e as Error).message}`);
  }
  return dir;
}

/** Fetches under way, so that workers starting together fetch once; the cache on disk answers later calls. */
const fetching = new Map<string, Promise<string>>();

/**
 * The directory to put on PYTHONPATH so that `import molt` finds molt's
 * Python package; `base` is the URL of the folder holding `molt/`. Rejects
 * with a SpawnFailure when a remote copy cannot be fetched or written.
 */
export function pythonPackageDir(
  base: URL = new URL("../python/", import.meta.url),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (base.protocol === "file:") return Promise.resolve(fileURLToPath(base).replace(/\/$/, ""));
  const key = `${cacheRoot(env)}\n${base.href}`;
  let dir = fetching.get(key);
  if (dir === undefined) {
    dir = fetchInto(base, env);
    fetching.set(key, dir);
    const done = () => void fetching.delete(key);
    dir.then(done, done);
  }
  return dir;
}
