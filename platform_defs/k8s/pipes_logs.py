"""Read the Spark pod's Pipes messages from its log without letting the log stream hold the step.

`PipesK8sClient.run` follows the pod's log to its end *before* it starts the wait bounded by
`pod_wait_timeout`: if the stream never ends, the step never ends (the library reconnects every
hour, for ever). A kubelet ends the stream when the container exits, but nothing guarantees it:
a node that is lost or a kubelet that restarts leaves the follow open, and kwok (the loopback
control plane's kubelet) never ends one at all (its CRI stub answers `Unavailable`, which
cri-client's ReadLogs reads as "still running"). So here the follow runs in a thread while the
client waits for the pod to terminate, bounded by `pod_wait_timeout`; once it has terminated the
reader gets `LOG_GRACE_SECONDS` to deliver the rest (it stops early when the stream ends or the
Pipes `closed` message, the process's last word, has arrived), and then the stream is shut.
"""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.pipes.utils import extract_message_or_forward_to_stdout
from dagster_k8s import PipesK8sClient
from dagster_k8s.client import WaitForPodState
from dagster_k8s.pipes import PipesK8sPodLogsMessageReader

LOG_GRACE_SECONDS = 30.0
READY_TIMEOUT_SECONDS = 1800.0  # the library's own bound for the wait before the first read


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Complete lines as they arrive. The library's parser holds each line back until the next
    one starts (to join lines that share a timestamp), so on a follow that does not end the
    last line, the Pipes `closed` message, would never be handed on; with `timestamps=True`
    every line carries its own timestamp, and a line is one log item."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        yield from (line for line in complete if line)
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


class _Reader(PipesK8sPodLogsMessageReader):
    """The library's reader, keeping the session's handler where the follow thread sees it."""

    handler: Any = None

    @contextmanager
    def read_messages(self, handler: Any) -> Iterator[Any]:
        self.handler = handler
        try:
            with super().read_messages(handler) as params:
                yield params
        finally:
            self.handler = None


class _Follow(threading.Thread):
    """One `follow=True, timestamps=True` read of the pod's log, fed to the Pipes handler."""

    def __init__(self, core_api: Any, pod: str, namespace: str, handler: Any) -> None:
        super().__init__(name=f"pipes-log-{pod}", daemon=True)
        self._core_api, self._pod, self._namespace, self.handler = core_api, pod, namespace, handler
        self._response: Any = None
        self._stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._response = self._core_api.read_namespaced_pod_log(
                self._pod,
                self._namespace,
                follow=True,
                timestamps=True,
                _preload_content=False,
            )
            for line in _lines(self._response.stream()):
                _, _, log = line.partition(" ")  # `<RFC 3339 timestamp> <line>`
                extract_message_or_forward_to_stdout(self.handler, log)
        except Exception as exc:  # a shut stream raises; anything else is the step's error
            if not self._stopping.is_set():
                self.error = exc

    def finish(self, grace: float) -> None:
        """Wait until the stream ended or the `closed` message came (at most `grace`), then
        shut the stream and re-raise what the read failed with."""
        deadline = time.monotonic() + grace
        while self.is_alive() and time.monotonic() < deadline:
            if self.handler.received_closed_message:
                break
            self.join(timeout=0.2)
        self._stopping.set()
        if self._response is not None:
            self._response.shutdown()
            self._response.release_conn()
        self.join(timeout=5.0)
        if self.error is not None:
            raise RuntimeError(
                f"reading the log of pod {self._namespace}/{self._pod} failed: {self.error}"
            ) from self.error


class BoundedLogsK8sClient(PipesK8sClient):
    """`PipesK8sClient` whose log follow runs beside the bounded wait for termination."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(message_reader=_Reader(), **kwargs)

    @contextmanager
    def consume_pod_logs(
        self,
        context: Any,
        client: Any,
        namespace: str,
        pod_name: str,
        enable_multi_container_logs: bool = False,
        ignore_containers: set[str] | None = None,
    ) -> Iterator[None]:
        reader = self.message_reader
        assert isinstance(reader, _Reader) and reader.handler is not None
        client.wait_for_pod(
            pod_name,
            namespace,
            wait_for_state=WaitForPodState.Ready,
            wait_time_between_attempts=self.poll_interval,
            wait_timeout=READY_TIMEOUT_SECONDS,
            ignore_containers=ignore_containers,
        )
        follow = _Follow(client.core_api, pod_name, namespace, reader.handler)
        follow.start()
        try:
            yield  # PipesK8sClient.run: wait_for_pod(Terminated, wait_timeout=pod_wait_timeout)
        finally:
            follow.finish(LOG_GRACE_SECONDS)
