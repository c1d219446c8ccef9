"""Signatures and options checked when a decorator is applied, so a call that cannot work is
refused at import instead of failing every record in production."""

from __future__ import annotations

import functools
import logging
from typing import Any

import pytest

from lambdakit.batch import SQSRecord, process_batch
from lambdakit.errors import (
    BatchConfigurationError,
    FilterUsageError,
    IdempotencyConfigurationError,
    IdempotencyKeyError,
    SecretsConfigurationError,
)
from lambdakit.filtering import filter_records
from lambdakit.idempotency import InMemoryStore, idempotent
from lambdakit.secrets import INJECTED, inject_secrets
from lambdakit.testing import LambdaContext, fake_secrets, sqs_event

# --- process_batch: the record handler and the context -----------------------------------------


def run_one(handler: Any) -> list[Any]:
    """What the record handler received (record first), under process_batch."""
    seen: list[Any] = []
    context = LambdaContext()
    process_batch(handler(seen))(sqs_event(["x"]), context)
    return [context if arg is context else type(arg).__name__ for arg in seen[0]]


def test_a_second_positional_parameter_without_a_default_receives_the_context() -> None:
    def make(seen: list[Any]) -> Any:
        def handler(record: SQSRecord, context: Any) -> None:
            seen.append((record, context))

        return handler

    received = run_one(make)
    assert received[0] == "SQSRecord"
    assert isinstance(received[1], LambdaContext)


def test_a_second_positional_parameter_with_a_default_keeps_its_default() -> None:
    def make(seen: list[Any]) -> Any:
        def handler(record: SQSRecord, retries: int = 3) -> None:
            seen.append((record, retries))

        return handler

    assert run_one(make) == ["SQSRecord", "int"]


def test_a_handler_taking_varargs_receives_the_context() -> None:
    def make(seen: list[Any]) -> Any:
        def handler(record: SQSRecord, *args: Any, **kwargs: Any) -> None:
            seen.append((record, *args))

        return handler

    assert isinstance(run_one(make)[1], LambdaContext)


def test_the_rule_looks_through_functools_wraps() -> None:
    def make(seen: list[Any]) -> Any:
        def handler(record: SQSRecord, retries: int = 3) -> None:
            seen.append((record, retries))

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return handler(*args, **kwargs)

        return wrapper

    assert run_one(make) == ["SQSRecord", "int"]


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (lambda: None, "takes no positional parameter"),
        (lambda record, context, extra: None, "requires 3 positional arguments"),
        (lambda record, *, tenant: None, r"keyword-only parameter\(s\) tenant without a default"),
    ],
    ids=["no parameter", "three required", "a required keyword nothing supplies"],
)
def test_a_record_handler_that_cannot_be_called_is_refused(handler: Any, message: str) -> None:
    with pytest.raises(BatchConfigurationError, match=message):
        process_batch(handler)


def test_a_keyword_injected_under_process_batch_is_supplied() -> None:
    @process_batch
    @inject_secrets(api_key="payments")
    def handler(record: SQSRecord, *, api_key: str) -> None:
        assert api_key == "k"

    with fake_secrets({"payments": "k"}):
        assert handler(sqs_event(["x"]), LambdaContext()) == {"batchItemFailures": []}


# --- inject_secrets: a parameter for each injected keyword --------------------------------------


def test_an_injected_keyword_the_function_cannot_receive_is_refused_naming_it() -> None:
    def handler(event: Any, context: Any, *, db: str = INJECTED) -> None: ...

    with pytest.raises(SecretsConfigurationError, match="has no parameter api_key"):
        inject_secrets(db="prod/db", api_key="prod/api")(handler)


def test_a_positional_only_parameter_cannot_receive_a_keyword() -> None:
    def handler(event: Any, api_key: str, /) -> None: ...

    with pytest.raises(SecretsConfigurationError, match="api_key"):
        inject_secrets(api_key="prod/api")(handler)


def test_keyword_parameters_and_kwargs_are_accepted() -> None:
    def positional(event: Any, api_key: str = INJECTED) -> None: ...

    def anything(event: Any, **kwargs: Any) -> None: ...

    inject_secrets(api_key="prod/api")(positional)
    inject_secrets(api_key="prod/api")(anything)


def test_the_injected_default_reads_as_what_it_is() -> None:
    assert repr(INJECTED) == "INJECTED"


# --- filter_records: criteria, not a function --------------------------------------------------


def test_filter_records_without_arguments_says_what_it_expects() -> None:
    def handler(event: Any, context: Any) -> None: ...

    with pytest.raises(FilterUsageError, match=r"needs the filter criteria.*not @filter_records"):
        filter_records(handler)


@pytest.mark.parametrize("criteria", [42, None, {1, 2}, b"{}"], ids=repr)
def test_filter_records_given_something_else_says_what_it_expects(criteria: Any) -> None:
    with pytest.raises(FilterUsageError, match="expected a FilterCriteria"):
        filter_records(criteria)


# --- idempotent: Powertools functions and missing keys -----------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"key": "powertools_json(body).order_id"},
        {"key": "[powertools_base64(data), id]"},
        {"key": "order_id", "validate": "powertools_json(body).amount"},
    ],
    ids=["key", "key inside a list", "validate"],
)
def test_powertools_functions_need_the_powertools_key_format(options: dict[str, str]) -> None:
    with pytest.raises(IdempotencyConfigurationError, match="key_format='powertools'"):
        idempotent(InMemoryStore(), **options)(lambda record: None)


def test_powertools_functions_with_the_powertools_key_format_are_accepted() -> None:
    idempotent(InMemoryStore(), key="powertools_json(body).order_id", key_format="powertools")(
        lambda record: None
    )


def test_a_missing_key_raises_by_default_and_under_a_batch_fails_that_record() -> None:
    ran: list[str] = []

    @process_batch
    @idempotent(InMemoryStore(), key="body.order_id")
    def handler(record: SQSRecord) -> None:
        ran.append(record.body)

    event = sqs_event([{"order_id": "o-1"}, {"no": "id"}])
    answer = handler(event, LambdaContext(timeout=10))
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert len(ran) == 1


def test_a_missing_key_names_the_option_that_runs_without_protection() -> None:
    guarded = idempotent(InMemoryStore(), key="order_id")(lambda event: "ran")
    with pytest.raises(IdempotencyKeyError, match="on_missing_key='run'"):
        guarded({"other": 1})


def test_on_missing_key_run_runs_unprotected_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guarded = idempotent(InMemoryStore(), key="order_id", on_missing_key="run")(lambda e: "ran")
    with caplog.at_level(logging.WARNING, logger="lambdakit.idempotency"):
        assert guarded({"other": 1}) == "ran"
        assert guarded({"other": 1}) == "ran"
    assert len([r for r in caplog.records if "without idempotency" in r.getMessage()]) == 2


def test_the_older_option_still_reads_as_before() -> None:
    run = idempotent(InMemoryStore(), key="order_id", raise_on_missing_key=False)(lambda e: "ran")
    assert run({"other": 1}) == "ran"
    with pytest.raises(IdempotencyConfigurationError, match="contradicts"):
        idempotent(InMemoryStore(), key="k", raise_on_missing_key=True, on_missing_key="run")


def test_an_unknown_missing_key_mode_is_refused() -> None:
    with pytest.raises(IdempotencyConfigurationError, match="on_missing_key='skip'"):
        idempotent(InMemoryStore(), key="k", on_missing_key="skip")(lambda e: None)
