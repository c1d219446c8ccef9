"""A handler module importing a package that is not installed."""

import lambdakit_no_such_dependency  # noqa: F401


def handler(event: object, context: object) -> None:
    pass
