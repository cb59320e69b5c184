/**
 * molt imported from a URL, as Deno takes it from JSR: the files
 * deno.json's `publish` would upload, served over HTTP on 127.0.0.1 (and
 * nothing else of the repository), the npm dependencies mapped to `npm:`
 * specifiers as JSR rewrites them. A worker starts and answers: its Python
 * package is fetched from beside the modules into MOLT_CACHE_DIR. (Reading
 * the package beside the modules as a file path threw at import.)
 */
import { expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoPath, spawnChild } from "./helpers.ts";

/** deno.json's publish.include patterns as regular expressions (the forms it uses: `dir/*.ext`, `dir/**` + `/*.ext`, a file). */
function published(): (path: string) => boolean {
  const { publish } = JSON.parse(readFileSync(repoPath("deno.json"), "utf8")) as { publish: { include: string[]; exclude: string[] } };
  const toRe = (glob: string) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\//g, "(?:.+/)?").replace(/\*/g, "[^/]*")}$`);
  const include = publish.include.map(toRe);
  const exclude = publish.exclude.map(toRe);
  return (path) => include.some((re) => re.test(path)) && !exclude.some((re) => re.test(path));
}

test("under Deno from a URL: a worker starts, its Python package fetched into the cache", async () => {
  const isPublished = published();
  const served: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, "http://x").pathname).slice(1);
    if (!isPublished(path) || path.includes("..")) return void res.writeHead(404).end();
    served.push(path);
    const type = path.endsWith(".ts") ? "application/typescript" : "text/plain";
    res.writeHead(200, { "content-type": type }).end(readFileSync(repoPath(path)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const app = mkdtempSync(join(tmpdir(), "molt-remote-"));
  try {
    const { dependencies } = JSON.parse(readFileSync(repoPath("package.json"), "utf8")) as { dependencies: Record<string, string> };
    const imports = Object.fromEntries(Object.entries(dependencies).flatMap(([name, version]) => [[name, `npm:${name}@${version}`], [`${name}/`, `npm:/${name}@${version}/`]]));
    writeFileSync(join(app, "import-map.json"), JSON.stringify({ imports }));
    copyFileSync(repoPath("examples/summarizer.py"), join(app, "handler.py"));
    writeFileSync(join(app, "app.ts"), [
      `import { spawnWorker } from "${origin}/mod.ts";`,
      `const worker = await spawnWorker({ handler: "./handler.py" });`,
      `console.log(JSON.stringify(await worker.call("summarize", { text: "one two three" })));`,
      `await worker.stop();`,
    ].join("\n"));
    const cache = join(app, "cache");
    const child = spawnChild([repoPath("node_modules/.bin/deno"), "run", `--reload=${origin}/`, "--import-map", "import-map.json", "--allow-all", "app.ts"], {
      cwd: app, env: { ...process.env, MOLT_CACHE_DIR: cache, NO_COLOR: "1" },
    });
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ code, out: out.trim(), err: code === 0 ? "" : err.slice(-2000) }).toEqual({ code: 0, out: '{"summary":"one two three","words":3}', err: "" });
    expect(served).toContain("src/python/molt/worker.py");
    const [copy] = readdirSync(cache);
    expect(readdirSync(join(cache, copy!, "molt")).sort()).toEqual(readdirSync(repoPath("src/python/molt")).filter((f) => f.endsWith(".py")).sort());
  } finally {
    server.close();
    rmSync(app, { recursive: true, force: true });
  }
}, 180_000);
