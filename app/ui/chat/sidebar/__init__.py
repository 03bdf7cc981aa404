"""The chat sidebar: the thread list and its model, search, and the thread actions (export)."""
