/**
 * The routing decision: which arm serves a call, and why. It reads two flags
 * from memory and, when V2 is on, the bucket of the call's sticky key (the
 * session id, else the request id; a call with neither draws a bucket at
 * random, which spreads the same way).
 *
 * @module
 */
import { bucketOf, BUCKETS, SHARE_FLAG } from "../flags/bucket.ts";
import type { Flags } from "../flags/flags.ts";

/** The two arms: the old pool and the new one. */
export type Arm = "v1" | "v2";

/**
 * Why a call went where it went. `v2_unavailable`: bound for V2, sent to V1
 * because V2 was not serving or its breaker refused.
 */
export type RouteReason = "v2_disabled" | "outside_share" | "inside_share" | "v2_unavailable";

/** Where a call goes. */
export interface RouteDecision {
  readonly arm: Arm;
  readonly reason: RouteReason;
  /** The sticky key's bucket (0–9999), or null when V2 is off. */
  readonly bucket: number | null;
}

/** What the decision looks at in a call's options. */
export interface StickyKeys {
  readonly sessionId?: string;
  readonly requestId?: string;
}

const V2_DISABLED: RouteDecision = { arm: "v1", reason: "v2_disabled", bucket: null };
/** Buckets of recent sessions: a lookup costs less than a hash. */
const CACHE_LIMIT = 50_000;

/** Decides arms for one router; keeps a bounded cache of sticky-key buckets. */
export class RouteDecider {
  private readonly buckets = new Map<string, number>();

  constructor(private readonly flags: Flags, private readonly random: () => number = Math.random) {}

  /** The arm a call with these keys is bound for, before V2's availability is considered. */
  decide(keys: StickyKeys): RouteDecision {
    const flags = this.flags;
    if (!flags.get("pool_v2_enabled")) return V2_DISABLED;
    // Sessions come back, so their buckets are cached; request ids do not, so theirs are not.
    const bucket = keys.sessionId !== undefined
      ? this.session(keys.sessionId)
      : keys.requestId !== undefined
      ? bucketOf(SHARE_FLAG, keys.requestId)
      : Math.floor(this.random() * BUCKETS);
    return bucket < flags.get("pool_v2_share")
      ? { arm: "v2", reason: "inside_share", bucket }
      : { arm: "v1", reason: "outside_share", bucket };
  }

  private session(key: string): number {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= CACHE_LIMIT) this.buckets.clear();
      bucket = bucketOf(SHARE_FLAG, key);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}
