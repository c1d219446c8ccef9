"""A handler module whose import fails, as one missing its configuration does."""

raise RuntimeError("TABLE_NAME is not set")
