import { expect, test } from "bun:test";
import { checkRuntime, currentRuntime } from "../src/runtime.ts";

test("molt runs on Bun, Deno 2 and Node.js 22.13 or later; anything else is refused naming itself and what is needed", () => {
  for (const ok of [{ runtime: "Bun", version: "1.1.0" }, { runtime: "Deno", version: "2.0.0" }, { runtime: "Node.js", version: "22.13.0" }, { runtime: "Node.js", version: "24.1.0" }] as const) {
    expect(() => checkRuntime(ok)).not.toThrow();
  }
  for (const [bad, message] of [
    [{ runtime: "Node.js", version: "20.19.0" }, "molt does not run on Node.js 20.19.0: it needs Node.js 22.13 or later, Bun, or Deno 2"],
    [{ runtime: "Node.js", version: "22.12.0" }, "molt does not run on Node.js 22.12.0"],
    [{ runtime: "Deno", version: "1.46.3" }, "molt does not run on Deno 1.46.3"],
  ] as const) {
    expect(() => checkRuntime(bad)).toThrow(message);
  }
  expect(currentRuntime().runtime).toBe("Bun");
});
