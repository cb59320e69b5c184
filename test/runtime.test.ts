import { expect, test } from "bun:test";
import { checkRuntime, currentRuntime } from "../src/runtime.ts";

test("molt runs on Bun 1.1, Deno 2.2 and Node.js 22.13 / 23.4 or later (node:sqlite); anything else is refused naming itself and what is needed", () => {
  for (const ok of [{ runtime: "Bun", version: "1.1.0" }, { runtime: "Deno", version: "2.2.0" }, { runtime: "Node.js", version: "22.13.0" }, { runtime: "Node.js", version: "23.4.0" }, { runtime: "Node.js", version: "24.1.0" }] as const) {
    expect(() => checkRuntime(ok)).not.toThrow();
  }
  for (const [bad, message] of [
    [{ runtime: "Node.js", version: "20.19.0" }, "molt does not run on Node.js 20.19.0: it needs Node.js 22.13 or later (23.4 or later in 23), Bun 1.1 or later, or Deno 2.2 or later"],
    [{ runtime: "Node.js", version: "22.12.0" }, "molt does not run on Node.js 22.12.0"],
    [{ runtime: "Node.js", version: "23.3.0" }, "molt does not run on Node.js 23.3.0"],
    [{ runtime: "Deno", version: "2.1.9" }, "molt does not run on Deno 2.1.9"],
    [{ runtime: "Bun", version: "1.0.36" }, "molt does not run on Bun 1.0.36"],
  ] as const) {
    expect(() => checkRuntime(bad)).toThrow(message);
  }
  expect(currentRuntime().runtime).toBe(typeof Bun === "undefined" ? "Node.js" : "Bun");
});
