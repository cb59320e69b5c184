/** A real StatsD receiver for the tests: a UDP socket on 127.0.0.1 collecting the lines it gets. */
import { afterAll, beforeAll } from "bun:test";
import { createSocket, type Socket } from "node:dgram";

/** Bound before the file's tests and closed after them; `port()` once bound. */
export function udpReceiver(): { readonly lines: string[]; port(): number } {
  let socket: Socket;
  let port = 0;
  const lines: string[] = [];
  beforeAll(async () => {
    socket = createSocket("udp4");
    socket.on("message", (msg) => lines.push(...msg.toString("utf8").split("\n").filter(Boolean)));
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    port = socket.address().port;
  });
  afterAll(() => socket.close());
  return { lines, port: () => port };
}
