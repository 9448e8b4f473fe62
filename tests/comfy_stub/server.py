"""Stand-in for server.PromptServer: the progress text it would send to the browser."""

from __future__ import annotations


class PromptServer:
    instance: PromptServer | None = None

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []  # test-only: (node id, text) sent
        PromptServer.instance = self

    def send_progress_text(self, text, node_id, sid=None) -> None:
        self.texts.append((str(node_id), text if isinstance(text, str) else text.decode("utf-8")))
