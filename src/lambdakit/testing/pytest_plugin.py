"""lambdakit's pytest plugin, registered through the ``pytest11`` entry point.

Installing lambdakit makes these fixtures available in every test suite, with no conftest:

- ``lambda_context``: a fresh :class:`~lambdakit.testing.LambdaContext` per test.
- ``fake_clock``: a :class:`~lambdakit.testing.FakeClock` per test.
- ``lambda_context_factory``: build contexts with other settings (``timeout=`` ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lambdakit.testing.clock import FakeClock
from lambdakit.testing.context import LambdaContext


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def lambda_context_factory() -> Callable[..., LambdaContext]:
    def make(**options: Any) -> LambdaContext:
        return LambdaContext(**options)

    return make
