/**
 * A rollout whose process is killed with SIGKILL mid-stage resumes, in a new
 * process, the same stage with the elapsed time it had — the time it was
 * down does not count — and the flags still say that stage's share.
 */
import { afterAll, expect, test } from "bun:test";
import { createFlags, openStore } from "../../mod.ts";
import { type Child, fixture, killChildren, lines, sleep, spawnChild, tsCommand } from "../helpers.ts";
import { BACKENDS } from "../store/backends.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => (killChildren(), sqlite.cleanup()));

test("kill -9 mid-stage, start again: same stage, same elapsed time, downtime not counted", async () => {
  const url = sqlite.fresh();
  const children: Child[] = [];
  const spawn = () => {
    const child = spawnChild(tsCommand(fixture("rollout-runner.ts"), url), { stderr: "inherit" });
    children.push(child);
    return child as typeof child & { stdout: ReadableStream<Uint8Array> };
  };
  try {

  const first = spawn();
  let lastElapsed = 0;
  let ticks = 0;
  const firstLines = lines(first.stdout);
  expect((await firstLines.next()).value).toBe("restored new null 0");
  for await (const line of firstLines) {
    const [, stage, elapsed] = line.split(" ");
    expect(stage).toBe("1");
    lastElapsed = Number(elapsed);
    if (++ticks >= 8 && lastElapsed >= 400) break;
  }
  first.kill("SIGKILL");
  await first.exited;
  const downMs = 1500;
  await sleep(downMs);

  const second = spawn();
  const secondLines = lines(second.stdout);
  const [, kind, stage, elapsed] = ((await secondLines.next()).value as string).split(" ");
  expect([kind, stage]).toEqual(["existing", "1"]);
  // What the last printed tick had, less the few ms between its judgement and its printing (a later
  // tick may also have been journaled before the kill), and far less than if the time down had counted.
  expect(Number(elapsed)).toBeGreaterThanOrEqual(lastElapsed - 50);
  expect(Number(elapsed)).toBeLessThan(lastElapsed + downMs / 2);
  const next = ((await secondLines.next()).value as string).split(" ");
  expect(next[1]).toBe("1");
  second.kill("SIGKILL");
  await second.exited;

  const store = await openStore(url);
  const flags = await createFlags({ store, env: {} });
  expect([flags.get("pool_v2_enabled"), flags.share()]).toEqual([true, 5000]);
  const kinds = (await store.decisions.list("crash")).map((d) => d.kind);
  expect(kinds.filter((k) => k === "restored").length).toBe(1);
  await flags.close();
  await store.close();
  } finally {
    for (const child of children) child.kill("SIGKILL");
  }
}, 60_000);
