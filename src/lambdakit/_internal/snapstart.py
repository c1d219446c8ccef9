"""Lambda SnapStart: run code after an execution environment is restored from a snapshot.

What was fetched or connected before the snapshot (cached secrets, producer connections) may be
stale or dead in every environment restored from it. The Lambda Python runtime provides
``snapshot_restore_py``; elsewhere there is nothing to register with, and nothing to do.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def after_restore(callback: Callable[[], None]) -> bool:
    """Register ``callback`` to run after a SnapStart restore; ``False`` without SnapStart."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(callback)
    return True
