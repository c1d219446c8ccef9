"""The DynamoDB store: one conditional write per lock, one write per result.

A first call costs two requests (PutItem taking the lock, PutItem storing the result). A
duplicate costs one: the failed conditional PutItem returns the item it collided with
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``), so no GetItem follows. Expired items are
overwritten by the same conditional write, because DynamoDB's TTL deletes them only lazily.

The table is Powertools' (partition key ``id`` by default; attributes ``expiration``,
``in_progress_expiration``, ``status``, ``data``, ``validation``), optionally with a sort key.
Throttling is retried by botocore's standard retry mode on the client lambdakit creates, never
by a loop here.
"""

from __future__ import annotations

import time

from lambdakit.errors import (
    IdempotencyConfigurationError,
    IdempotencyPersistenceError,
    IdempotencySerializationError,
)
from lambdakit.idempotency._record import INPROGRESS, StoredRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambdakit._internal.clock import Clock

_CONDITION_FAILED = "ConditionalCheckFailedException"

# The lock may be taken when no record exists, the record expired, or it is a lock whose own
# expiry passed (its call crashed or timed out). Powertools uses the same condition.
_ACQUIRE_CONDITION = (
    "attribute_not_exists(#key) OR #expiry < :now OR "
    "(#status = :inprogress AND attribute_exists(#lock_expiry) AND #lock_expiry < :now_ms)"
)
_RELEASE_CONDITION = "#status = :inprogress AND #token = :token"
# DynamoDB's item size limit; a result that does not fit cannot be stored.
MAX_ITEM_BYTES = 400 * 1024
_TAKEN = StoredRecord("", INPROGRESS, 0)  # sentinel: the conditional write succeeded
# What warm() reads: not a key @idempotent makes (those are "<prefix>#<hash>").
WARM_UP_KEY = "lambdakit-warm-up"


class DynamoDBStore:
    """``IdempotencyStore`` on a DynamoDB table.

    ``client`` defaults to lambdakit's shared, lazily created client (standard retry mode,
    ``AWS_ENDPOINT_URL*`` honoured). ``clock`` returns epoch seconds (default ``time.time``); tests
    inject one to cross expiry without waiting. With ``sort_key_attr``, items are keyed like
    Powertools' composite layout: ``static_pk_value`` (default ``idempotency#<function name>``)
    in ``key_attr`` and the idempotency key in the sort key.
    """

    def __init__(
        self,
        table_name: str,
        *,
        key_attr: str = "id",
        client: Any = None,
        region_name: str | None = None,
        sort_key_attr: str | None = None,
        static_pk_value: str | None = None,
        expiry_attr: str = "expiration",
        in_progress_expiry_attr: str = "in_progress_expiration",
        status_attr: str = "status",
        data_attr: str = "data",
        validation_attr: str = "validation",
        token_attr: str = "lock_token",
        clock: Clock | None = None,
    ) -> None:
        names = {
            "key_attr": key_attr,
            "expiry_attr": expiry_attr,
            "in_progress_expiry_attr": in_progress_expiry_attr,
            "status_attr": status_attr,
            "data_attr": data_attr,
            "validation_attr": validation_attr,
            "token_attr": token_attr,
        }
        if sort_key_attr is not None:
            names["sort_key_attr"] = sort_key_attr
        for option, value in {"table_name": table_name, **names}.items():
            if not isinstance(value, str) or not value:
                raise IdempotencyConfigurationError(
                    f"{option}={value!r}: expected a non-empty string"
                )
        if len(set(names.values())) != len(names):
            raise IdempotencyConfigurationError(f"attribute names must differ: {names}")
        self.table_name = table_name
        self.key_attr = key_attr
        self.sort_key_attr = sort_key_attr
        self.static_pk_value = static_pk_value
        self._region_name = region_name
        self._client = client
        self._clock: Clock = clock or time.time
        self._names = {
            "#key": key_attr,
            "#expiry": expiry_attr,
            "#lock_expiry": in_progress_expiry_attr,
            "#status": status_attr,
        }
        self._token_attr = token_attr
        self._attrs = (
            status_attr,
            expiry_attr,
            in_progress_expiry_attr,
            data_attr,
            validation_attr,
            token_attr,
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            from lambdakit._internal.clients import client

            return client("dynamodb", region_name=self._region_name)
        return self._client

    def now(self) -> float:
        return self._clock()

    def warm(self, timeout: float | None = None) -> None:
        """Make the first call's requests cost what every later one costs, at init (where
        ``lambdakit.warm_up`` calls it): import boto3, create the client, and send one GetItem
        for a key no call ever uses, which opens the connection (TLS included), signs with the
        function's credentials, loads the operation models, and proves the table exists and
        can be read. It costs one eventually consistent read (half a read capacity unit) and
        needs only the ``dynamodb:GetItem`` permission the store needs anyway. A failure raises
        :class:`~lambdakit.errors.IdempotencyPersistenceError` naming the table.

        ``timeout`` is accepted for ``warm_up``'s protocol and otherwise unused: one request
        is bounded by the client's own timeouts, and ``warm_up`` stops waiting at its budget.
        Nothing is needed for provisioned concurrency (its environments run init before their
        first request); after a SnapStart restore ``warm_up`` replaces lambdakit's clients and
        calls this again."""
        try:
            self.client.get_item(
                TableName=self.table_name,
                Key=self._key(WARM_UP_KEY),
                ProjectionExpression="#key",
                ExpressionAttributeNames={"#key": self.key_attr},
            )
        except _service_errors() as exc:
            raise self._failure("GetItem (warm-up)", exc) from exc

    # --- the protocol ---------------------------------------------------------------------------

    def acquire(self, record: StoredRecord) -> StoredRecord | None:
        for _ in range(3):
            found = self._put_lock(record)
            if found is _TAKEN:
                return None
            if found is not None:
                return found
            # A DynamoDB-compatible store that does not return the old item: one more read.
            # None means the record expired or was released in between: try the lock again.
            seen = self.get(record.key)
            if seen is not None:
                return seen
        raise IdempotencyPersistenceError(
            f"{record.key}: the lock could neither be taken nor read on table "
            f"{self.table_name!r} (a store that ignores ReturnValuesOnConditionCheckFailure?)"
        )

    def _put_lock(self, record: StoredRecord) -> StoredRecord | None:
        """``_TAKEN``, the record in the way, or ``None`` when the store did not return it."""
        now = self._clock()
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._item(record),
                ConditionExpression=_ACQUIRE_CONDITION,
                ExpressionAttributeNames=self._names,
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now))},
                    ":now_ms": {"N": str(int(now * 1000))},
                    ":inprogress": {"S": INPROGRESS},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return _TAKEN
        except _service_errors() as exc:
            if _error_code(exc) != _CONDITION_FAILED:
                raise self._failure("PutItem (lock)", exc) from exc
            item = getattr(exc, "response", {}).get("Item")
        return None if item is None else self._record(item)

    def complete(self, record: StoredRecord) -> None:
        item = self._item(record)
        size = _item_size(item)
        if size > MAX_ITEM_BYTES:
            raise IdempotencySerializationError(
                f"{record.key}: the stored result would make a {size:,}-byte item; DynamoDB "
                f"items are limited to {MAX_ITEM_BYTES:,} bytes"
            )
        try:
            self.client.put_item(TableName=self.table_name, Item=item)
        except _service_errors() as exc:
            raise self._failure("PutItem (result)", exc) from exc

    def release(self, lock: StoredRecord) -> None:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=self._key(lock.key),
                ConditionExpression=_RELEASE_CONDITION,
                ExpressionAttributeNames={
                    "#status": self._names["#status"],
                    "#token": self._token_attr,
                },
                ExpressionAttributeValues={
                    ":inprogress": {"S": INPROGRESS},
                    ":token": {"S": lock.token or ""},
                },
            )
        except _service_errors() as exc:
            if _error_code(exc) == _CONDITION_FAILED:
                return  # no longer our lock: someone took over after it expired
            raise self._failure("DeleteItem (release)", exc) from exc

    def get(self, key: str) -> StoredRecord | None:
        try:
            response = self.client.get_item(
                TableName=self.table_name, Key=self._key(key), ConsistentRead=True
            )
        except _service_errors() as exc:
            raise self._failure("GetItem", exc) from exc
        item = response.get("Item")
        if item is None:
            return None
        found = self._record(item)
        return found if found.is_live(self._clock()) else None

    # --- items ----------------------------------------------------------------------------------

    def _key(self, key: str) -> dict[str, Any]:
        if self.sort_key_attr is None:
            return {self.key_attr: {"S": key}}
        import os

        partition = self.static_pk_value or (
            "idempotency#" + os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        )
        return {self.key_attr: {"S": partition}, self.sort_key_attr: {"S": key}}

    def _item(self, record: StoredRecord) -> dict[str, Any]:
        status, expiry, lock_expiry, data, validation, token = self._attrs
        item: dict[str, Any] = {
            **self._key(record.key),
            status: {"S": record.status},
            expiry: {"N": str(record.expiration)},
        }
        if record.in_progress_expiration is not None:
            item[lock_expiry] = {"N": str(record.in_progress_expiration)}
        if record.data is not None:
            item[data] = {"S": record.data}
        if record.validation is not None:
            item[validation] = {"S": record.validation}
        if record.token is not None:
            item[token] = {"S": record.token}
        return item

    def _record(self, item: dict[str, Any]) -> StoredRecord:
        status, expiry, lock_expiry, data, validation, token = self._attrs
        key_attr = self.sort_key_attr or self.key_attr
        return StoredRecord(
            key=_string(item.get(key_attr)) or "",
            status=_string(item.get(status)) or "",
            expiration=_number(item.get(expiry)) or 0,
            in_progress_expiration=_number(item.get(lock_expiry)),
            data=_string(item.get(data)),
            validation=_string(item.get(validation)),
            token=_string(item.get(token)),
        )

    def _failure(self, operation: str, exc: BaseException) -> IdempotencyPersistenceError:
        code = _error_code(exc)
        detail = f"{code}: {_error_message(exc)}" if code else f"{type(exc).__name__}: {exc}"
        return IdempotencyPersistenceError(
            f"DynamoDB {operation} on table {self.table_name!r} failed: {detail}"
        )

    def __repr__(self) -> str:
        return f"DynamoDBStore(table_name={self.table_name!r}, key_attr={self.key_attr!r})"


def _service_errors() -> tuple[type[BaseException], ...]:
    """What botocore raises for a failed request (evaluated only when something was raised)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code if isinstance(code, str) else None
    return None


def _error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", ""))
    return str(exc)


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item of string and number attributes: names plus values, in
    UTF-8 bytes (numbers counted by their digits, an upper bound of their stored size)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        for text in value.values():
            size += len(text.encode("utf-8", "surrogatepass"))
    return size


def _string(value: Any) -> str | None:
    return value.get("S") if isinstance(value, dict) and isinstance(value.get("S"), str) else None


def _number(value: Any) -> int | None:
    if not isinstance(value, dict) or not isinstance(value.get("N"), str):
        return None
    text = value["N"]
    try:
        return int(text)
    except ValueError:
        from decimal import Decimal

        return int(Decimal(text))
