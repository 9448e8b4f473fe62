"""Stand-in for comfy.utils.ProgressBar and its global hook, throttled as in ComfyUI 0.38."""

from __future__ import annotations

import time

PROGRESS_BAR_HOOK = None
PROGRESS_THROTTLE_MIN_INTERVAL = 0.1  # seconds between two updates sent
PROGRESS_THROTTLE_MIN_PERCENT = 0.5  # of the total, between two updates sent


def set_progress_bar_global_hook(function) -> None:
    global PROGRESS_BAR_HOOK
    PROGRESS_BAR_HOOK = function


class ProgressBar:
    def __init__(self, total, node_id=None):
        self.total = total
        self.current = 0
        self.hook = PROGRESS_BAR_HOOK
        self.node_id = node_id
        self._last_time = 0.0
        self._last_sent = -1

    def update_absolute(self, value, total=None, preview=None):
        if total is not None:
            self.total = total
        if value > self.total:
            value = self.total
        self.current = value
        if self.hook is not None and self._should_send(value, preview):
            self._last_time, self._last_sent = time.perf_counter(), value
            self.hook(self.current, self.total, preview, node_id=self.node_id)

    def _should_send(self, value, preview) -> bool:
        """0.38: the first, the final and previews always; otherwise only 100 ms and 0.5 % after
        the last value sent, so a value lower than that is never sent."""
        if preview is not None or self._last_sent < 0 or value >= self.total:
            return True
        percent = (value - max(0, self._last_sent)) / self.total * 100 if self.total > 0 else 0
        waited = time.perf_counter() - self._last_time
        return waited >= PROGRESS_THROTTLE_MIN_INTERVAL and percent >= PROGRESS_THROTTLE_MIN_PERCENT

    def update(self, value):
        self.update_absolute(self.current + value)
