/**
 * The webhook and Slack notifiers against a real HTTP receiver on
 * 127.0.0.1: the payload conforms to docs/notifications.schema.json and is
 * signed; failed attempts are retried after growing waits and given up
 * after the limit; a refusal is not retried; a full queue drops the oldest;
 * close() keeps to its deadline; options name what is wrong.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSlackNotifier, createWebhookNotifier, type NotifyError, type RolloutNotice, SIGNATURE_HEADER, signPayload, slackMessage, verifySignature } from "../../mod.ts";
import { repoPath } from "../helpers.ts";
import { schemaErrors } from "./json-schema.ts";
import { type Receiver, refusingUrl, startReceiver } from "./receiver.ts";

const SCHEMA = JSON.parse(readFileSync(repoPath("docs/notifications.schema.json"), "utf8"));

/** A rollout event as the controller makes them. */
export function notice(over: Partial<RolloutNotice> = {}): RolloutNotice {
  return {
    event: "stage.held", rolloutId: "checkout", at: 1_764_600_000_000, state: "active.stage", stage: 2, stages: 5, shareBp: 1000, previousShareBp: 1000,
    elapsedMs: 3_600_000, reason: "v2_error_rate: 0.06 > 0.05", trigger: "rollout", by: null,
    verdict: { verdict: "fail", critical: false, rules: [{ rule: "v2_error_rate", status: "fail" }, { rule: "v2_p99_ms", status: "pass" }], failing: [{ rule: "v2_error_rate", status: "fail", value: 0.06, threshold: 0.05 }] },
    detail: { cause: "failing", failures: 1, rollbackAfter: 2 }, recorded: true, ...over,
  };
}

const receivers: Receiver[] = [];
async function receiver(options: Parameters<typeof startReceiver>[0] = {}): Promise<Receiver> {
  const r = await startReceiver(options);
  receivers.push(r);
  return r;
}
afterEach(async () => void (await Promise.all(receivers.splice(0).map((r) => r.close()))));

describe("webhook notifier", () => {
  test("posts each event as JSON that conforms to the schema, signed with X-Molt-Signature", async () => {
    const r = await receiver();
    const errors: NotifyError[] = [];
    const hook = createWebhookNotifier({ url: r.url, secret: "s3cret", events: "all", headers: { authorization: "Bearer t" }, onError: (e) => errors.push(e) });
    const events = [notice(), notice({ event: "rollout.paused", trigger: "operator", by: "alice", verdict: null, detail: { command: "pause" }, state: "paused" }), notice({ event: "rollback.completed", stage: null, shareBp: 0, verdict: null, detail: { emergency: true, leftInFlight: 0, failedSteps: "" } })];
    for (const e of events) hook.notify(e);
    expect(await hook.close()).toEqual({ queued: 0, delivered: 3, failed: 0, dropped: 0 });
    expect(errors).toEqual([]);
    // In the order they happened.
    expect(r.requests.map((q) => JSON.parse(q.body).event)).toEqual(["stage.held", "rollout.paused", "rollback.completed"]);
    for (const [i, q] of r.requests.entries()) {
      const payload = JSON.parse(q.body);
      expect(schemaErrors(SCHEMA, payload)).toEqual([]);
      expect(payload).toMatchObject({ version: 1, ...events[i], time: new Date(events[i]!.at).toISOString() });
      expect(q.headers["content-type"]).toBe("application/json");
      expect(q.headers["x-molt-event"]).toBe(events[i]!.event);
      expect(q.headers["x-molt-delivery"]).toBe(payload.id);
      expect(q.headers.authorization).toBe("Bearer t");
      const signature = q.headers[SIGNATURE_HEADER.toLowerCase()] as string;
      // Computed here independently, over the bytes as received.
      expect(signature).toBe(`sha256=${createHmac("sha256", "s3cret").update(q.body).digest("hex")}`);
      expect(signPayload("s3cret", q.body)).toBe(signature);
      expect(verifySignature("s3cret", q.body, signature)).toBe(true);
      expect(verifySignature("other", q.body, signature)).toBe(false);
      expect(verifySignature("s3cret", q.body.replace("checkout", "checkouT"), signature)).toBe(false);
    }
    expect(new Set(r.requests.map((q) => JSON.parse(q.body).id)).size).toBe(3);
  });

  test("the schema refuses what is not a payload (the check can fail)", () => {
    const ok = { version: 1, id: "x", time: "2026-12-01T20:00:00.000Z", ...notice() };
    expect(schemaErrors(SCHEMA, ok)).toEqual([]);
    expect(schemaErrors(SCHEMA, { ...ok, event: "stage.moved" })).toEqual([expect.stringContaining("$.event")]);
    expect(schemaErrors(SCHEMA, { ...ok, shareBp: 10_001 })).toEqual(["$.shareBp: 10001 > 10000"]);
    expect(schemaErrors(SCHEMA, { ...ok, extra: 1 })).toEqual(["$: unexpected extra"]);
    expect(schemaErrors(SCHEMA, { ...ok, detail: { nested: {} } })).toEqual(["$.detail.nested: object is not string or number or boolean or null"]);
    const { reason: _, ...noReason } = ok;
    expect(schemaErrors(SCHEMA, noReason)).toEqual(["$: missing reason"]);
  });

  test("unsigned without a secret; only the events asked for are sent", async () => {
    const r = await receiver();
    const hook = createWebhookNotifier({ url: r.url, events: ["rollback.started"] });
    hook.notify(notice());
    hook.notify(notice({ event: "rollback.started", detail: { emergency: false } }));
    await hook.close();
    expect(r.requests.map((q) => JSON.parse(q.body).event)).toEqual(["rollback.started"]);
    expect(r.requests[0]!.headers[SIGNATURE_HEADER.toLowerCase()]).toBeUndefined();
  });

  test("by default every event but window.judged is sent", async () => {
    const r = await receiver();
    const hook = createWebhookNotifier({ url: r.url });
    hook.notify(notice({ event: "window.judged" }));
    hook.notify(notice({ event: "tick.failed", verdict: null }));
    await hook.close();
    expect(r.requests.map((q) => JSON.parse(q.body).event)).toEqual(["tick.failed"]);
  });

  test("5xx answers are retried after doubling waits, then given up after maxAttempts", async () => {
    const r = await receiver({ status: () => 503 });
    const errors: NotifyError[] = [];
    const hook = createWebhookNotifier({ url: r.url, maxAttempts: 4, backoffMs: 40, maxBackoffMs: 100, onError: (e) => errors.push(e) });
    hook.notify(notice());
    expect(await hook.close(10_000)).toEqual({ queued: 0, delivered: 0, failed: 1, dropped: 0 });
    expect(r.requests.length).toBe(4);
    // Waits of 40, 80, then 100 (the cap): each gap is at least its wait (a timer never fires early).
    const gaps = r.requests.slice(1).map((q, i) => q.receivedAt - r.requests[i]!.receivedAt);
    expect(gaps.map((g, i) => g >= [40, 80, 100][i]! - 1)).toEqual([true, true, true]);
    expect(errors.map((e) => [e._tag, e.problem, e.attempts, e.reason])).toEqual([["NotifyError", "gave_up", 4, "HTTP 503"]]);
    // The same delivery every time: a receiver can drop the repeats.
    expect(new Set(r.requests.map((q) => q.headers["x-molt-delivery"])).size).toBe(1);
  });

  test("a refusal (4xx) is final; a later success goes through", async () => {
    const r = await receiver({ status: (n) => (n === 0 ? 400 : n === 1 ? 500 : 200) });
    const errors: NotifyError[] = [];
    const hook = createWebhookNotifier({ url: r.url, backoffMs: 5, onError: (e) => errors.push(e) });
    hook.notify(notice({ event: "rollout.started" }));
    hook.notify(notice({ event: "stage.advanced" }));
    expect(await hook.close()).toEqual({ queued: 0, delivered: 1, failed: 1, dropped: 0 });
    expect(r.requests.map((q) => JSON.parse(q.body).event)).toEqual(["rollout.started", "stage.advanced", "stage.advanced"]);
    expect(errors.map((e) => [e.event, e.problem, e.attempts])).toEqual([["rollout.started", "rejected", 1]]);
  });

  test("a receiver that is down: every attempt is refused, the notifier gives up and says so", async () => {
    const errors: NotifyError[] = [];
    const hook = createWebhookNotifier({ url: await refusingUrl(), maxAttempts: 3, backoffMs: 5, onError: (e) => errors.push(e) });
    hook.notify(notice());
    expect(await hook.close()).toMatchObject({ delivered: 0, failed: 1 });
    expect(errors.map((e) => [e.problem, e.attempts])).toEqual([["gave_up", 3]]);
  });

  test("a slow receiver: an attempt past timeoutMs fails and is retried; close() keeps to its deadline", async () => {
    const r = await receiver({ hold: true });
    const errors: NotifyError[] = [];
    const hook = createWebhookNotifier({ url: r.url, timeoutMs: 50, maxAttempts: 2, backoffMs: 10, onError: (e) => errors.push(e) });
    hook.notify(notice());
    expect(await hook.close(5000)).toMatchObject({ delivered: 0, failed: 1 });
    expect(r.requests.length).toBe(2);
    expect(errors[0]!.reason).toBe("no answer within timeoutMs (50 ms)");

    const slow = await receiver({ hold: true });
    const lost: NotifyError[] = [];
    const patient = createWebhookNotifier({ url: slow.url, timeoutMs: 60_000, onError: (e) => lost.push(e) });
    patient.notify(notice({ event: "rollback.started" }));
    patient.notify(notice({ event: "rollback.completed" }));
    const stats = await patient.close(100);
    // close() returned before the receiver answered anything: the request in flight was abandoned at the deadline.
    expect(slow.answered()).toBe(0);
    expect(stats).toEqual({ queued: 0, delivered: 0, failed: 0, dropped: 2 });
    expect(lost.map((e) => [e.event, e.problem])).toEqual([["rollback.started", "closed"], ["rollback.completed", "closed"]]);
    // A bad deadline is refused and closes nothing.
    const open = createWebhookNotifier({ url: slow.url });
    await expect(open.close(-1)).rejects.toThrow("webhook: close.deadlineMs must be a positive integer of milliseconds");
    expect(await open.close(10)).toEqual({ queued: 0, delivered: 0, failed: 0, dropped: 0 });
    // Closed: later events are dropped at once, and said so.
    patient.notify(notice());
    expect(lost.at(-1)!.problem).toBe("closed");
  });

  test("a full queue drops the oldest event, and says so", async () => {
    const r = await receiver({ hold: true });
    const errors: NotifyError[] = [];
    const hook = createWebhookNotifier({ url: r.url, queueSize: 2, onError: (e) => errors.push(e) });
    for (const event of ["rollout.started", "stage.advanced", "stage.held", "rollout.paused"] as const) hook.notify(notice({ event }));
    // One in flight, two waiting: the second is the oldest waiting, and goes.
    expect(hook.stats()).toEqual({ queued: 3, delivered: 0, failed: 0, dropped: 1 });
    expect(errors.map((e) => [e.event, e.problem])).toEqual([["stage.advanced", "dropped"]]);
    r.release();
    expect(await hook.close()).toEqual({ queued: 0, delivered: 3, failed: 0, dropped: 1 });
    expect(r.requests.map((q) => JSON.parse(q.body).event)).toEqual(["rollout.started", "stage.held", "rollout.paused"]);
  });

  test("options are validated with a ConfigError naming the option, the value and what is allowed", () => {
    expect(() => createWebhookNotifier({ url: "ftp://x" })).toThrow('webhook: url must be an http(s) URL, received "ftp://x"');
    expect(() => createWebhookNotifier({} as never)).toThrow("webhook: url must be an http(s) URL, received undefined");
    expect(() => createWebhookNotifier({ url: "http://x", events: ["stage.moved"] as never })).toThrow(/webhook: events\[0\] must be one of rollout\.started, window\.judged, .*received "stage\.moved"/);
    expect(() => createWebhookNotifier({ url: "http://x", events: "some" as never })).toThrow(/webhook: events must be "all" or a non-empty array of event names/);
    expect(() => createWebhookNotifier({ url: "http://x", secret: "" })).toThrow('webhook: secret must be a non-empty string, received ""');
    expect(() => createWebhookNotifier({ url: "http://x", maxAttempts: 0 })).toThrow("webhook: maxAttempts must be a positive integer, received 0");
    expect(() => createWebhookNotifier({ url: "http://x", backoffMs: 1000, maxBackoffMs: 10 })).toThrow("webhook: maxBackoffMs must be at least backoffMs (1000 ms), received 10");
    expect(() => createSlackNotifier({ url: "http://x", secret: "s" } as never)).toThrow(/slack: secret must be one of the known options/);
  });
});

describe("Slack notifier", () => {
  test("posts { text, blocks } in Block Kit's shape, within its limits", async () => {
    const r = await receiver();
    const slack = createSlackNotifier({ url: r.url, events: "all" });
    slack.notify(notice({ reason: "x".repeat(5000) }));
    slack.notify(notice({ event: "rollback.started", trigger: "operator", by: "alice <ops>", shareBp: 0, previousShareBp: 1000, verdict: null, detail: { emergency: true, command: "emergency_rollback" } }));
    expect(await slack.close()).toMatchObject({ delivered: 2 });
    const [held, rollback] = r.requests.map((q) => JSON.parse(q.body));
    expect(Object.keys(held).sort()).toEqual(["blocks", "text"]);
    expect(held.text).toBe("[molt checkout] stage 2/5 held at 10% (failing)");
    expect(held.blocks.map((b: { type: string }) => b.type)).toEqual(["header", "section", "section", "context"]);
    expect(held.blocks[0]).toEqual({ type: "header", text: { type: "plain_text", text: ":double_vertical_bar: [molt checkout] stage 2/5 held at 10% (failing)", emoji: true } });
    expect(held.blocks[1].text.text.length).toBe(3000);
    expect(held.blocks[2].fields.map((f: { text: string }) => f.text)).toEqual(["*V2 share*\n10% → 10%", "*Stage*\n2 of 5", "*State*\nactive.stage", "*By*\nthe rollout", "*Rules failing*\nv2_error_rate: fail"]);
    expect(rollback.text).toBe("[molt checkout] emergency rollback started: V2 10% → 0%");
    // mrkdwn's markup characters are escaped.
    expect(rollback.blocks[2].fields[3].text).toBe("*By*\noperator alice &lt;ops&gt;");
    for (const m of [held, rollback]) {
      expect(m.blocks[0].text.text.length).toBeLessThanOrEqual(150);
      for (const b of m.blocks) expect(["header", "section", "context"]).toContain(b.type);
    }
  });

  test("every event has a headline", () => {
    for (const event of ["rollout.started", "window.judged", "stage.advanced", "verdict.inconclusive_streak", "rollout.resumed", "rollout.promoted", "rollback.completed", "tick.failed", "tick.recovered", "migration.decommissioned"] as const) {
      expect(slackMessage(notice({ event })).text).toMatch(/^\[molt checkout\] \S/);
    }
    // The longest header there can be (a 64-character id, every rollback step failed) is cut to Block Kit's 150.
    const long = slackMessage(notice({ event: "rollback.completed", rolloutId: "r".repeat(64), detail: { failedSteps: "share_zero,drain_v2,stop_v2,notify" } }));
    const header = long.blocks[0] as { text: { text: string } };
    expect([header.text.text.length, header.text.text.endsWith("…")]).toEqual([150, true]);
    expect(long.text).toContain("(failed steps: share_zero,drain_v2,stop_v2,notify)");
  });
});
