"""User-visible labels shared by several windows (one spelling everywhere)."""

# Everything that belongs to the built-in offline demo carries this label.
DEMO_NAME = "Demo (offline)"

# What "Test connection" does, shown under it before a test has run.
TEST_HINT = (
    "Checks the URL and key by listing the server's models (or, where there is no model list, "
    "with a one-token test reply)."
)
