/**
 * An OpenFeature provider over molt's flags, so an application that reads
 * its flags through OpenFeature reads molt's too — the same values, from the
 * same in-memory copy, with a configuration-changed event on every change.
 *
 * Besides the flags themselves it answers one derived flag, `pool_v2`: true
 * when the evaluation context's `targetingKey` (a session or request id) is
 * routed to V2 — V2 enabled and the key's bucket inside the share.
 *
 * @module
 */
import {
  ErrorCode,
  type EvaluationContext,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  StandardResolutionReasons,
} from "@openfeature/server-sdk";
import { inShare, SHARE_FLAG } from "./bucket.ts";
import { FLAG_NAMES, isFlagName } from "./definitions.ts";
import type { Flags } from "./flags.ts";

/**
 * The derived flag: is this targeting key routed to V2?
 *
 * @example
 * ```ts
 * import { V2_ARM_FLAG } from "molt";
 * console.log(V2_ARM_FLAG); // pool_v2
 * ```
 */
export const V2_ARM_FLAG = "pool_v2";

type Kind = "boolean" | "number" | "string" | "object";

/**
 * molt's flags as an OpenFeature provider.
 *
 * @example
 * ```ts
 * import { OpenFeature } from "@openfeature/server-sdk";
 * import { createFlags, MoltFlagProvider, openStore } from "molt";
 * const store = await openStore(":memory:");
 * const flags = await createFlags({ store, env: {} });
 * await OpenFeature.setProviderAndWait(new MoltFlagProvider(flags));
 * const client = OpenFeature.getClient();
 * console.log(await client.getBooleanValue("pool_v2_enabled", true), await client.getNumberValue("pool_v2_share", -1)); // false 0
 * await OpenFeature.close();
 * await flags.close();
 * await store.close();
 * ```
 */
export class MoltFlagProvider implements Provider {
  readonly metadata = { name: "molt" } as const;
  readonly runsOn = "server" as const;
  readonly events: OpenFeatureEventEmitter = new OpenFeatureEventEmitter();
  private readonly unsubscribe: () => void;

  constructor(private readonly flags: Flags) {
    this.unsubscribe = flags.subscribe((update) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [update.flag] }));
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    if (flagKey === V2_ARM_FLAG) return Promise.resolve(this.arm(defaultValue, context));
    return Promise.resolve(this.resolve(flagKey, defaultValue, "boolean"));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, "number"));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, "string"));
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, "object"));
  }

  onClose(): Promise<void> {
    this.unsubscribe();
    return Promise.resolve();
  }

  private resolve<T>(flagKey: string, defaultValue: T, kind: Kind): ResolutionDetails<T> {
    if (!isFlagName(flagKey)) {
      return this.error(defaultValue, ErrorCode.FLAG_NOT_FOUND, `molt has no flag "${flagKey}" (it has ${[...FLAG_NAMES, V2_ARM_FLAG].join(", ")})`);
    }
    const { value, source } = this.flags.explain(flagKey);
    if (typeof value !== kind) {
      return this.error(defaultValue, ErrorCode.TYPE_MISMATCH, `flag "${flagKey}" is a ${typeof value}, asked for a ${kind}`);
    }
    return {
      value: value as T,
      reason: source === "default" ? StandardResolutionReasons.DEFAULT : StandardResolutionReasons.STATIC,
      flagMetadata: { source },
    };
  }

  private arm(defaultValue: boolean, context: EvaluationContext): ResolutionDetails<boolean> {
    const key = context.targetingKey;
    if (typeof key !== "string" || key.length === 0) {
      return this.error(defaultValue, ErrorCode.TARGETING_KEY_MISSING, `"${V2_ARM_FLAG}" needs a targetingKey (the session or request id)`);
    }
    const enabled = this.flags.get("pool_v2_enabled");
    const value = enabled && inShare(SHARE_FLAG, key, this.flags.share());
    return { value, reason: enabled ? StandardResolutionReasons.SPLIT : StandardResolutionReasons.DISABLED, variant: value ? "v2" : "v1" };
  }

  private error<T>(value: T, errorCode: ErrorCode, errorMessage: string): ResolutionDetails<T> {
    return { value, reason: StandardResolutionReasons.ERROR, errorCode, errorMessage };
  }
}
