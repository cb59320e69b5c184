import { describe, expect, test } from "bun:test";
import { attachStatsd, EventBus, RolloutEventStream, type RolloutNotice } from "../../mod.ts";
import { waitFor } from "../helpers.ts";
import { udpReceiver } from "./udp-receiver.ts";

const receiver = udpReceiver();
const lines = receiver.lines;

function notice(over: Partial<RolloutNotice>): RolloutNotice {
  return {
    event: "window.judged", rolloutId: "checkout", at: 0, state: "active.stage", stage: 2, stages: 5, shareBp: 1000, previousShareBp: 1000, elapsedMs: 90_000,
    reason: "", trigger: "rollout", by: null, verdict: null, detail: {}, recorded: true, ...over,
  };
}

/** Send `events` through a sink with prefix and tags, and the lines that arrived once it closed. */
async function sent(events: readonly RolloutNotice[]): Promise<string[]> {
  lines.length = 0;
  const rollouts = new RolloutEventStream();
  const sink = attachStatsd(new EventBus(), { port: receiver.port(), prefix: "test.", tags: { node: "n1" }, rollouts });
  for (const e of events) rollouts.emit(e);
  await sink.close();
  // Unsubscribed: nothing after close is sent.
  rollouts.emit(notice({ rolloutId: "after-close" }));
  await waitFor(() => lines.some((l) => l.includes("event:")), 2000);
  await new Promise((r) => setTimeout(r, 50));
  return [...lines];
}

describe("rollout metrics over a real UDP socket on 127.0.0.1", () => {
  test("a judgement: share, stage, time in stage, the verdict and each rule by outcome, with the sink's prefix and tags and rollout:<id>", async () => {
    const got = await sent([notice({
      event: "stage.held",
      verdict: { verdict: "fail", critical: false, rules: [{ rule: "v2_error_rate", status: "fail" }, { rule: "v2_p99_ms", status: "pass" }, { rule: "v2_cpu_percent", status: "insufficient" }], failing: [] },
    })]);
    expect(got.sort()).toEqual([
      "test.rollout.events:1|c|#node:n1,rollout:checkout,event:stage.held",
      "test.rollout.held:0|g|#node:n1,rollout:checkout",
      "test.rollout.judgements:1|c|#node:n1,rollout:checkout,verdict:fail",
      "test.rollout.rules:1|c|#node:n1,rollout:checkout,rule:v2_cpu_percent,outcome:insufficient",
      "test.rollout.rules:1|c|#node:n1,rollout:checkout,rule:v2_error_rate,outcome:fail",
      "test.rollout.rules:1|c|#node:n1,rollout:checkout,rule:v2_p99_ms,outcome:pass",
      "test.rollout.share_bp:1000|g|#node:n1,rollout:checkout",
      "test.rollout.stage:2|g|#node:n1,rollout:checkout",
      "test.rollout.stage_elapsed_ms:90000|g|#node:n1,rollout:checkout",
    ]);
  });

  test("rollbacks by trigger, operator commands by command, the stage outside the stages", async () => {
    const got = await sent([
      notice({ event: "rollout.paused", trigger: "operator", state: "paused", detail: { command: "pause" } }),
      notice({ event: "rollout.started", trigger: "operator", stage: 1, shareBp: 500, previousShareBp: 0, elapsedMs: 0 }),
      notice({ event: "rollback.started", trigger: "operator", stage: null, shareBp: 0, state: "rollingBack", detail: { emergency: true, command: "emergency_rollback" } }),
      notice({ event: "rollback.started", trigger: "rollout", rolloutId: "search", stage: null, shareBp: 0, state: "rollingBack", detail: { emergency: false, critical: true } }),
      notice({ event: "rollout.promoted", trigger: "rollout", rolloutId: "search", stage: null, shareBp: 10_000 }),
    ]);
    const of = (name: string): string[] => got.filter((l) => l.startsWith(`test.rollout.${name}:`));
    expect(of("operator_commands")).toEqual([
      "test.rollout.operator_commands:1|c|#node:n1,rollout:checkout,command:pause",
      "test.rollout.operator_commands:1|c|#node:n1,rollout:checkout,command:start",
      "test.rollout.operator_commands:1|c|#node:n1,rollout:checkout,command:emergency_rollback",
    ]);
    expect(of("rollbacks")).toEqual([
      "test.rollout.rollbacks:1|c|#node:n1,rollout:checkout,trigger:operator,emergency:true",
      "test.rollout.rollbacks:1|c|#node:n1,rollout:search,trigger:rollout,emergency:false",
    ]);
    // 0 outside the stages, stages + 1 at 100%.
    expect(of("stage").slice(2)).toEqual(["test.rollout.stage:0|g|#node:n1,rollout:checkout", "test.rollout.stage:0|g|#node:n1,rollout:search", "test.rollout.stage:6|g|#node:n1,rollout:search"]);
    expect(of("share_bp").at(-1)).toBe("test.rollout.share_bp:10000|g|#node:n1,rollout:search");
    // An operator's command is not a judgement.
    expect(of("judgements")).toEqual([]);
    expect(got.some((l) => l.includes("after-close"))).toBe(false);
  });

  test("rollout.held is 1 from the tick that holds and 0 again at the next tick that judges: a process restarted while held puts its gauge right", async () => {
    const got = await sent([
      notice({ event: "tick.failed", detail: { consecutive: 1, holding: false } }),
      notice({ event: "tick.failed", detail: { consecutive: 2, holding: true } }),
      notice({ event: "tick.failed", detail: { consecutive: 3, holding: false } }),
      notice({ event: "tick.recovered", detail: { failures: 3 } }),
      // A new process knows of no hold: its first judgement says 0 all the same.
      notice({ event: "window.judged", rolloutId: "search" }),
    ]);
    expect(got.filter((l) => l.startsWith("test.rollout.held:"))).toEqual([
      "test.rollout.held:1|g|#node:n1,rollout:checkout",
      "test.rollout.held:0|g|#node:n1,rollout:checkout",
      "test.rollout.held:0|g|#node:n1,rollout:search",
    ]);
  });

  test("rollouts must be a RolloutEventStream", () => {
    expect(() => attachStatsd(new EventBus(), { rollouts: new EventBus() as never })).toThrow("statsd: rollouts must be a RolloutEventStream, received EventBus {");
  });
});
