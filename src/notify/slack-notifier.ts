/**
 * The Slack-compatible notifier: each rollout event becomes an
 * incoming-webhook message, `{ text, blocks }` — a one-line `text` (what
 * notifications and clients without blocks show) and Block Kit blocks: a
 * header, the reason, the share, stage, state and who, and the rollout and
 * time. Mattermost and Rocket.Chat take the same format.
 *
 * @module
 */
import type { RolloutEventName, RolloutNotice } from "../rollout/rollout-events.ts";
import { httpNotifier } from "./http-delivery.ts";
import { type HttpNotifierOptions, type Notifier, resolveHttpNotifierOptions } from "./notifier.ts";

/** A Block Kit text object. */
export interface SlackText {
  readonly type: "plain_text" | "mrkdwn";
  readonly text: string;
  /** plain_text only: render `:emoji:` codes. */
  readonly emoji?: boolean;
}

/** The Block Kit blocks molt sends. */
export type SlackBlock =
  | { readonly type: "header"; readonly text: SlackText }
  | { readonly type: "section"; readonly text?: SlackText; readonly fields?: readonly SlackText[] }
  | { readonly type: "context"; readonly elements: readonly SlackText[] };

/** An incoming-webhook message. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

/** Options of {@link createSlackNotifier}. */
export type SlackNotifierOptions = HttpNotifierOptions;

const ICONS: Readonly<Record<RolloutEventName, string>> = {
  "rollout.started": ":arrow_forward:",
  "window.judged": ":mag:",
  "stage.advanced": ":arrow_up:",
  "stage.held": ":double_vertical_bar:",
  "verdict.inconclusive_streak": ":grey_question:",
  "rollout.paused": ":pause_button:",
  "rollout.resumed": ":arrow_forward:",
  "rollout.promoted": ":white_check_mark:",
  "rollback.started": ":rotating_light:",
  "rollback.completed": ":leftwards_arrow_with_hook:",
  "tick.failed": ":warning:",
  "tick.recovered": ":ok:",
  "migration.decommissioned": ":checkered_flag:",
};

const pct = (bp: number): string => `${bp / 100}%`;

/** What happened, in a few words. */
function headline(e: RolloutNotice): string {
  const stage = e.stage === null ? "" : ` ${e.stage}/${e.stages}`;
  const d = e.detail;
  switch (e.event) {
    case "rollout.started":
      return `rollout started: V2 at ${pct(e.shareBp)}`;
    case "window.judged":
      return `judged ${e.verdict?.verdict ?? "window"} at ${pct(e.shareBp)}`;
    case "stage.advanced":
      return `stage${stage}: V2 ${pct(e.previousShareBp)} → ${pct(e.shareBp)}`;
    case "stage.held":
      return `stage${stage} held at ${pct(e.shareBp)} (${String(d.cause).replaceAll("_", " ")})`;
    case "verdict.inconclusive_streak":
      return `inconclusive judgement ${d.streak} of ${d.pauseAfter} (pauses at ${d.pauseAfter})`;
    case "rollout.paused":
      return `paused at ${pct(e.shareBp)}`;
    case "rollout.resumed":
      return `resumed at ${pct(e.shareBp)}`;
    case "rollout.promoted":
      return `promoted: V2 at ${pct(e.shareBp)}`;
    case "rollback.started":
      return `${d.emergency === true ? "emergency " : ""}rollback started: V2 ${pct(e.previousShareBp)} → ${pct(e.shareBp)}`;
    case "rollback.completed":
      return `rolled back: V2 at ${pct(e.shareBp)}${d.failedSteps ? ` (failed steps: ${d.failedSteps})` : ""}`;
    case "tick.failed":
      return `tick failed (${d.consecutive} in a row${d.holding === true ? ", holding" : ""})`;
    case "tick.recovered":
      return `ticks succeed again after ${d.failures} failures`;
    case "migration.decommissioned":
      return `V1 decommissioned: V2 serves ${pct(e.shareBp)}`;
  }
}

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
/** mrkdwn treats &, < and > as markup. */
const escape = (text: string): string => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/**
 * The incoming-webhook message for a rollout event. Lengths stay within
 * Block Kit's limits (a header's 150 characters, a section's 3000).
 *
 * @example
 * ```ts
 * import { slackMessage } from "molt";
 * const m = slackMessage({ event: "stage.advanced", rolloutId: "checkout", at: 0, state: "active.stage", stage: 2, stages: 5, shareBp: 1000, previousShareBp: 500, elapsedMs: 0, reason: "all rules pass", trigger: "rollout", by: null, verdict: null, detail: {}, recorded: true });
 * console.log(m.text); // [molt checkout] stage 2/5: V2 5% → 10%
 * console.log(m.blocks.map((b) => b.type).join(",")); // header,section,section,context
 * ```
 */
export function slackMessage(e: RolloutNotice): SlackMessage {
  const title = `[molt ${e.rolloutId}] ${headline(e)}`;
  const who = e.trigger === "operator" ? `operator${e.by === null ? "" : ` ${e.by}`}` : "the rollout";
  const fields: SlackText[] = [
    { type: "mrkdwn", text: `*V2 share*\n${pct(e.previousShareBp)} → ${pct(e.shareBp)}` },
    { type: "mrkdwn", text: `*Stage*\n${e.stage === null ? "—" : `${e.stage} of ${e.stages}`}` },
    { type: "mrkdwn", text: `*State*\n${escape(e.state)}` },
    { type: "mrkdwn", text: `*By*\n${escape(who)}` },
  ];
  if (e.verdict !== null && e.verdict.failing.length > 0) {
    fields.push({ type: "mrkdwn", text: cut(`*Rules failing*\n${escape(e.verdict.failing.map((r) => `${r.rule}: ${r.status}`).join(", "))}`, 2000) });
  }
  return {
    text: cut(title, 3000),
    blocks: [
      { type: "header", text: { type: "plain_text", text: cut(`${ICONS[e.event]} ${title}`, 150), emoji: true } },
      { type: "section", text: { type: "mrkdwn", text: cut(`*${e.event}*: ${escape(e.reason || "no reason given")}`, 3000) } },
      { type: "section", fields },
      { type: "context", elements: [{ type: "mrkdwn", text: `rollout \`${escape(e.rolloutId)}\` · ${new Date(e.at).toISOString()}${e.recorded ? "" : " · not recorded in the store"}` }] },
    ],
  };
}

/**
 * A notifier that posts rollout events to a Slack incoming webhook (or any
 * receiver of the same format) as {@link slackMessage}s: in order, retried
 * with exponential backoff, never making the rollout wait.
 *
 * @example
 * ```ts
 * import { createSlackNotifier } from "molt";
 * const slack = createSlackNotifier({ url: "https://hooks.slack.com/services/T000/B000/XXXX", events: ["stage.advanced", "rollback.started"] });
 * console.log(slack.name); // slack
 * await slack.close();
 * ```
 */
export function createSlackNotifier(options: SlackNotifierOptions): Notifier {
  const settings = resolveHttpNotifierOptions("slack", options, []);
  return httpNotifier(settings, (event) => ({ body: JSON.stringify(slackMessage(event)), headers: {} }));
}
