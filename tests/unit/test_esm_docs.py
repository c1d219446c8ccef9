"""The examples of docs/testing.md's "Testing what the event source does" run as written, in
order (later blocks use names the earlier ones define), and their assertions hold. Blocks
fenced ``py`` rather than ``python`` are excerpts of a user's project (they import its app)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs" / "testing.md"


def section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("## Testing what the event source does")
    return text[start : text.index("\n## ", start + 1)]


def test_the_event_source_examples_run_and_their_assertions_hold() -> None:
    blocks = re.findall(r"```python\n(.*?)```", section(), re.S)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {"__name__": "docs_example"}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)
