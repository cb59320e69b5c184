/**
 * The OpenFeature provider: an application reading through OpenFeature sees
 * molt's flags, the derived `pool_v2` arm per targeting key, errors for
 * unknown flags and wrong types, and a change event when a flag moves.
 */
import { afterEach, expect, test } from "bun:test";
import { ErrorCode, OpenFeature, ProviderEvents } from "@openfeature/server-sdk";
import { bucketOf, createFlags, MoltFlagProvider, openStore, SHARE_FLAG } from "../../mod.ts";
import { sleep } from "../helpers.ts";

afterEach(() => OpenFeature.close());

async function setup() {
  const store = await openStore(":memory:");
  const flags = await createFlags({ store, env: {}, overrides: { circuit_breaker: false } });
  await OpenFeature.setProviderAndWait(new MoltFlagProvider(flags));
  return { store, flags, client: OpenFeature.getClient() };
}

test("values and details come from molt's flags", async () => {
  const { store, flags, client } = await setup();
  await flags.set("pool_v2_share", 2500);
  expect(await client.getNumberValue("pool_v2_share", -1)).toBe(2500);
  expect(await client.getBooleanDetails("circuit_breaker", true)).toMatchObject({ value: false, reason: "STATIC", flagMetadata: { source: "config" } });
  expect(await client.getBooleanDetails("pool_optimizer", false)).toMatchObject({ value: true, reason: "DEFAULT" });
  await flags.close();
  await store.close();
});

test("unknown flags and wrong types answer the caller's default with an error code", async () => {
  const { store, flags, client } = await setup();
  expect(await client.getBooleanDetails("pool_v3", true)).toMatchObject({ value: true, errorCode: ErrorCode.FLAG_NOT_FOUND });
  expect(await client.getStringDetails("pool_v2_share", "x")).toMatchObject({ value: "x", errorCode: ErrorCode.TYPE_MISMATCH });
  await flags.close();
  await store.close();
});

test("pool_v2 tells whether a targeting key is routed to V2, with the router's bucketing", async () => {
  const { store, flags, client } = await setup();
  expect(await client.getBooleanDetails("pool_v2", true, { targetingKey: "s1" })).toMatchObject({ value: false, reason: "DISABLED" });
  await flags.set("pool_v2_enabled", true);
  await flags.set("pool_v2_share", 3000);
  const keys = Array.from({ length: 200 }, (_, i) => `session-${i}`);
  const answers = await Promise.all(keys.map((k) => client.getBooleanValue("pool_v2", false, { targetingKey: k })));
  expect(answers).toEqual(keys.map((k) => bucketOf(SHARE_FLAG, k) < 3000));
  expect(await client.getBooleanDetails("pool_v2", true)).toMatchObject({ value: true, errorCode: ErrorCode.TARGETING_KEY_MISSING });
  await flags.close();
  await store.close();
});

test("a flag change emits ConfigurationChanged naming the flag", async () => {
  const { store, flags } = await setup();
  const changed: string[][] = [];
  OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, (e) => changed.push((e as { flagsChanged?: string[] } | undefined)?.flagsChanged ?? []));
  await flags.set("pool_v2_enabled", true);
  await sleep(0);
  expect(changed).toEqual([["pool_v2_enabled"]]);
  await flags.close();
  await store.close();
});
