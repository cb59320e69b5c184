// Loaded with `node --import` by scripts/node-tests.sh: the suite is written
// against bun:test, and under Node that module is test/node/bun-test.ts.
import { register } from "node:module";

register("./hooks.mjs", import.meta.url);
