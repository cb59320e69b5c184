// A resolve hook (node:module register) for the suite under Node: "bun:test"
// is the shim next to it, and "molt" is the repository's sources, as
// tsconfig's paths make it for Bun and tsc (the package's own exports point
// at dist/, which a test run does not build).
const shim = new URL("./bun-test.ts", import.meta.url).href;
const sources = {
  molt: new URL("../../mod.ts", import.meta.url).href,
  "molt/machines": new URL("../../machines/mod.ts", import.meta.url).href,
};

export async function resolve(specifier, context, next) {
  if (specifier === "bun:test") return { url: shim, shortCircuit: true };
  if (Object.hasOwn(sources, specifier)) return { url: sources[specifier], shortCircuit: true };
  return next(specifier, context);
}
