"""The naive floor of bench/pool.bench.ts: read one frame (4-byte big-endian
length, then UTF-8 JSON {"id", "command", "args"}), answer {"id", "ok", "result": args}
framed the same way, flush, repeat. Standard library only, no pipelining."""

import json
import struct
import sys

stdin = sys.stdin.buffer
stdout = sys.stdout.buffer
while True:
    header = stdin.read(4)
    if len(header) < 4:
        break
    request = json.loads(stdin.read(struct.unpack(">I", header)[0]))
    body = json.dumps({"id": request["id"], "ok": True, "result": request["args"]}, separators=(",", ":")).encode()
    stdout.write(struct.pack(">I", len(body)) + body)
    stdout.flush()
