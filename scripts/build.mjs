// Builds the npm package: the TypeScript sources compiled to JavaScript with
// declarations in dist/ (tsconfig.build.json), and molt's Python runtime
// beside them, where the compiled code looks for it. Runs under Node, Bun or
// Deno; `npm pack` and `npm publish` run it first (prepack).
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
cpSync(`${root}src/python`, `${root}dist/src/python`, { recursive: true, filter: (path) => !path.includes("__pycache__") && !path.endsWith(".pyc") });
// stderr: `npm pack --json` reads stdout.
console.error("built dist/");
