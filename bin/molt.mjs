#!/usr/bin/env node
// The `molt` command of the npm package: the compiled CLI (see src/cli/molt.ts).
// Node 22 flags node:sqlite as experimental and says so on every command; an
// operator's terminal is not the place for it (only that warning is dropped).
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === "string" ? rest[0] : (rest[0]?.type ?? warning?.name);
  if (type === "ExperimentalWarning" && String(warning?.message ?? warning).startsWith("SQLite is an experimental feature")) return;
  return emitWarning.call(process, warning, ...rest);
};
try {
  await import("../dist/src/cli/molt.js");
} catch (e) {
  // An unsupported runtime says so in one line; anything else as it is.
  if (e?._tag !== "UnsupportedRuntimeError") throw e;
  console.error(`error: ${e.message}`);
  process.exitCode = 1;
}
