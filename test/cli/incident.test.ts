/**
 * `molt incident` and `molt report --postmortem` on the record of a real
 * migration (real pools, a SQLite file, a simulated clock) whose V2 fails
 * 1 call in 25: the messages carry the times, who, why, V2's share and the
 * calls the test counted itself; "resolved" is refused while V2 still
 * serves a failing share with an emergency rollback not yet applied, and
 * accepted once it is; a record with no incident, an unknown migration and
 * bad option values are refused. The detection and mitigation rules are
 * checked again on records written through the library.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { openStore, PythonError, requestEmergencyRollback } from "../../mod.ts";
import { incidentMessage, type IncidentFields } from "../../src/migration/incident-messages.ts";
import { readIncident } from "../../src/migration/incident.ts";
import { type Postmortem, postmortemReport } from "../../src/migration/postmortem.ts";
import { rejection, waitFor } from "../helpers.ts";
import { MIN, setup, v2Options } from "../migration/helpers.ts";
import { QUICK_PLAN } from "../rollout/helpers.ts";
import { BACKENDS } from "../store/backends.ts";
import { cli } from "./helpers.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

const T0 = 5_000_000;
const at = (ms: number): string => new Date(T0 + ms).toISOString().replace(".000Z", "Z");

test("the messages and the post-mortem of a real incident: paused by alice, rolled back in an emergency by bob", async () => {
  const url = sqlite.fresh();
  // V2 fails 1 call in 25 (4%): over the 2% allowed, under the 10% that rolls back at once; two failures in a row would roll back.
  const m = await setup(url, v2Options("some_errors"), { rollout: { plan: QUICK_PLAN, thresholds: { minCalls: 20, criticalMinCalls: 10, maxErrorRate: 0.02 } } });
  const counted = { v1: { calls: 0, failed: 0 }, v2: { calls: 0, failed: 0 } };
  let session = 0;
  const tally = (n: number) =>
    Promise.all(Array.from({ length: n }, async () => {
      try {
        const r = await m.migration.router!.execute<{ arm: "v1" | "v2" }>("tally", {}, { sessionId: `s${session++}` });
        counted[r.arm].calls++;
      } catch (e) {
        const arm = (e as PythonError).workerId.startsWith("v2") ? "v2" : "v1";
        counted[arm].calls++;
        counted[arm].failed++;
      }
    }));
  let closed = false;
  try {
    await m.migration.run();
    // Started, nothing wrong yet: nothing to announce.
    expect(incidentMessage(await readIncident(m.store, "migration"), "notice")).toEqual({
      refused: 'no incident in the record of migration "migration": no rollback, pause, hold or operator command was recorded (1 decisions; no judgement failed); nothing to announce',
    });

    m.advance(MIN);
    await tally(80);
    await m.migration.tick();
    m.advance(MIN / 2);
    await m.migration.pause("V2 errors on the checkout page", { by: "alice" });
    m.advance(MIN);
    await tally(80);
    await m.migration.tick();
    // Paused at 50% with its latest judgement failed: not resolved, and it says why.
    const open = await cli(url, "incident", "resolved");
    expect([open.code, open.out]).toEqual([1, ""]);
    expect(open.err.split("\n")).toEqual([
      'error: migration "migration" is not resolved: still open:',
      expect.stringMatching(new RegExp(`^  - V2 still serves 50% and its latest judgement \\(${at(2.5 * MIN)}\\) failed: v2_error_rate fail: 0\\.\\d+ vs 0\\.02$`)),
      'send "molt incident update" until these are closed',
      "",
    ]);
    m.advance(MIN);
    // What `molt rollback --emergency` does: share 0 in the store, the rollback queued for the application.
    await requestEmergencyRollback(m.store, "migration", { by: "bob", reason: "SEV2: checkout fails" });
    // Every router sends V2 nothing now, but the rollback is not applied: still open.
    const mid = incidentMessage(await readIncident(m.store, "migration", T0 + 3.5 * MIN), "update") as { text: string; fields: IncidentFields };
    expect(mid.fields).toMatchObject({
      status: "mitigating", mitigatedAt: at(1.5 * MIN), shareZeroAt: at(3.5 * MIN), state: { rollout: "paused", v2ShareBp: 0 },
      open: [`command 1 (emergency_rollback, requested by bob at ${at(3.5 * MIN)}) is pending: the application has not applied it`],
    });
    expect(mid.fields.latest).toEqual({ at: at(3.5 * MIN), what: "command emergency_rollback (pending)", who: "bob", automatic: false, why: "SEV2: checkout fails" });
    expect(mid.text).toContain("The rollout is paused at 50% (migration: rollout); V2 serves 0%.");
    expect(incidentMessage(await readIncident(m.store, "migration"), "resolved")).toEqual({ refused: expect.stringContaining("is pending: the application has not applied it") });

    m.advance(20_000);
    m.migration.serve({ pollMs: 20 });
    expect(await waitFor(() => m.migration.status().state === "rolledBack", 10_000)).toBe(true);
    // Stopping writes the last windows of calls.
    await m.close();
    closed = true;

    const [notice, resolved, postmortem, unknown, zero, html] = await Promise.all([
      cli(url, "incident", "notice", "--format", "json", "--next-update", "45"),
      cli(url, "incident", "resolved"),
      cli(url, "report", "--postmortem"),
      cli(url, "--migration", "nope", "incident", "notice"),
      cli(url, "incident", "update", "--next-update", "0"),
      cli(url, "report", "--postmortem", "--format", "html"),
    ]);
    expect([notice.code, notice.err]).toEqual([0, ""]);
    const f = JSON.parse(notice.out) as IncidentFields;
    expect(f).toMatchObject({
      kind: "notice", migrationId: "migration", status: "mitigated", open: [], state: { migration: "rolledBack", rollout: "rolledBack", v2ShareBp: 0 },
      startedAt: at(MIN), shareAtStartBp: 5000, firstBadEvidence: { at: at(MIN), reason: expect.stringMatching(/^v2_error_rate fail: /) },
      detectedAt: at(1.5 * MIN), detectedBy: { what: "operator.pause", who: "alice", automatic: false, why: "V2 errors on the checkout page" },
      latest: { at: at(3.5 * MIN + 20_000), what: "operator.emergency_rollback", who: "bob", why: "SEV2: checkout fails" },
      mitigatedAt: at(1.5 * MIN), shareZeroAt: at(3.5 * MIN), nextUpdateMinutes: 45,
    });
    expect(Date.parse(f.nextUpdateAt!) - Date.parse(f.writtenAt)).toBe(45 * MIN);
    // What callers got is what the test counted, arm by arm.
    expect(counted.v2.failed).toBeGreaterThan(0);
    for (const arm of ["v1", "v2"] as const) expect(f.impact![arm]).toMatchObject(counted[arm]);
    expect(f.done.map((d) => [d.at, d.what, d.who])).toEqual([
      [at(1.5 * MIN), "operator.pause", "alice"],
      [at(3.5 * MIN), "flag pool_v2_share 50% → 0%", "bob"],
      [at(3.5 * MIN + 20_000), "operator.emergency_rollback", "bob"],
      [at(3.5 * MIN + 20_000), "rolled_back", "rollout (automatic)"],
    ]);
    expect(Object.keys(f.placeholders)).toEqual(["{{severity}}", "{{service}}", "{{channel}}", "{{incident commander}}"]);

    expect([resolved.code, resolved.err]).toEqual([0, ""]);
    expect(resolved.out).toStartWith('[SEV{{severity}}] {{service}}: V2 of migration "migration" — resolved\n');
    expect(resolved.out).toContain(`Duration: from ${at(MIN)}; mitigated at ${at(1.5 * MIN)}, 0.0 s after it was detected; V2's share 0 since ${at(3.5 * MIN)}.`);
    expect(resolved.out).toContain(`Impact: V2 ${counted.v2.failed} of ${counted.v2.calls} calls failed for callers`);
    expect(resolved.out).toContain(`- ${at(1.5 * MIN)} operator.pause by alice: V2 errors on the checkout page\n`);
    expect(resolved.out).toContain("Cause: {{cause}}\n");
    expect(resolved.out).not.toContain("Next update");

    expect([postmortem.code, postmortem.err]).toEqual([0, ""]);
    const md = postmortem.out;
    expect(md).toContain(`| ${at(1.5 * MIN)} | operator.pause | alice | V2 errors on the checkout page | 50% → 50% |`);
    expect(md).toContain(`| ${at(3.5 * MIN)} | command emergency_rollback (applied) | bob | SEV2: checkout fails | — |`);
    expect(md).toContain(`First bad evidence ${at(MIN)} (the judgement that failed: v2_error_rate fail: `);
    expect(md).toContain("detection time 30.0 s.");
    expect(md).toContain(`Mitigated at ${at(1.5 * MIN)}; time to mitigate 0.0 s from the first reaction, 30.0 s from the first bad evidence; V2's share reached 0 at ${at(3.5 * MIN)}.`);
    expect(md).toContain("4 automatic (the rollout's own), 2 by operators.");
    expect(md).toContain(`- ${at(MIN)} rule v2_error_rate failed: `);
    expect(md).toContain("- An operator intervened (operator.pause at ");
    expect(md).toContain("| {{item}} | {{owner}} | {{due}} | {{ticket}} |");

    expect([unknown.code, unknown.err.trim()]).toEqual([1, `error: no migration "nope" in ${url}; it has: migration (choose one with --migration)`]);
    expect([zero.code, zero.err]).toEqual([2, expect.stringContaining("option '--next-update <minutes>' argument '0' is invalid. it must be a whole number of minutes from 1 to 1440.")]);
    expect([html.code, html.err.trim()]).toEqual([2, "error: report: --postmortem writes --format md or json, received html"]);
  } finally {
    if (!closed) await m.close();
  }
}, 60_000);

describe("incidents in records written through the library", () => {
  const judged = (verdict: string, atMs: number, share: number) => ({
    rolloutId: "m1", at: atMs, kind: "judged", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: share, shareTo: share, reason: `verdict ${verdict}`,
    inputs: { judgement: { verdict, rules: [{ rule: "v2_p99_ms", status: verdict === "fail" ? "fail" : "pass", value: 300, threshold: 200 }] } },
  });

  test("no incident: every message is refused, the post-mortem says insufficient evidence; a hold stays open until the ticks recover; a pause without bad evidence has no detection time", async () => {
    const store = await openStore(":memory:");
    await store.decisions.record({ rolloutId: "m1", at: 1000, kind: "started", stateFrom: "idle", stateTo: "active.stage", shareFrom: 0, shareTo: 500, reason: "started", inputs: {} });
    await store.decisions.record(judged("fail", 61_000, 500));
    const none = await readIncident(store, "m1", 100_000);
    for (const kind of ["notice", "update", "resolved"] as const) {
      expect(incidentMessage(none, kind)).toEqual({ refused: expect.stringContaining("1 judgement(s) failed, the latest at 1970-01-01T00:01:01Z (verdict fail), and nothing reacted to them") });
    }
    const p = JSON.parse(await postmortemReport(store, "m1", { format: "json", now: 100_000 })) as Postmortem;
    expect([p.detection.detectionMs, p.mitigation.timeToMitigateMs, p.detection.text]).toEqual([null, null, expect.stringMatching(/^insufficient evidence: the record holds no incident/)]);
    expect(await postmortemReport(store, "m1", { now: 100_000 })).toContain("## Mitigation\n\nInsufficient evidence: the record holds no incident");

    // The store lost: the rollout holds with V2 at 5%, and its ticks still fail. No judgement failed before it.
    await store.decisions.record({ rolloutId: "m1", at: 90_000, kind: "held", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: 500, shareTo: 500, reason: "ticks failing: StoreError", inputs: {} });
    const held = await readIncident(store, "m1", 100_000);
    expect(held.incident).toMatchObject({ status: "ongoing", mitigatedAt: null, open: [
      "the rollout's ticks are failing: held since 1970-01-01T00:01:30Z (ticks failing: StoreError)",
      "V2 still serves 5% and its latest judgement (1970-01-01T00:01:01Z) failed: verdict fail",
    ] });
    expect(incidentMessage(held, "resolved")).toEqual({ refused: expect.stringContaining("still open:\n  - the rollout's ticks are failing") });
    const notice = incidentMessage(held, "notice", { nextUpdateMinutes: 15 }) as { text: string };
    expect(notice.text).toContain("The rollout is not in the record; V2 serves 5%.");
    expect(notice.text).toContain("Done so far: nothing yet: no pause, rollback, flag set by hand or node stopped is in the record\n");
    expect(notice.text).toContain("Impact so far: not in the record: no window of calls was recorded for this migration.");
    expect(notice.text).toContain("Next update: 1970-01-01T00:16:40Z (in 15 min)");
    const md = (incidentMessage(held, "update", { format: "md" }) as { text: string }).text;
    expect(md).toStartWith('**[SEV{{severity}}] {{service}}: V2 of migration "m1" — investigating**\n\n**What happened:** 1970-01-01T00:01:30Z held by rollout (automatic): ticks failing: StoreError.');
    expect(md).toContain("\n**Cause:** {{cause}}\n");
    const draft = await postmortemReport(store, "m1", { now: 100_000 });
    // The failing judgement at 61 s is the first bad evidence of the hold: 29 s to react; nothing mitigated it.
    expect(draft).toContain("detection time 29.0 s.");
    expect(draft).toContain("Mitigated at: not in the record (no pause took effect and V2's share did not reach 0); time to mitigate: insufficient evidence.");
    // Ticks succeed again: nothing is open.
    await store.decisions.record({ rolloutId: "m1", at: 95_000, kind: "recovered", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: 500, shareTo: 500, reason: "ticks succeed again", inputs: {} });
    await store.decisions.record(judged("pass", 96_000, 500));
    expect(incidentMessage(await readIncident(store, "m1", 100_000), "resolved")).toMatchObject({ fields: { status: "mitigated", open: [] } });

    // Paused on a hunch: no judgement failed, so there is no detection time, but the pause mitigated at once.
    await store.decisions.record({ rolloutId: "m2", at: 5000, kind: "operator.pause", stateFrom: "active.stage", stateTo: "paused", shareFrom: 500, shareTo: 500, reason: "odd graph", inputs: { by: "carol" } });
    const hunch = await postmortemReport(store, "m2", { now: 100_000 });
    expect(hunch).toContain("First bad evidence: not in the record (no judgement failed before the first reaction); detection time: insufficient evidence. First reaction: 1970-01-01T00:00:05Z, operator.pause by carol.");
    expect(hunch).toContain("Mitigated at 1970-01-01T00:00:05Z; time to mitigate 0.0 s from the first reaction; V2's share did not reach 0.");
    expect(hunch).toContain("## Contributing evidence\n\nInsufficient evidence: no failing judgement in the incident and no failed validation in the record.");
    await store.close();
  });

  test("bad option values are refused, naming the option, the value and what is allowed", async () => {
    const store = await openStore(":memory:");
    const r = await readIncident(store, "m1");
    for (const [call, message] of [
      [() => incidentMessage(r, "notice", { nextUpdateMinutes: 0 }), "incidentMessage: nextUpdateMinutes must be a whole number of minutes from 1 to 1440, received 0"],
      [() => incidentMessage(r, "notice", { nextUpdateMinutes: 1.5 }), "received 1.5"],
      [() => incidentMessage(r, "panic" as never), 'incidentMessage: kind must be one of "notice", "update", "resolved", received "panic"'],
      [() => incidentMessage(r, "notice", { format: "pdf" as never }), 'incidentMessage: format must be one of "text", "md", "json", received "pdf"'],
    ] as const) {
      expect(call).toThrow(message);
    }
    const e = await rejection(postmortemReport(store, "m1", { format: "html" as never }));
    expect([e._tag, e.message]).toEqual(["ConfigError", expect.stringContaining('postmortemReport: format must be one of "md", "json", received "html"')]);
    await store.close();
  });
});
