/**
 * Operator actions from the dashboard, through the same path as the CLI:
 * pause, resume, promote one stage (`promote_stage`), promote to 100%
 * (`promote`) and abort are queued in the store's `commands`
 * table for the process serving the migration to apply (the result is
 * written back to the command's row, which the page shows); an emergency
 * rollback goes through `requestEmergencyRollback`, which sets V2's share
 * to 0 in the store itself, so it takes effect with or without a leader.
 * Every action records who asked (`requestedBy`) and why.
 *
 * @module
 */
import { nonEmptyString, option, refuseUnknown, required, type Rule } from "../config.ts";
import { requestEmergencyRollback } from "../fleet/emergency.ts";
import type { Store } from "../store/store.ts";

/** What an operator can do from the dashboard. */
export type DashboardAction = "pause" | "resume" | "promote_stage" | "promote" | "abort" | "emergency_rollback";

/**
 * Every action, in the order the page offers them.
 *
 * @example
 * ```ts
 * import { DASHBOARD_ACTIONS } from "molt";
 * console.log(DASHBOARD_ACTIONS.join(" ")); // pause resume promote_stage promote abort emergency_rollback
 * ```
 */
export const DASHBOARD_ACTIONS: readonly DashboardAction[] = ["pause", "resume", "promote_stage", "promote", "abort", "emergency_rollback"];

/** The body of `POST /api/actions`. */
export interface ActionRequest {
  readonly action: DashboardAction;
  /** Who acts: recorded as the command's `requestedBy`. */
  readonly by: string;
  /** Why: recorded with the decision. */
  readonly reason?: string;
}

/** What an action did. */
export interface ActionResult {
  readonly action: DashboardAction;
  /** The queued command (for an emergency, the rollback the next leader records). */
  readonly commandId: number;
  /** An emergency rollback: V2's share is already 0 in the store. */
  readonly shareZeroed: boolean;
}

const action: Rule<DashboardAction> = {
  is: (v): v is DashboardAction => (DASHBOARD_ACTIONS as readonly unknown[]).includes(v),
  allowed: `one of ${DASHBOARD_ACTIONS.join(", ")}`,
};
const identity: Rule<string> = {
  is: (v): v is string => nonEmptyString.is(v) && v.trim() === v && v.length <= 100,
  allowed: "who you are: 1 to 100 characters, no leading or trailing space",
};
const reason: Rule<string> = { is: (v): v is string => nonEmptyString.is(v) && v.length <= 500, allowed: "1 to 500 characters" };

/**
 * Check an action's body (a ConfigError names what is wrong) and apply it
 * to `migrationId`.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * import { applyAction } from "./actions.ts";
 * const store = await openStore(":memory:");
 * const r = await applyAction(store, "demo", { action: "pause", by: "alice", reason: "looking at p99" });
 * const c = await store.commands.get(r.commandId);
 * console.log(c?.command, c?.requestedBy, c?.args.reason); // pause alice looking at p99
 * await store.close();
 * ```
 */
export async function applyAction(store: Store, migrationId: string, body: unknown): Promise<ActionResult> {
  const owner = "dashboard action";
  const given = required(owner, "body", body, { is: (v): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v), allowed: "a JSON object" });
  refuseUnknown(owner, given, ["action", "by", "reason"]);
  const request: ActionRequest = {
    action: required(owner, "action", given.action, action),
    by: required(owner, "by", given.by, identity),
    ...(given.reason === undefined || given.reason === "" ? {} : { reason: option(owner, "reason", given.reason, reason, undefined) }),
  };
  if (request.action === "emergency_rollback") {
    const r = await requestEmergencyRollback(store, migrationId, { by: request.by, reason: request.reason ?? `emergency rollback from the dashboard by ${request.by}` });
    return { action: request.action, commandId: r.commandId, shareZeroed: true };
  }
  const commandId = await store.commands.enqueue({
    target: migrationId,
    command: request.action,
    args: request.reason === undefined ? {} : { reason: request.reason },
    requestedBy: request.by,
  });
  return { action: request.action, commandId, shareZeroed: false };
}
