// A resolve hook (node:module register) for the suite under Node:
// - "bun:test" is the shim next to it;
// - "molt" and "molt/machines" are the package's entry points, as tsconfig's
//   paths make them for Bun and tsc;
// - molt's own modules (mod.ts, src/, machines/) are their compiled form in
//   dist/, which scripts/node-tests.sh builds first: what the npm package
//   gives Node users, and no type transform of every module in every child
//   process (about 3 s of CPU each).
import { existsSync } from "node:fs";

const repo = new URL("../../", import.meta.url).href;
const shim = new URL("./bun-test.ts", import.meta.url).href;
const entries = { molt: `${repo}mod.ts`, "molt/machines": `${repo}machines/mod.ts` };
const compiled = /^(mod\.ts|(src|machines)\/.+\.ts)$/;

function toDist(url) {
  if (!url.startsWith(repo)) return url;
  const path = url.slice(repo.length);
  if (!compiled.test(path)) return url;
  const js = `${repo}dist/${path.replace(/\.ts$/, ".js")}`;
  return existsSync(new URL(js)) ? js : url;
}

export async function resolve(specifier, context, next) {
  if (specifier === "bun:test") return { url: shim, shortCircuit: true };
  if (Object.hasOwn(entries, specifier)) return { url: toDist(entries[specifier]), shortCircuit: true };
  const resolved = await next(specifier, context);
  return { ...resolved, url: toDist(resolved.url) };
}
