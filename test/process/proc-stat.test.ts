/**
 * isRunning: a process that runs, one that is gone, and a zombie (exited,
 * not reaped by its parent), which signal 0 still finds but which runs no
 * more: a check that a stopped worker or exercise process is gone must not
 * wait on it.
 */
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { isRunning, procStat } from "../../src/process/proc-stat.ts";

test("this process runs; a pid that was never given out and a bad pid do not", () => {
  expect(isRunning(process.pid)).toBe(true);
  expect(isRunning(2 ** 22 + 1)).toBe(false);
  expect(isRunning(0)).toBe(false);
  expect(isRunning(-1)).toBe(false);
  expect(isRunning(Number.NaN)).toBe(false);
});

test.if(process.platform === "linux")("a zombie child does not run, though signal 0 still reaches it", async () => {
  // The parent forks a child that exits at once and is never waited for, prints its pid, and sleeps.
  const parent = spawn("python3", ["-c", "import os, sys, time\npid = os.fork()\nif pid == 0:\n    os._exit(3)\nprint(pid, flush=True)\ntime.sleep(30)"], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once("data", (d: Buffer) => resolve(String(d).trim()))));
    for (let i = 0; i < 100 && procStat(zombie)?.state !== "Z"; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(procStat(zombie)?.state).toBe("Z");
    expect(procStat(zombie)?.ppid).toBe(parent.pid!);
    expect(() => process.kill(zombie, 0)).not.toThrow();
    expect(isRunning(zombie)).toBe(false);
    expect(isRunning(parent.pid!)).toBe(true);
  } finally {
    parent.kill("SIGKILL");
    await new Promise((resolve) => parent.once("exit", resolve));
  }
  expect(isRunning(parent.pid!)).toBe(false);
});
