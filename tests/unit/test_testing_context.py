"""lambdakit.testing.LambdaContext behaves like the context the Lambda runtime passes."""

from __future__ import annotations

import pytest

from lambdakit.testing import FakeClock, LambdaContext


def test_has_every_attribute_of_the_real_context() -> None:
    context = LambdaContext(function_name="orders", memory_limit_in_mb=512, region="eu-west-1")
    assert context.function_name == "orders"
    assert context.function_version == "$LATEST"
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    assert context.memory_limit_in_mb == "512"  # a string in the real runtime too
    assert context.log_group_name == "/aws/lambda/orders"
    assert "[$LATEST]" in context.log_stream_name
    assert len(context.aws_request_id) == 36
    assert context.identity is None
    assert context.client_context is None


def test_each_context_has_its_own_request_id() -> None:
    assert LambdaContext().aws_request_id != LambdaContext().aws_request_id


def test_remaining_time_counts_down_from_the_timeout_on_the_given_clock() -> None:
    clock = FakeClock()
    context = LambdaContext(timeout=3, clock=clock)
    assert context.get_remaining_time_in_millis() == 3000
    clock.advance(1.25)
    assert context.get_remaining_time_in_millis() == 1750
    clock.advance(10)
    assert context.get_remaining_time_in_millis() == 0


def test_remaining_time_is_an_int() -> None:
    assert isinstance(LambdaContext().get_remaining_time_in_millis(), int)


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout"):
        LambdaContext(timeout=0)


def test_fake_clock_never_goes_back() -> None:
    clock = FakeClock(start=5)
    clock.advance(2)
    assert clock() == 7
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)


def test_the_pytest_plugin_provides_a_lambda_context(lambda_context: LambdaContext) -> None:
    assert isinstance(lambda_context, LambdaContext)
    assert lambda_context.get_remaining_time_in_millis() > 0


def test_the_pytest_plugin_provides_a_fake_clock(fake_clock: FakeClock) -> None:
    fake_clock.advance(1)
    assert isinstance(fake_clock(), float)
