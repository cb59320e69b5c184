"""The molt worker: ``python3 -m molt.worker --handler PATH_OR_MODULE [--threads N] [--concurrency N] [--host-minor N]``.

Reads frames from stdin, writes frames to stdout and nothing else (``print()``
goes to stderr), answers pipelined requests by id, and exits on stdin EOF,
after ``shutdown``, on SIGTERM, or when its host process goes away.
Synchronous commands run inline or on ``--threads`` handler threads;
``async def`` commands run on an asyncio loop, ``--concurrency`` at once.
"""

import argparse
import io
import json
import os
import re
import signal
import sys
import threading
import time
import traceback

from . import PROTOCOL_MINOR, PROTOCOL_VERSION
from . import builtins
from .async_runner import AsyncRunner
from .attachments import PlaceholderError, encode_binary, fill, framed
from .context import Context, enter, run_in
from .framing import DEFAULT_MAX_FRAME_BYTES, Deframer, Oversize, encode_frame, id_from_prefix
from .held_answers import HeldAnswers
from .loader import HandlerLoadError, load_handler
from .registry import all_commands, lookup
from .shared_ring import RingPiece, SharedRegion

EXIT_ORPHANED = 71
_READ_SIZE = 1 << 20
# Pieces at least this long are written as they are, not copied into a joined write.
_JOIN_BELOW = 64 * 1024
# The host's protocol minor from which it reads binary attachments.
_BINARY_MINOR = 3
_PARENT_POLL_S = 0.2
# NaN and Infinity are not JSON: the host's parser would refuse the whole frame.
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_BYTES_TYPE = re.compile(r"type '?(bytes|bytearray|memoryview)'? ")
writer = None


class Writer:
    """Writes frames to the reserved stdout descriptor.

    Frames sent while another thread is writing are joined into that
    thread's next write, so a busy worker makes few syscalls. A frame may be
    a tuple of pieces (a message and its attachments): they are written
    together, nothing between them, and a large piece is written as it is,
    never copied into a joined write.
    """

    def __init__(self, fd):
        self._fd = fd
        self._lock = threading.Lock()
        self._pending = []
        self._writing = False
        # The rings a RingPiece goes into, when this worker made them.
        self.shared = None

    def send(self, frames):
        with self._lock:
            pending = self._pending
            for frame in frames:
                if type(frame) is tuple:
                    pending.extend(frame)
                else:
                    pending.append(frame)
            if self._writing:
                return
            self._writing = True
        while True:
            with self._lock:
                if not self._pending:
                    # In the same hold of the lock as the look: a frame added after it finds no writer and writes itself.
                    self._writing = False
                    return
                pieces, self._pending = self._pending, []
            try:
                self._write_pieces(pieces)
            except BaseException:
                # A write failed (the host has gone): another thread's send must not take this one for a writer at work.
                with self._lock:
                    self._writing = False
                raise

    def _write_pieces(self, pieces):
        small = []
        for piece in pieces:
            if type(piece) is RingPiece:
                # The frames before it first: the host frees room in the ring as it reads them, and put() may wait for that.
                if small:
                    self._write(b"".join(small))
                    small = []
                # Before the frame that announces it: the host takes it when it reads that frame.
                self.shared.put(piece.data)
                continue
            if len(piece) < _JOIN_BELOW:
                small.append(piece)
                continue
            if small:
                self._write(b"".join(small))
                small = []
            self._write(piece)
        if small:
            self._write(b"".join(small))

    def _write(self, chunk):
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view):]


def describe(e):
    """An exception's message, even when its ``__str__`` raises."""
    try:
        return str(e)
    except BaseException:
        return f"<{type(e).__name__} whose message cannot be read>"


def error_frame(request_id, kind, message, tb=None):
    error = {"type": kind, "message": message}
    if tb is not None:
        error["traceback"] = tb
    return encode_frame(_dumps({"id": request_id, "ok": False, "error": error}).encode())


class Incoming:
    """A request whose attachments are still arriving: the frames after it are its raw bytes."""

    __slots__ = ("request", "received", "lengths", "parts", "problem")

    def __init__(self, request, received, shared):
        self.request = request
        self.received = received
        self.lengths = request["attachments"]
        # (error type, message) for the first attachment that did not arrive as announced.
        self.problem = None
        # Those in the host's ring are taken now, in frame order; the others come as the frames that follow (None until then).
        self.parts = []
        for i, announced in enumerate(self.lengths):
            if type(announced) is not int or announced >= 0:
                self.parts.append(None)
            elif shared is not None and -announced <= shared.capacity:
                self.parts.append(shared.take(-announced))
            else:
                self.problem = self.problem or ("InvalidRequest", f"attachment {i} is announced in shared memory ({announced}), "
                                                + ("which this worker has not mapped" if shared is None else f"longer than its ring of {shared.capacity} bytes"))
                self.parts.append(b"")

    def next_missing(self):
        """The index of the next attachment to come as a frame, or None when all are in."""
        for i, part in enumerate(self.parts):
            if part is None:
                return i
        return None


class Server:
    """Turns request frames into response frames."""

    def __init__(self, writer, max_frame_bytes, threads, concurrency=64, host_minor=0):
        self.writer = writer
        self.max_frame_bytes = max_frame_bytes
        # The rings this worker made for the host to map (None: everything goes through the pipes).
        self.shared = None
        # Bytes in results travel as attachments only to a host that said it reads them.
        self.binary = host_minor >= _BINARY_MINOR
        # A request and its attachments may come in different reads: what it still waits for.
        self.incoming = None
        self.counters = builtins.Counters()
        self.executor = None
        self.stopping = False
        # Calls on handler threads, by request id: a cancel reaches them through their context.
        self.threaded_calls = {}
        self.runner = AsyncRunner(concurrency, self.cancelled_frame, writer.send)
        # Answers of this read's earlier calls, sent if the call running inline after them runs long.
        self.held = HeldAnswers(writer.send)
        # Async calls read since the loop was last woken: they start together, after the read.
        self.async_batch = []
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="molt-handler")

    def use_rings(self, shared):
        """Large attachments go through ``shared`` from now on (results once the host has mapped it)."""
        self.shared = self.writer.shared = self.counters.rings = shared

    def handle(self, item, out):
        """Answer one frame, appending inline answers to ``out``."""
        if self.incoming is not None:
            self.attach(item, out)
            return
        if isinstance(item, Oversize):
            out.append(error_frame(
                id_from_prefix(item.prefix), "FrameTooLarge",
                f"request frame of {item.length} bytes is over the maximum of {self.max_frame_bytes} bytes",
            ))
            return
        received = time.monotonic()
        try:
            request = json.loads(item.decode("utf-8"))
        except UnicodeDecodeError as e:
            out.append(error_frame(id_from_prefix(item[:64]), "InvalidUTF8", f"request is not valid UTF-8: {e}"))
            return
        except ValueError as e:
            out.append(error_frame(id_from_prefix(item[:64]), "InvalidJSON", f"request is not valid JSON: {e}"))
            return
        except RecursionError:
            out.append(error_frame(id_from_prefix(item[:64]), "InvalidJSON", "request is nested too deeply for Python's JSON decoder"))
            return
        if type(request) is dict and "attachments" in request:
            lengths = request["attachments"]
            # Not a list: nothing is taken as its attachments, and check_request refuses it.
            if type(lengths) is list and lengths:
                incoming = Incoming(request, received, self.shared)
                if incoming.next_missing() is None:
                    self.finish(incoming, out)
                else:
                    self.incoming = incoming
                return
        self.dispatch(request, received, out, ())

    def attach(self, item, out):
        """One raw attachment of the request before it: each is a frame of its own, so a bad one fails that request alone."""
        incoming = self.incoming
        i = incoming.next_missing()
        announced = incoming.lengths[i]
        if isinstance(item, Oversize):
            incoming.problem = incoming.problem or (
                "FrameTooLarge", f"attachment {i} of {item.length} bytes is over the maximum of {self.max_frame_bytes} bytes")
            item = b""
        elif len(item) != announced or type(announced) is not int:
            incoming.problem = incoming.problem or (
                "InvalidRequest", f"attachment {i} is {len(item)} bytes, the request announced {announced!r}")
            item = b""
        incoming.parts[i] = item
        if incoming.next_missing() is not None:
            return
        self.incoming = None
        self.finish(incoming, out)

    def finish(self, incoming, out):
        """A request whose attachments are all in: answered, or refused for the first that was wrong."""
        if incoming.problem is not None:
            out.append(error_frame(request_id(incoming.request), *incoming.problem))
            return
        self.dispatch(incoming.request, incoming.received, out, incoming.parts)

    def dispatch(self, request, received, out, parts):
        """Answer a decoded request whose attachments (``parts``) are all in."""
        if isinstance(request, dict) and "command" not in request:
            if "cancel" in request:
                self.cancel(request)
                return
            if "credit" in request:
                self.credit(request)
                return
        problem = check_request(request)
        if problem is None and "attachments" in request:
            try:
                request["args"] = fill(request["args"], parts)
            except PlaceholderError as e:
                problem = str(e)
            except RecursionError:
                problem = "request args are nested too deeply"
        if problem is not None:
            out.append(error_frame(request_id(request), "InvalidRequest", problem))
            return
        rid = request["id"]
        name = request["command"]
        spec = lookup(name)
        if spec is None:
            known = ", ".join(sorted(c.name for c in all_commands()))
            out.append(error_frame(rid, "UnknownCommand", f"unknown command {name!r}; this worker serves: {known}"))
            return
        if name == "shutdown":
            self.stopping = True
            self.start_async()
            self.runner.close()
            if self.executor is not None:
                self.executor.shutdown(wait=True)
            out.append(self.result_frame(rid, name, None))
            return
        budget = request.get("deadline_ms")
        ctx = Context(rid, name, request.get("session"), None if budget is None else received + budget / 1000)
        args = request["args"]
        window = request.get("window")
        if window is not None:
            self.async_batch.append((ctx, lambda: self.run_stream(spec, args, ctx, window)))
        elif spec.on_loop:
            self.async_batch.append((ctx, lambda: self.run_async(spec, args, ctx)))
        elif self.executor is None or not spec.threaded:
            out.append(self.run_inline(spec, args, ctx, out))
        else:
            self.threaded_calls[rid] = ctx
            self.executor.submit(self.run_threaded, spec, request["args"], ctx)

    def start_async(self):
        """Start the async calls read so far (one wake-up of the loop for all of them)."""
        if self.async_batch:
            batch, self.async_batch = self.async_batch, []
            self.runner.submit(batch)

    def cancel(self, request):
        """A cancel frame: the call stops at its next await (async) or sees ``ctx.cancelled`` (sync)."""
        rid = request["cancel"]
        if type(rid) is not int or rid < 1:
            return
        # A cancel may follow its request in the same read: start that request first, so it is found.
        self.start_async()
        self.counters.cancels += 1
        ctx = self.threaded_calls.get(rid)
        if ctx is not None:
            ctx._cancelled = True
        self.runner.cancel(rid)

    def credit(self, request):
        """A credit frame: the host took ``n`` chunks of stream ``credit`` and has room for as many more."""
        rid, n = request["credit"], request.get("n")
        if type(rid) is int and rid >= 1 and type(n) is int and n >= 1:
            self.runner.credit(rid, n)

    def run_threaded(self, spec, args, ctx):
        # Whatever happens, the call is answered: an exception lost in the executor would leave its
        # caller waiting for its whole deadline.
        try:
            frame = self.run(spec, args, ctx)
        except BaseException as e:
            frame = error_frame(ctx.request_id, type(e).__name__, f"{spec.name!r} could not be answered: {describe(e)}")
        finally:
            self.threaded_calls.pop(ctx.request_id, None)
        self.writer.send((frame,))

    def run_inline(self, spec, args, ctx, out):
        """Run a call on the reading thread; the answers before it in ``out`` are sent meanwhile if it runs long."""
        if not out:
            return self.run(spec, args, ctx)
        self.held.hold(out)
        try:
            return self.run(spec, args, ctx)
        finally:
            self.held.release()

    def not_started(self, spec, ctx):
        """The answer to a call that must not start (its deadline passed or it was cancelled while it waited), or None."""
        if ctx._cancelled:
            return self.cancelled_frame(ctx)
        if ctx.deadline is not None and time.monotonic() > ctx.deadline:
            self.counters.failed += 1
            return error_frame(ctx.request_id, "DeadlineExceeded",
                               f"{spec.name!r} was not started: its deadline passed while it waited")
        return None

    def cancelled_frame(self, ctx):
        self.counters.cancelled += 1
        return error_frame(ctx.request_id, "Cancelled", f"{ctx.command!r} was cancelled by the host")

    def run(self, spec, args, ctx):
        refused = self.not_started(spec, ctx)
        if refused is not None:
            return refused
        try:
            result = run_in(ctx, collect, spec.fn, args, ctx) if spec.is_gen else run_in(ctx, spec.fn, args, ctx)
        except BaseException as e:
            # SystemExit, KeyboardInterrupt and the like from a handler end the call, not the worker.
            return self.failed_frame(ctx, e)
        return self.result_frame(ctx.request_id, spec.name, result)

    async def run_async(self, spec, args, ctx):
        import asyncio

        refused = self.not_started(spec, ctx)
        if refused is not None:
            return refused
        try:
            enter(ctx)
            result = [item async for item in spec.fn(args, ctx)] if spec.is_async_gen else await spec.fn(args, ctx)
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            return self.failed_frame(ctx, e)
        return self.result_frame(ctx.request_id, spec.name, result)

    async def run_stream(self, spec, args, ctx, window):
        """Send each item the handler yields as a chunk, at most ``window`` ahead of the host; then the end."""
        import asyncio

        refused = self.not_started(spec, ctx)
        if refused is not None:
            return refused
        enter(ctx)
        loop = asyncio.get_running_loop()
        credit = self.runner.open_credit(ctx.request_id, window)
        source = None
        sent = 0
        try:
            if spec.is_async_gen:
                source = spec.fn(args, ctx)
            elif spec.is_gen:
                source = await loop.run_in_executor(None, run_in, ctx, spec.fn, args, ctx)
            while spec.is_gen or spec.is_async_gen or sent == 0:
                # The generator is read only when the host has room: that is the backpressure.
                await credit.take()
                if spec.is_async_gen:
                    try:
                        item = await source.__anext__()
                    except StopAsyncIteration:
                        break
                elif spec.is_gen:
                    item = await loop.run_in_executor(None, run_in, ctx, next, source, _END)
                    if item is _END:
                        break
                else:
                    # Not a generator: its one result is the one chunk.
                    item = await spec.fn(args, ctx) if spec.is_async else await loop.run_in_executor(None, run_in, ctx, spec.fn, args, ctx)
                frame, ok = self.encode(ctx.request_id, spec.name, {"id": ctx.request_id, "chunk": item}, "chunk")
                if not ok:
                    return frame
                self.runner.emit(frame)
                sent += 1
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            return self.failed_frame(ctx, e)
        finally:
            self.runner.close_credit(ctx.request_id)
            await close_source(loop, source)
        self.counters.served += 1
        return encode_frame(_dumps({"id": ctx.request_id, "end": sent}).encode())

    def failed_frame(self, ctx, e):
        self.counters.failed += 1
        return error_frame(ctx.request_id, type(e).__name__, describe(e), traceback.format_exc())

    def result_frame(self, rid, name, result):
        frame, ok = self.encode(rid, name, {"id": rid, "ok": True, "result": result}, "result")
        if ok:
            self.counters.served += 1
        return frame

    def encode(self, rid, name, message, what):
        """``(frame, True)`` for a message that encodes within the frame limit, else ``(error frame, False)``.

        To a host that reads attachments, a message with bytes is a tuple of pieces: its frame, then
        its attachments' frames.
        """
        attachments = None
        try:
            if self.binary:
                payload, attachments, ringed = encode_binary(message, self.shared)
            else:
                payload = _dumps(message).encode()
        except (TypeError, ValueError, OverflowError) as e:
            self.counters.failed += 1
            hint = ""
            if not self.binary and _BYTES_TYPE.search(describe(e)):
                hint = " (bytes travel only to a host that reads binary attachments: protocol minor 3, --host-minor 3)"
            return error_frame(rid, "UnserializableResult", f"{what} of {name!r} is not JSON: {describe(e)}{hint}"), False
        except RecursionError:
            self.counters.failed += 1
            return error_frame(rid, "UnserializableResult", f"{what} of {name!r} is nested too deeply to encode as JSON"), False
        except BaseException as e:
            # The encoder runs the value's own code (a dict subclass's items(), say): whatever it
            # raises, MemoryError included, fails this call and no other.
            self.counters.failed += 1
            return error_frame(rid, "UnserializableResult", f"{what} of {name!r} could not be encoded: {type(e).__name__}: {describe(e)}"), False
        if len(payload) > self.max_frame_bytes:
            self.counters.failed += 1
            return error_frame(rid, "FrameTooLarge",
                               f"{what} of {name!r} is {len(payload)} bytes, over the maximum frame size of {self.max_frame_bytes} bytes"), False
        if not attachments:
            return encode_frame(payload), True
        for i, part in enumerate(attachments):
            if len(part) > self.max_frame_bytes:
                self.counters.failed += 1
                return error_frame(rid, "FrameTooLarge",
                                   f"{what} of {name!r} holds bytes {i} of {len(part)} bytes, over the maximum frame size of {self.max_frame_bytes} bytes"), False
        return framed(payload, attachments, ringed), True


_END = object()


def collect(fn, args, ctx):
    """A generator command called without a stream: its items, as a list."""
    return list(fn(args, ctx))


async def close_source(loop, source):
    """Close a generator that was not run to its end (its ``finally`` blocks run)."""
    if source is None:
        return
    if hasattr(source, "aclose"):
        try:
            await source.aclose()
        except BaseException:
            pass
        return
    await loop.run_in_executor(None, close_when_idle, source)


def close_when_idle(gen):
    # A cancelled stream's next() may still be running on its thread: close once it has returned.
    while True:
        try:
            gen.close()
            return
        except ValueError:
            time.sleep(0.005)
        except BaseException:
            return


def request_id(request):
    """The id of a request that is refused, or None when it has none that could be answered."""
    rid = request.get("id") if isinstance(request, dict) else None
    return rid if type(rid) is int and rid >= 0 else None


def check_request(request):
    """Why a decoded request is malformed, or None when it is well formed."""
    if not isinstance(request, dict):
        return f"request must be a JSON object, received {type(request).__name__}"
    rid = request.get("id")
    if type(rid) is not int or rid < 0:
        return f"request field 'id' must be a non-negative integer, received {rid!r}"
    if not isinstance(request.get("command"), str):
        return f"request field 'command' must be a string, received {request.get('command')!r}"
    if "args" not in request:
        return "request field 'args' is missing"
    budget = request.get("deadline_ms")
    if budget is not None and (type(budget) not in (int, float) or budget < 0):
        return f"request field 'deadline_ms' must be a non-negative number, received {budget!r}"
    session = request.get("session")
    if session is not None and not isinstance(session, str):
        return f"request field 'session' must be a string, received {session!r}"
    window = request.get("window")
    if window is not None and (type(window) is not int or window < 1):
        return f"request field 'window' must be a positive integer, received {window!r}"
    attachments = request.get("attachments")
    if attachments is not None and type(attachments) is not list:
        return f"request field 'attachments' must be a list of lengths, received {attachments!r}"
    return None


def reserve_stdout():
    """Keep the real stdout for frames and point fd 1 and sys.stdout at stderr."""
    frames_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return frames_fd


def lead_own_group():
    """Lead a process group of its own, so that the host's signals reach what handlers start too."""
    try:
        os.setsid()
    except OSError:
        pass  # Already a group leader (started so by its host): the group is ours either way.


def watch_parent():
    """Exit when the host is gone, even while a handler holds the main thread."""
    parent = os.getppid()

    def poll():
        while True:
            time.sleep(_PARENT_POLL_S)
            if os.getppid() != parent:
                # Take what the handlers started along: the host that would have is gone.
                try:
                    os.killpg(os.getpgrp(), signal.SIGKILL)
                finally:
                    os._exit(EXIT_ORPHANED)

    threading.Thread(target=poll, name="molt-parent-watch", daemon=True).start()


def serve(in_fd, server):
    deframer = Deframer(server.max_frame_bytes)
    # One buffer read into again and again: a fresh 1 MiB bytes per os.read() is mapped and unmapped
    # each time (70-90 µs of CPU per read here, against 6-7 µs for this); the deframer copies what it keeps.
    source = io.FileIO(in_fd, "rb", closefd=False)
    block = bytearray(_READ_SIZE)
    view = memoryview(block)
    while not server.stopping:
        room = deframer.room()
        n = source.readinto(view if room is None else room)
        if not n:
            break
        out = []
        for item in (deframer.feed(view[:n]) if room is None else deframer.filled(n)):
            server.handle(item, out)
            if server.stopping:
                break
        server.start_async()
        if out:
            server.writer.send(out)
    server.runner.close()
    if server.executor is not None:
        server.executor.shutdown(wait=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python3 -m molt.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--handler", required=True, help="a .py file or an importable module that registers commands")
    parser.add_argument("--threads", type=int, default=1, help="run handlers on N threads, answering out of order (default 1)")
    parser.add_argument("--concurrency", type=int, default=64, help="async calls running at once (default 64)")
    parser.add_argument("--max-frame-bytes", type=int, default=DEFAULT_MAX_FRAME_BYTES, help="largest frame accepted or sent")
    parser.add_argument("--host-minor", type=int, default=0,
                        help="the host's protocol minor: from 3, bytes in results are sent as binary attachments (default 0)")
    parser.add_argument("--shared-ring-bytes", type=int, default=0,
                        help="make two rings of this size in memory the host can map (a memfd its hello names): "
                             "large attachments go through them (default 0: none)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be a positive integer, received {args.threads}")
    if args.concurrency < 1:
        parser.error(f"--concurrency must be a positive integer, received {args.concurrency}")
    if args.max_frame_bytes < 64:
        parser.error(f"--max-frame-bytes must be at least 64, received {args.max_frame_bytes}")
    if args.host_minor < 0:
        parser.error(f"--host-minor must be a non-negative integer, received {args.host_minor}")
    if args.shared_ring_bytes < 0:
        parser.error(f"--shared-ring-bytes must be a non-negative integer, received {args.shared_ring_bytes}")
    return args


def main(argv=None):
    args = parse_args(argv)
    lead_own_group()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent()
    global writer
    writer = Writer(reserve_stdout())
    server = Server(writer, args.max_frame_bytes, args.threads, args.concurrency, args.host_minor)
    builtins.install(server.counters, args.handler)
    try:
        load_handler(args.handler)
    except HandlerLoadError as e:
        sys.stderr.write(f"molt worker: {e}\n")
        sys.stderr.flush()
        return e.exit_code
    # Made once the handler's own imports have run: none of them can have closed or reused its descriptor.
    shared = None if args.shared_ring_bytes == 0 else SharedRegion.create(args.shared_ring_bytes)
    server.use_rings(shared)
    hello = {
        "protocol": PROTOCOL_VERSION,
        "minor": PROTOCOL_MINOR,
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "handler": args.handler,
        "threads": args.threads,
        "concurrency": args.concurrency,
        "commands": sorted(c.name for c in all_commands()),
    }
    if shared is not None:
        hello["shared_memory"] = shared.fd
    writer.send((encode_frame(_dumps({"id": 0, "ok": True, "result": hello}).encode()),))
    serve(0, server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
