"""The worker's asyncio loop, on a thread of its own, for ``async def`` commands.

The reading thread hands requests over in batches (one wake-up of the loop
per read, however many requests it held); answers finished in the same
loop iteration leave in one write. A semaphore bounds the calls running at
once (``--concurrency``); the rest wait for a slot in arrival order.
Streamed calls run here too, whatever their handler: each holds a credit
of chunks the host can take, and waits when it is spent.
"""

import threading

# asyncio is imported where it is first needed, on the first async call: importing it takes about 35 ms,
# which a worker serving only synchronous commands would pay at every start.


class AsyncRunner:
    """Runs coroutine commands on a private event loop; started on first use."""

    def __init__(self, concurrency, cancelled, send):
        # cancelled(ctx): the answer of a call cancelled before it answered; send(frames) writes frames.
        self._concurrency = concurrency
        self._cancelled = cancelled
        self._send = send
        self._loop = None
        self._thread = None
        self._slots = None
        self._tasks = {}
        self._credits = {}
        self._out = []

    def submit(self, calls):
        """Start ``[(ctx, make_coroutine), ...]`` on the loop, from the reading thread: each coroutine gives its answer frame."""
        if self._loop is None:
            self._start()
        self._loop.call_soon_threadsafe(self._spawn, calls)

    def cancel(self, request_id):
        """Cancel the task serving ``request_id``, if it is still running (any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._cancel, request_id)

    def credit(self, request_id, n):
        """The host took ``n`` chunks of stream ``request_id``: it may be sent ``n`` more (any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._give, request_id, n)

    def open_credit(self, request_id, window):
        """On the loop: the credit of a stream starting, ``window`` chunks."""
        credit = Credit(window)
        self._credits[request_id] = credit
        return credit

    def close_credit(self, request_id):
        self._credits.pop(request_id, None)

    def emit(self, frame):
        """On the loop: send a frame with the answers of this iteration."""
        self._out.append(frame)
        if len(self._out) == 1:
            # Frames made in this loop iteration go out in one write.
            self._loop.call_soon(self._flush)

    def close(self):
        """Let the running calls finish, then stop the loop and its thread."""
        if self._loop is None:
            return
        import asyncio

        asyncio.run_coroutine_threadsafe(self._drain(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = None

    def _start(self):
        import asyncio

        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self._loop)
            self._slots = asyncio.Semaphore(self._concurrency)
            self._loop.call_soon(ready.set)
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="molt-async", daemon=True)
        self._thread.start()
        ready.wait()

    def _spawn(self, calls):
        for ctx, make in calls:
            task = self._loop.create_task(self._one(ctx, make))
            self._tasks[ctx.request_id] = (task, ctx)
            task.add_done_callback(lambda t, ctx=ctx: self._done(t, ctx))

    async def _one(self, ctx, make):
        import asyncio

        try:
            async with self._slots:
                return await make()
        except asyncio.CancelledError:
            # Cancelled while it ran or while it waited for a slot.
            return self._cancelled(ctx)

    def _done(self, task, ctx):
        del self._tasks[ctx.request_id]
        # A task cancelled before its first step never ran _one at all: it is answered here.
        self._credits.pop(ctx.request_id, None)
        self.emit(self._cancelled(ctx) if task.cancelled() else task.result())

    def _flush(self):
        frames, self._out = self._out, []
        self._send(frames)

    def _cancel(self, request_id):
        entry = self._tasks.get(request_id)
        if entry is not None:
            entry[1]._cancelled = True
            entry[0].cancel()

    def _give(self, request_id, n):
        credit = self._credits.get(request_id)
        if credit is not None:
            credit.give(n)

    async def _drain(self):
        import asyncio

        tasks = [task for task, _ in self._tasks.values()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


class Credit:
    """Chunks a stream may still send before the host takes some (on the loop)."""

    def __init__(self, window):
        import asyncio

        self.available = window
        self._more = asyncio.Event()

    async def take(self):
        while self.available <= 0:
            self._more.clear()
            await self._more.wait()
        self.available -= 1

    def give(self, n):
        self.available += n
        self._more.set()
