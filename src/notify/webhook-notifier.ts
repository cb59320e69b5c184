/**
 * The generic webhook notifier: each rollout event it takes is POSTed as
 * one JSON object (docs/notifications.md; schema in
 * docs/notifications.schema.json), signed with `X-Molt-Signature` when a
 * secret is set.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { nonEmptyString, option } from "../config.ts";
import type { RolloutNotice } from "../rollout/rollout-events.ts";
import { MOLT_VERSION } from "../version.ts";
import { httpNotifier } from "./http-delivery.ts";
import { type HttpNotifierOptions, type Notifier, resolveHttpNotifierOptions } from "./notifier.ts";
import { SIGNATURE_HEADER, signPayload } from "./signature.ts";

/**
 * The version of the webhook payload's shape, sent as its `version`; it
 * changes only when a field changes meaning or goes away.
 *
 * @example
 * ```ts
 * import { WEBHOOK_PAYLOAD_VERSION } from "molt";
 * console.log(WEBHOOK_PAYLOAD_VERSION); // 1
 * ```
 */
export const WEBHOOK_PAYLOAD_VERSION = 1;

/** What the webhook POSTs: the rollout event, with a version, a delivery id and the time in ISO 8601. */
export interface WebhookPayload extends RolloutNotice {
  readonly version: typeof WEBHOOK_PAYLOAD_VERSION;
  /** Unique per event (the same on every attempt): a receiver drops one it has seen. */
  readonly id: string;
  /** `at` in ISO 8601 (UTC). */
  readonly time: string;
}

/** Options of {@link createWebhookNotifier}. */
export interface WebhookNotifierOptions extends HttpNotifierOptions {
  /** Sign every request with HMAC-SHA256 under this secret (`X-Molt-Signature: sha256=<hex>`). Default: unsigned. */
  readonly secret?: string;
}

/**
 * The payload the webhook sends for `event` (`id`: the delivery's id).
 *
 * @example
 * ```ts
 * import { webhookPayload } from "molt";
 * const event = { event: "rollout.paused", rolloutId: "r1", at: 0, state: "paused", stage: 1, stages: 5, shareBp: 500, previousShareBp: 500, elapsedMs: 60000, reason: "operator", trigger: "operator", by: "alice", verdict: null, detail: { command: "pause" }, recorded: true } as const;
 * console.log(webhookPayload(event, "d1").time, webhookPayload(event, "d1").version); // 1970-01-01T00:00:00.000Z 1
 * ```
 */
export function webhookPayload(event: RolloutNotice, id: string): WebhookPayload {
  return { version: WEBHOOK_PAYLOAD_VERSION, id, time: new Date(event.at).toISOString(), ...event };
}

/**
 * A notifier that POSTs rollout events as JSON to `url`: in order, retried
 * with exponential backoff, never making the rollout wait. Headers:
 * `X-Molt-Event` (the event's name), `X-Molt-Delivery` (the payload's `id`),
 * and `X-Molt-Signature` with a `secret`.
 *
 * @example
 * ```ts
 * import { createWebhookNotifier } from "molt";
 * const notifier = createWebhookNotifier({ url: "http://127.0.0.1:9/hooks/molt", secret: "s3cret", events: ["rollback.started", "rollback.completed"] });
 * console.log(notifier.name, notifier.stats()); // webhook { queued: 0, delivered: 0, failed: 0, dropped: 0 }
 * await notifier.close();
 * ```
 */
export function createWebhookNotifier(options: WebhookNotifierOptions): Notifier {
  const owner = "webhook";
  const settings = resolveHttpNotifierOptions(owner, options, ["secret"]);
  const secret = option(owner, "secret", options.secret, nonEmptyString, undefined);
  return httpNotifier(settings, (event) => {
    const payload = webhookPayload(event, randomUUID());
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { "user-agent": `molt/${MOLT_VERSION}`, "x-molt-event": event.event, "x-molt-delivery": payload.id };
    if (secret !== undefined) headers[SIGNATURE_HEADER.toLowerCase()] = signPayload(secret, body);
    return { body, headers };
  });
}
