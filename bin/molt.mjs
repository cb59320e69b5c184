#!/usr/bin/env node
// The `molt` command of the npm package: the compiled CLI (see src/cli/molt.ts).
// Node 22 flags node:sqlite as experimental and says so on every command; an
// operator's terminal is not the place for it (only that warning is dropped).
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) =>
  String(warning?.message ?? warning).startsWith("SQLite is an experimental feature") ? undefined : emitWarning.call(process, warning, ...rest);
await import("../dist/src/cli/molt.js");
