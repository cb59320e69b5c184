import { describe, expect, test } from "bun:test";
import { attachStatsd, createPool, EventBus } from "../../mod.ts";
import { fixture, rejection, waitFor } from "../helpers.ts";
import { udpReceiver } from "./udp-receiver.ts";

const receiver = udpReceiver();
const lines = receiver.lines;

describe("StatsD sink over a real UDP socket on 127.0.0.1", () => {
  test("a pool's calls and lifecycle arrive with prefix and the tags pool, command, outcome, category", async () => {
    lines.length = 0;
    const events = new EventBus();
    const sink = attachStatsd(events, { port: receiver.port(), prefix: "test.", tags: { node: "n1" } });
    const pool = await createPool({ name: "v2", handler: fixture("echo_handler.py"), size: 1, heartbeatMs: 0, sampleEveryMs: 0, events });
    await pool.execute("echo", 1);
    await rejection(pool.execute("fail", {}));
    await pool.stop();
    await sink.close();
    expect(await waitFor(() => lines.some((l) => l.startsWith("test.pool.stopped")), 2000)).toBe(true);
    expect(lines).toContain("test.calls:1|c|#node:n1,pool:v2,command:echo,outcome:ok");
    expect(lines).toContain("test.calls:1|c|#node:n1,pool:v2,command:fail,outcome:python_error,category:python");
    const timing = lines.find((l) => l.startsWith("test.call.latency:") && l.includes("command:echo"));
    expect(timing).toMatch(/^test\.call\.latency:[0-9.]+\|ms\|#node:n1,pool:v2,command:echo,outcome:ok$/);
    expect(lines).toContain("test.workers.started:1|c|#node:n1,pool:v2,replacing:false");
    expect(lines).toContain("test.workers.exited:1|c|#node:n1,pool:v2,expected:true");
  });

  test("unbuffered mode sends one packet per metric", async () => {
    lines.length = 0;
    const bus = new EventBus();
    const sink = attachStatsd(bus, { port: receiver.port(), maxBufferSize: 0 });
    bus.emit({ type: "pool.scaled", pool: "v1", at: 0, from: 2, to: 3, reason: "utilisation_high" });
    expect(await waitFor(() => lines.length > 0, 2000)).toBe(true);
    expect(lines).toEqual(["molt.pool.size:3|g|#pool:v1,reason:utilisation_high"]);
    await sink.close();
  });

  test("options are validated with a ConfigError naming the option", () => {
    expect(() => attachStatsd(new EventBus(), { port: 70000 })).toThrow("statsd: port must be a port number (1-65535), received 70000");
    expect(() => attachStatsd(new EventBus(), { prefx: "x" } as never)).toThrow(/statsd: prefx must be one of the known options/);
  });
});
