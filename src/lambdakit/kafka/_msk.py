"""MSK IAM authentication for :class:`~lambdakit.kafka.Producer`, fit for frozen environments.

MSK's IAM access control speaks SASL/OAUTHBEARER: the token is a SigV4-presigned
``kafka-cluster:Connect`` request, valid for 15 minutes, made by AWS's
``aws-msk-iam-sasl-signer-python`` from the function's role credentials.

Two things go wrong with it on Lambda, and :func:`msk_iam` handles both:

- *Tokens expire while the environment is frozen.* librdkafka refreshes a token at 80% of its
  lifetime from a timer, and confluent-kafka serves that refresh only inside ``poll``/``flush``.
  A frozen environment runs neither, so after an idle period longer than the token's life the
  client still holds an expired token; by then MSK has closed its connections (a session ends
  with its token, and idle connections are closed after 10 minutes anyway), and reconnecting
  with the expired token fails authentication. The :class:`MskIamToken` remembers when the
  client's token expires on the monotonic clock (which keeps counting while frozen), and the
  producer replaces a client whose token has expired before producing through it: the new
  client asks for a fresh token as it is built. Nothing is lost: the connections were gone.
- *Reconnect storms.* A broker accepts new connections at a limited rate (100 per second on
  M5/M7g brokers, 4 on t3.small); beyond it connections fail and clients retry. With librdkafka's
  default back-off (100 ms growing to 10 s) a few hundred environments retrying together keep the
  broker above its limit. The back-off is sized from the fleet: ``concurrency`` environments,
  each retrying once per ``reconnect.backoff.max.ms``, make ``concurrency / max`` attempts per
  second; holding that under ``connections_per_second`` gives
  ``max = 1000 * concurrency / connections_per_second`` milliseconds (docs/kafka.md shows the
  arithmetic).
"""

from __future__ import annotations

import math
import os
import time
from _thread import allocate_lock

from lambdakit._internal import clock as _clock
from lambdakit._internal.extras import require
from lambdakit.errors import KafkaConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambdakit._internal.clock import Clock

    Generate = Callable[[str], tuple[str, float]]

# Ask for a new token this long before the current one expires: a connection being set up must
# not present a token that expires during its handshake.
EXPIRY_MARGIN_S = 30.0
INITIAL_BACKOFF_MS = 1_000
DEFAULT_CONCURRENCY = 1_000  # the default concurrency quota of an account (per region)
DEFAULT_CONNECTIONS_PER_SECOND = 100.0  # MSK's limit per broker on M5/M7g (t3.small: 4)


class MskIamToken:
    """The token source of one producer configuration, and the clock of its expiry.

    Called as confluent-kafka's ``oauth_cb`` (``token(config) -> (token, expiry_epoch_s)``), and
    as kafka-python's token provider (``.token()``, ``.extensions()``). ``expired()`` tells the
    producer that the client's current token outlived its lifetime without being refreshed.
    """

    __slots__ = (
        "_clock",
        "_expiry_epoch",
        "_generate",
        "_lock",
        "_primed",
        "_token",
        "_valid_until",
        "fetched",
        "region",
    )

    def __init__(
        self, region: str, *, clock: Clock | None = None, generate: Generate | None = None
    ):
        self.region = region
        self._clock: Clock = clock or _clock.monotonic
        self._generate = generate
        self._lock = allocate_lock()
        self._token: str | None = None
        self._primed = False
        self._valid_until = -math.inf  # on self._clock's scale
        self._expiry_epoch = 0.0
        self.fetched = 0  # how many tokens were made (observable)

    # confluent-kafka: librdkafka asks exactly when it wants a new token (as the client is built,
    # and at 80% of the current token's lifetime), so this always makes one.
    def __call__(self, oauthbearer_config: str | None = None) -> tuple[str, float]:
        with self._lock:
            if self._primed and self._token is not None:
                self._primed = False
                return self._token, self._expiry_epoch
            return self._fetch()

    # kafka-python: asked on every new connection; a token still well within its life is reused.
    def token(self) -> str:
        with self._lock:
            token = self._token
            if token is None or self._clock() >= self._valid_until - EXPIRY_MARGIN_S:
                token = self._fetch()[0]
            return token

    def extensions(self) -> dict[str, str]:
        return {}

    def expired(self) -> bool:
        """Whether the token last handed to the client is past (or at the margin of) its life:
        on the monotonic clock (which counts through a freeze), or on the wall clock MSK judges
        it by (in case the monotonic clock stalled, as in a paused VM)."""
        if self._token is None:
            return False
        return (
            self._clock() >= self._valid_until - EXPIRY_MARGIN_S
            or time.time() >= self._expiry_epoch - EXPIRY_MARGIN_S
        )

    def prime(self) -> None:
        """A new client is being built: make its token now, so that a signing failure (no
        credentials, say) is raised here, at once and by name. (confluent-kafka would instead
        wait 10 s for a token and then fail with "OAuth token not set".)"""
        with self._lock:
            self._fetch()
            self._primed = True

    def _fetch(self) -> tuple[str, float]:
        generate = self._generate or _signer()
        try:
            token, expiry_ms = generate(self.region)
        except Exception as exc:
            from lambdakit.errors import KafkaError

            raise KafkaError(
                f"msk_iam({self.region!r}): could not sign an MSK IAM token: "
                f"{type(exc).__name__}: {exc} (the signer reads the default AWS credentials: "
                "on Lambda, the function role's)"
            ) from exc
        expiry_epoch = expiry_ms / 1000  # the signer says milliseconds; librdkafka wants seconds
        lifetime = expiry_epoch - time.time()
        if lifetime <= 2 * EXPIRY_MARGIN_S:  # it would count as expired at once, every time
            raise KafkaConfigurationError(
                f"msk_iam({self.region!r}): the signer made a token that expires in "
                f"{lifetime:.0f} s (expiry {expiry_epoch:.0f}, now {time.time():.0f}): is the "
                "system clock wrong?"
            )
        self._token = token
        self._valid_until = self._clock() + lifetime
        self._expiry_epoch = expiry_epoch
        self.fetched += 1
        return token, expiry_epoch

    def __repr__(self) -> str:  # never the token: it is a credential
        return f"MskIamToken(region={self.region!r}, fetched={self.fetched})"


def _signer() -> Generate:
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

    generate: Generate = MSKAuthTokenProvider.generate_auth_token
    return generate


def msk_iam(
    region: str | None = None,
    *,
    backend: str = "confluent",
    concurrency: int = DEFAULT_CONCURRENCY,
    connections_per_second: float = DEFAULT_CONNECTIONS_PER_SECOND,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """The producer configuration for MSK with IAM access control (merge in the bootstrap).

    ``region`` defaults to ``AWS_REGION`` (set by Lambda). ``concurrency`` is how many execution
    environments may connect at once (the function's reserved concurrency, or the account's
    quota) and ``connections_per_second`` the broker's connection-rate limit (100 on M5/M7g, 4
    on t3.small): they size the reconnect back-off. ``backend`` picks the key names
    (confluent-kafka's or kafka-python's). ``clock`` (monotonic seconds) is for tests.

    Without AWS's signer installed this raises
    :class:`~lambdakit.errors.MissingDependencyError` (``pip install 'lambdakit[msk]'``) now,
    not when the first client asks for a token.
    """
    from lambdakit.kafka._producer import BACKENDS

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not isinstance(region, str) or not region:
        raise KafkaConfigurationError(
            "msk_iam: no region given and AWS_REGION is not set (pass msk_iam('eu-west-1'))"
        )
    if backend not in BACKENDS:
        raise KafkaConfigurationError(f"msk_iam: backend={backend!r}: expected one of {BACKENDS}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise KafkaConfigurationError(f"msk_iam: concurrency={concurrency!r}: expected an int >= 1")
    if isinstance(connections_per_second, bool) or not (
        isinstance(connections_per_second, (int, float)) and connections_per_second > 0
    ):
        raise KafkaConfigurationError(
            f"msk_iam: connections_per_second={connections_per_second!r}: expected a number > 0"
        )
    require("msk", "msk_iam()")
    token = MskIamToken(region, clock=clock)
    initial, maximum = reconnect_backoff_ms(concurrency, connections_per_second)
    if backend == "confluent":
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "OAUTHBEARER",
            "oauth_cb": token,
            "reconnect.backoff.ms": initial,
            "reconnect.backoff.max.ms": maximum,
        }
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "OAUTHBEARER",
        "sasl_oauth_token_provider": token,
        "reconnect_backoff_ms": initial,
        "reconnect_backoff_max_ms": maximum,
    }


def reconnect_backoff_ms(concurrency: int, connections_per_second: float) -> tuple[int, int]:
    """(initial, maximum) reconnect back-off keeping ``concurrency`` retrying environments
    under ``connections_per_second`` new connections per broker."""
    maximum = max(INITIAL_BACKOFF_MS, math.ceil(1000 * concurrency / connections_per_second))
    return INITIAL_BACKOFF_MS, maximum


def credentials_in(config: dict[str, Any]) -> MskIamToken | None:
    """The MSK IAM token source in a producer's configuration, if any."""
    for value in config.values():
        if isinstance(value, MskIamToken):
            return value
    return None


def prepare_kafka_python(token: MskIamToken) -> None:
    """kafka-python accepts only instances of its AbstractTokenProvider ABC: register ours as a
    virtual subclass (at build time, so importing lambdakit never imports kafka-python)."""
    for module in ("kafka.net.sasl.oauth", "kafka.sasl.oauth", "kafka.oauth.abstract"):
        try:
            provider = __import__(module, fromlist=["AbstractTokenProvider"])
        except ImportError:
            continue
        abstract = getattr(provider, "AbstractTokenProvider", None)
        if abstract is not None and not isinstance(token, abstract):
            abstract.register(MskIamToken)
