"""The event loop that runs ``async def`` agents of a blocking ``Hive``.

A blocking program has no running event loop of its own, so the package
keeps one on a daemon thread, started on first use and shared by every hive.
"""

import asyncio
import threading

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The shared background loop, started on first call."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="agent-hive-loop", daemon=True
            )
            thread.start()
            _loop = loop
        return _loop
