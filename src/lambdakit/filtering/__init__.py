"""AWS's event-filter pattern language (Lambda FilterCriteria and EventBridge), evaluated locally.

- :func:`compile_pattern` validates a pattern as AWS does and compiles it; :class:`Pattern`
  ``.matches(event)`` / ``.explain(event)``; :func:`matches` compiles (cached) and matches.
- :class:`FilterCriteria` reads Lambda's ``{"Filters": [...]}`` (or a SAM/CloudFormation
  template) and matches records through Lambda's per-source record view.
- :func:`filter_records` applies criteria in a handler.

Semantics are aws/event-ruler's (the matcher AWS runs); see the filtering docs page for where
AWS's documentation differs.
"""

from __future__ import annotations

from lambdakit.errors import FilterError, FilterPatternError, FilterTemplateError, FilterUsageError
from lambdakit.filtering._criteria import FilterCriteria
from lambdakit.filtering._decorator import filter_records
from lambdakit.filtering._pattern import Pattern, compile_pattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "FilterCriteria",
    "FilterError",
    "FilterPatternError",
    "FilterTemplateError",
    "FilterUsageError",
    "Pattern",
    "compile_pattern",
    "filter_records",
    "matches",
]

_CACHE: dict[Any, Pattern] = {}
_CACHE_SIZE = 512


def matches(pattern: Any, event: Any) -> bool:
    """Whether ``event`` matches ``pattern`` (a dict or JSON text), compiling it once: patterns
    are cached by their JSON text (keys in their order: a path given twice keeps its last value
    list, so order is meaning). Invalid patterns raise :class:`FilterPatternError`."""
    if isinstance(pattern, Pattern):
        return pattern.matches(event)
    if isinstance(pattern, str):
        key: Any = (str, pattern)
    else:
        from lambdakit.filtering._parse import dump_json

        try:
            key = (dict, dump_json(pattern))
        except (TypeError, ValueError):
            return compile_pattern(pattern).matches(event)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = compile_pattern(pattern)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = compiled
    return compiled.matches(event)
