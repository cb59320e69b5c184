/**
 * molt's Python package on disk for the workers' PYTHONPATH: beside the
 * modules for npm and a checkout; fetched once into a cache directory when
 * molt is imported from a URL (JSR), through a real local HTTP server.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PYTHON_FILES, pythonPackageDir } from "../../src/process/python-package.ts";
import { rejection, repoPath } from "../helpers.ts";

const SOURCE = repoPath("src/python");
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "molt-pycache-"));
  dirs.push(dir);
  return dir;
};

/** Serves src/python over HTTP; `missing` files answer 404. Counts the requests. */
async function serve(missing: readonly string[] = []) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url!);
    const file = req.url!.replace(/^\/py\//, "");
    if (missing.some((m) => file.endsWith(m))) return void res.writeHead(404).end();
    try {
      res.end(readFileSync(join(SOURCE, file)));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/py/`);
  return { base, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("molt's Python package", () => {
  test("its file list is the package's files", () => {
    expect([...PYTHON_FILES].sort()).toEqual(readdirSync(join(SOURCE, "molt")).filter((f) => f.endsWith(".py")).sort());
  });

  test("from a file URL it is the directory beside the modules (src/python, or dist/src/python compiled)", async () => {
    const dir = await pythonPackageDir();
    expect([dir.endsWith("/src/python"), existsSync(join(dir, "molt", "worker.py"))]).toEqual([true, true]);
  });

  test("from an HTTP URL it is fetched once into the cache, whole, and Python imports it", async () => {
    const server = await serve();
    const cache = tempDir();
    const [first, again] = await Promise.all([pythonPackageDir(server.base, { MOLT_CACHE_DIR: cache }), pythonPackageDir(server.base, { MOLT_CACHE_DIR: cache })]);
    expect(again).toBe(first);
    expect(first.startsWith(cache)).toBe(true);
    expect(server.requests.length).toBe(PYTHON_FILES.length);
    for (const file of PYTHON_FILES) expect(readFileSync(join(first, "molt", file), "utf8")).toBe(readFileSync(join(SOURCE, "molt", file), "utf8"));
    // Only the copy: no staging directory left behind.
    expect(readdirSync(cache)).toEqual([first.slice(cache.length + 1)]);
    const python = spawnSync("python3", ["-c", "import molt.worker, molt; print(molt.PROTOCOL_VERSION)"], { env: { ...process.env, PYTHONPATH: first }, cwd: "/" });
    expect([python.status, python.stdout.toString().trim()]).toEqual([0, "1"]);
    await server.close();
  });

  test("a copy already in the cache is used without fetching", async () => {
    const server = await serve();
    const cache = tempDir();
    const filled = await pythonPackageDir(server.base, { MOLT_CACHE_DIR: cache });
    await server.close();
    // The server is gone: only the cache can answer.
    expect(await pythonPackageDir(server.base, { MOLT_CACHE_DIR: cache })).toBe(filled);
  });

  test("a file the server does not have is a SpawnFailure naming its URL, nothing is cached, and a later call tries again", async () => {
    const server = await serve(["worker.py"]);
    const cache = tempDir();
    const e = await rejection(pythonPackageDir(server.base, { MOLT_CACHE_DIR: cache }));
    expect(e).toMatchObject({ code: "EPYTHONPKG" });
    expect(e.detail).toContain(`${server.base.href}molt/worker.py: HTTP 404`);
    expect(readdirSync(cache)).toEqual([]);
    const before = server.requests.length;
    await rejection(pythonPackageDir(server.base, { MOLT_CACHE_DIR: cache }));
    expect(server.requests.length).toBeGreaterThan(before);
    await server.close();
  });

  test("an unwritable cache is a SpawnFailure that says to set MOLT_CACHE_DIR", async () => {
    const server = await serve();
    // Under a file: no one, not even root, can make a directory there.
    const e = await rejection(pythonPackageDir(server.base, { MOLT_CACHE_DIR: "/dev/null/molt" }));
    expect(e).toMatchObject({ code: "EPYTHONPKG" });
    expect(e.detail).toContain("set MOLT_CACHE_DIR to a writable directory");
    await server.close();
  });
});
