"""librdkafka's mock cluster, a real Kafka protocol peer on 127.0.0.1, in a helper process.

:class:`MockKafkaCluster` is what tests use: start it (a context manager), point clients at
``bootstrap``, create topics (``create_topic``), inject faults and clear them (``broker_down`` /
``broker_up``, ``topic_error`` / ``clear_topic_error``, ``request_errors`` /
``clear_request_errors``) and read back what was produced (``messages(topic)``). It needs
confluent-kafka (``pip install 'lambdakit[kafka]'``); without it, creating one raises
:class:`~lambdakit.errors.MissingDependencyError`, while importing this module still works.

The confluent-kafka wheel bundles librdkafka, which exports a mock-cluster C API. Run as a
script (``python -m lambdakit.testing.kafka_cluster [broker_count]``), this module loads
that library with :mod:`ctypes`, starts a mock cluster and prints its bootstrap address
(``127.0.0.1:port,...``) as the first line on stdout (``error <reason>`` if it cannot start).
It then reads one command a line on stdin and answers each with one line, ``ok`` or
``error <reason>``:

- ``create <topic> <partitions> [<replication_factor>]``: create a topic (the mock does not
  implement the CreateTopics API, so ``AdminClient.create_topics`` cannot do this).
- ``down <broker_id>`` / ``up <broker_id>``: close a broker's connections and refuse new ones /
  accept them again (broker ids are 1..broker_count; leadership does not move).
- ``topic_error <topic> <error_code>``: answer Metadata requests for the topic with this error
  (e.g. 29 TOPIC_AUTHORIZATION_FAILED, 3 UNKNOWN_TOPIC_OR_PART); ``clear_error <topic>``.
- ``request_errors <api_key> <error_code>...``: push errors that the next requests with this
  ApiKey (0 Produce, 1 Fetch, 3 Metadata, ...) answer, one each, on any broker;
  ``clear_request_errors <api_key>``.
- ``rebalance_delay <ms>``: the consumer groups' initial rebalance delay (0 from the start,
  where a real broker's 3 s would slow every group join).
- ``ping``; ``quit`` (also on end of input, so the helper dies with its parent's pipe).

The helper process is separate from the tests, so it serves clients in any process and keeps
serving while a child under test is frozen. :class:`MockKafkaCluster` starts and drives it.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import glob
import itertools
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from lambdakit._internal.extras import require
from lambdakit.errors import LambdakitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

    from lambdakit.testing.kafka import Message

# Error codes (rd_kafka_resp_err_t) and ApiKeys the tests use; any number is accepted.
TOPIC_AUTHORIZATION_FAILED = 29
UNKNOWN_TOPIC_OR_PART = 3
NOT_LEADER_FOR_PARTITION = 6
PRODUCE = 0
FETCH = 1
METADATA = 3

_START_TIMEOUT = 10.0
_COMMAND_TIMEOUT = 10.0
# The helper runs this module's main() with the lambdakit this process imported first on its
# path: the same code whatever the child's environment, and not this file run as a script
# (whose directory, first on sys.path, would shadow `kafka` and `secrets` with our modules).
_HELPER = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from lambdakit.testing.kafka_cluster import main; sys.exit(main(sys.argv[1:]))"
)


class KafkaClusterError(LambdakitError, RuntimeError):
    """The helper process failed to start or answered ``error ...``, or a read timed out."""


class MockKafkaCluster:
    """A librdkafka mock cluster in a helper process; a context manager.

    ``with MockKafkaCluster(broker_count=1) as cluster:`` starts it; ``cluster.bootstrap`` is
    the ``bootstrap.servers`` / ``bootstrap_servers`` value for clients (``127.0.0.1:port``, one
    per broker; broker ids are 1..broker_count). The cluster lives in a separate process, so it
    serves clients in any process and keeps serving while a process under test is frozen.
    Raises :class:`~lambdakit.errors.MissingDependencyError` when created without
    confluent-kafka, whose wheel bundles librdkafka.
    """

    def __init__(self, broker_count: int = 1) -> None:
        require("kafka", "MockKafkaCluster")
        self.broker_count = broker_count
        self._proc: subprocess.Popen[str] | None = None
        self._bootstrap: str | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=50)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._names = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> MockKafkaCluster:
        """Start the helper process and return once the cluster has its bootstrap address."""
        if self._proc is not None:
            raise KafkaClusterError("already started")
        self._lines = queue.Queue()
        lambdakit_parent = str(Path(__file__).resolve().parents[2])
        proc = subprocess.Popen(
            [sys.executable, "-c", _HELPER, lambdakit_parent, str(self.broker_count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._proc = proc
        threading.Thread(target=self._drain_stderr, args=(proc,), daemon=True).start()
        threading.Thread(target=self._read_stdout, args=(proc,), daemon=True).start()
        try:
            first = self._readline(_START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        if not first or first.startswith("error"):
            self.stop()
            raise KafkaClusterError(f"helper did not start: {first!r}{self._stderr_tail()}")
        self._bootstrap = first
        return self

    def stop(self) -> None:
        """Stop the helper process (and with it the cluster and every message in it)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write("quit\n")
                proc.stdin.flush()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()

    def __enter__(self) -> MockKafkaCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def bootstrap(self) -> str:
        """The clients' ``bootstrap.servers``: ``127.0.0.1:port`` per broker, comma-separated."""
        if self._bootstrap is None or self._proc is None:
            raise KafkaClusterError("not started")
        return self._bootstrap

    @property
    def pid(self) -> int:
        """The helper process's id."""
        if self._proc is None:
            raise KafkaClusterError("not started")
        return self._proc.pid

    # -- commands --------------------------------------------------------------------------

    def create_topic(
        self, name: str | None = None, partitions: int = 1, replication_factor: int = 1
    ) -> str:
        """Create a topic (a fresh, unique name when none is given) and return its name."""
        if name is None:
            name = f"topic-{os.getpid()}-{next(self._names)}"
        self.command(f"create {name} {partitions} {replication_factor}")
        return name

    def broker_down(self, broker_id: int = 1) -> None:
        """Close the broker's connections and refuse new ones until ``broker_up(broker_id)``
        (leadership does not move: its partitions are unreachable, as in an outage)."""
        self.command(f"down {broker_id}")

    def broker_up(self, broker_id: int = 1) -> None:
        """Accept connections to the broker again after ``broker_down``."""
        self.command(f"up {broker_id}")

    def topic_error(self, topic: str, error_code: int) -> None:
        """Answer Metadata requests for ``topic`` with ``error_code`` (e.g.
        ``TOPIC_AUTHORIZATION_FAILED``) until ``clear_topic_error(topic)``: producers to it
        fail their deliveries."""
        self.command(f"topic_error {topic} {error_code}")

    def clear_topic_error(self, topic: str) -> None:
        """End a ``topic_error``: the topic's metadata is served normally again."""
        self.command(f"clear_error {topic}")

    def request_errors(self, api_key: int, *error_codes: int) -> None:
        """Make the next requests of ``api_key`` (``PRODUCE``, ``FETCH``, ``METADATA`` ...) on
        any broker answer these errors, one request each, in order; later requests succeed.
        ``clear_request_errors(api_key)`` drops the ones not used up."""
        self.command(f"request_errors {api_key} {' '.join(map(str, error_codes))}")

    def clear_request_errors(self, api_key: int) -> None:
        """Drop the errors ``request_errors`` pushed for ``api_key`` that no request has used."""
        self.command(f"clear_request_errors {api_key}")

    def rebalance_delay(self, ms: int) -> None:
        """The consumer groups' initial rebalance delay (0 from the start; a real broker's 3 s
        default would slow every group join)."""
        self.command(f"rebalance_delay {ms}")

    def messages(self, topic: str, *, timeout: float = 10.0) -> list[Message]:
        """Every message on ``topic`` now, read back from the start of each partition, in
        partition then offset order, as the :class:`~lambdakit.testing.kafka.Message` type
        :class:`~lambdakit.testing.RecordingProducer` records (with ``partition`` and
        ``offset`` where each was written).

        What "now" holds is each partition's high watermark when the call starts: produce and
        flush first. No consumer group is joined (partitions are assigned directly), so nothing
        is committed and the call can be repeated. Raises :class:`KafkaClusterError` when the
        topic's metadata is refused or the messages are not all read within ``timeout``.
        """
        from confluent_kafka import Consumer, TopicPartition

        from lambdakit.testing.kafka import Message

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"lambdakit-messages-{os.getpid()}-{next(self._names)}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            }
        )
        deadline = time.monotonic() + timeout
        try:
            metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
            if metadata is None or metadata.error is not None:
                error = "unknown topic" if metadata is None else metadata.error
                raise KafkaClusterError(f"messages({topic!r}): {error}")
            ends: dict[int, int] = {}  # partition -> offset after its last message
            starts = []
            for partition in sorted(metadata.partitions):
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=timeout
                )
                if high > low:
                    ends[partition] = high
                    starts.append(TopicPartition(topic, partition, low))
            read: list[Message] = []
            if starts:
                consumer.assign(starts)
            while ends:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise KafkaClusterError(
                        f"messages({topic!r}): {len(read)} read, partitions {sorted(ends)} "
                        f"not read to their end within {timeout:g} s"
                    )
                message = consumer.poll(min(remaining, 0.5))
                if message is None:
                    continue
                if message.error() is not None:
                    raise KafkaClusterError(f"messages({topic!r}): {message.error()}")
                partition, offset = message.partition(), message.offset()
                if partition is None or offset is None:  # only events that are not messages
                    continue
                read.append(
                    Message(
                        topic,
                        message.value(),
                        message.key(),
                        _header_bytes(message.headers()),
                        partition,
                        offset,
                    )
                )
                if offset + 1 >= ends[partition]:
                    del ends[partition]
        finally:
            consumer.close()
        return sorted(read, key=lambda m: (m.partition or 0, m.offset or 0))

    def command(self, line: str) -> None:
        """Send one command line; raise :class:`KafkaClusterError` unless it answers ``ok``."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None:
                raise KafkaClusterError("not started")
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            except OSError as exc:
                raise KafkaClusterError(f"helper is gone: {exc}{self._stderr_tail()}") from exc
            answer = self._readline(_COMMAND_TIMEOUT)
        if answer != "ok":
            raise KafkaClusterError(f"{line!r}: {answer}")

    # -- internals -------------------------------------------------------------------------

    def _readline(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise KafkaClusterError(
                f"helper did not answer in {timeout} s{self._stderr_tail()}"
            ) from None
        if line is None:
            code = self._proc.poll() if self._proc else None
            raise KafkaClusterError(f"helper exited ({code}){self._stderr_tail()}")
        return line

    def _read_stdout(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _drain_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                self._stderr.append(line.rstrip("\n"))

    def _stderr_tail(self) -> str:
        lines = list(self._stderr)[-10:]
        return ("\n  helper stderr:\n  " + "\n  ".join(lines)) if lines else ""


def _header_bytes(
    headers: dict[str, str | bytes | None] | list[tuple[str, str | bytes | None]] | None,
) -> dict[str, bytes | None]:
    """A consumed message's headers (``(name, value)`` pairs) as
    :class:`~lambdakit.testing.kafka.Message` holds them; a repeated name keeps its last value."""
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    return {name: value.encode() if isinstance(value, str) else value for name, value in pairs}


# -- the helper process --------------------------------------------------------------------


def _find_librdkafka() -> str:
    import importlib.util

    spec = importlib.util.find_spec("confluent_kafka")
    if spec is None or not spec.submodule_search_locations:
        raise KafkaClusterError("confluent_kafka is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    patterns = (
        package.parent / "confluent_kafka.libs" / "librdkafka*.so*",  # Linux wheels
        package / ".dylibs" / "librdkafka*.dylib",  # macOS wheels
        package / "**" / "librdkafka*",
    )
    for pattern in patterns:
        found = sorted(glob.glob(str(pattern), recursive=True))
        if found:
            return found[0]
    raise KafkaClusterError(f"no librdkafka shared library beside {package}")


class _Cluster:
    """The ctypes side: a handle that owns a mock cluster, and the calls on it."""

    def __init__(self, broker_count: int) -> None:
        lib = ctypes.CDLL(_find_librdkafka())
        vp, cp, i32, i16 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int16
        err = ctypes.c_int  # rd_kafka_resp_err_t
        signatures = {
            "rd_kafka_conf_new": (vp, []),
            "rd_kafka_conf_set": (ctypes.c_int, [vp, cp, cp, cp, ctypes.c_size_t]),
            "rd_kafka_new": (vp, [ctypes.c_int, vp, cp, ctypes.c_size_t]),
            "rd_kafka_destroy": (None, [vp]),
            "rd_kafka_err2name": (cp, [err]),
            "rd_kafka_mock_cluster_new": (vp, [vp, ctypes.c_int]),
            "rd_kafka_mock_cluster_destroy": (None, [vp]),
            "rd_kafka_mock_cluster_bootstraps": (cp, [vp]),
            "rd_kafka_mock_topic_create": (err, [vp, cp, ctypes.c_int, ctypes.c_int]),
            "rd_kafka_mock_topic_set_error": (None, [vp, cp, err]),
            "rd_kafka_mock_broker_set_down": (err, [vp, i32]),
            "rd_kafka_mock_broker_set_up": (err, [vp, i32]),
            "rd_kafka_mock_group_initial_rebalance_delay_ms": (None, [vp, i32]),
            "rd_kafka_mock_push_request_errors_array": (
                None,
                [vp, i16, ctypes.c_size_t, ctypes.POINTER(err)],
            ),
            "rd_kafka_mock_clear_request_errors": (None, [vp, i16]),
        }
        for name, (restype, argtypes) in signatures.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        self.lib = lib
        self.broker_count = broker_count

        conf = lib.rd_kafka_conf_new()
        errstr = ctypes.create_string_buffer(512)
        # The handle only owns the cluster; keep it quiet about having no bootstrap servers.
        for key, value in ((b"log_level", b"3"), (b"client.id", b"mock-cluster-owner")):
            if lib.rd_kafka_conf_set(conf, key, value, errstr, len(errstr)) != 0:
                raise KafkaClusterError(errstr.value.decode())
        self.rk = lib.rd_kafka_new(0, conf, errstr, len(errstr))  # RD_KAFKA_PRODUCER
        if not self.rk:
            raise KafkaClusterError(f"rd_kafka_new: {errstr.value.decode()}")
        self.mcluster = lib.rd_kafka_mock_cluster_new(self.rk, broker_count)
        if not self.mcluster:
            lib.rd_kafka_destroy(self.rk)
            raise KafkaClusterError("rd_kafka_mock_cluster_new failed")
        lib.rd_kafka_mock_group_initial_rebalance_delay_ms(self.mcluster, 0)
        self.bootstrap = lib.rd_kafka_mock_cluster_bootstraps(self.mcluster).decode()

    def close(self) -> None:
        self.lib.rd_kafka_mock_cluster_destroy(self.mcluster)
        self.lib.rd_kafka_destroy(self.rk)

    def _check(self, code: int) -> str:
        if code == 0:
            return "ok"
        return f"error {self.lib.rd_kafka_err2name(code).decode()} ({code})"

    def _broker(self, arg: str) -> int:
        broker_id = int(arg)
        if not 1 <= broker_id <= self.broker_count:
            raise ValueError(f"no broker {broker_id} (brokers are 1..{self.broker_count})")
        return broker_id

    def execute(self, words: list[str]) -> str:
        lib, mc = self.lib, self.mcluster
        match words:
            case ["ping"]:
                return "ok"
            case ["create", topic, partitions, *rest] if len(rest) <= 1:
                counts = [int(partitions), int(rest[0]) if rest else 1]
                if min(counts) < 1:  # librdkafka aborts the process on a negative count
                    raise ValueError("partitions and replication factor must be at least 1")
                return self._check(lib.rd_kafka_mock_topic_create(mc, topic.encode(), *counts))
            case ["down", broker]:
                return self._check(lib.rd_kafka_mock_broker_set_down(mc, self._broker(broker)))
            case ["up", broker]:
                return self._check(lib.rd_kafka_mock_broker_set_up(mc, self._broker(broker)))
            case ["topic_error", topic, code]:
                lib.rd_kafka_mock_topic_set_error(mc, topic.encode(), int(code))
                return "ok"
            case ["clear_error", topic]:
                lib.rd_kafka_mock_topic_set_error(mc, topic.encode(), 0)
                return "ok"
            case ["request_errors", api_key, *codes] if codes:
                errors = (ctypes.c_int * len(codes))(*map(int, codes))
                lib.rd_kafka_mock_push_request_errors_array(mc, int(api_key), len(codes), errors)
                return "ok"
            case ["clear_request_errors", api_key]:
                lib.rd_kafka_mock_clear_request_errors(mc, int(api_key))
                return "ok"
            case ["rebalance_delay", ms]:
                lib.rd_kafka_mock_group_initial_rebalance_delay_ms(mc, int(ms))
                return "ok"
            case _:
                return f"error unknown command {' '.join(words)!r}"


def main(argv: list[str]) -> int:
    broker_count = int(argv[0]) if argv else 1
    try:
        cluster = _Cluster(broker_count)
    except Exception as exc:  # report on stdout, where the parent is waiting
        print(f"error {exc}", flush=True)
        return 1
    print(cluster.bootstrap, flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words == ["quit"]:
                print("ok", flush=True)
                break
            try:
                answer = cluster.execute(words)
            except (ValueError, OverflowError) as exc:
                answer = f"error {exc}"
            print(answer, flush=True)
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
