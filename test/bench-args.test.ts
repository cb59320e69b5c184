// The benches' flag parsing: an absent flag gives the default (it once gave
// NaN, so `npm run bench:pool` without --rounds ran no round at all).
import { afterEach, expect, test } from "bun:test";
import { numberFlag } from "../bench/args.ts";

const argv = process.argv;
afterEach(() => void (process.argv = argv));

test("an absent flag gives the default, a present one its value", () => {
  process.argv = ["/usr/bin/bun", "bench/pool.bench.ts"];
  expect(numberFlag("--rounds", 5)).toBe(5);
  process.argv = ["/usr/bin/bun", "bench/pool.bench.ts", "--rounds", "3"];
  expect(numberFlag("--rounds", 5)).toBe(3);
});

test("a flag without a positive number is refused, naming it", () => {
  process.argv = ["/usr/bin/bun", "bench/pool.bench.ts", "--rounds"];
  expect(() => numberFlag("--rounds", 5)).toThrow("--rounds must be a positive number, received undefined");
});
