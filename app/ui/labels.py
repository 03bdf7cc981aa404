"""User-visible labels shared by several windows (one spelling everywhere)."""

# Everything that belongs to the built-in offline demo carries this label.
DEMO_NAME = "Demo (offline)"

# What "Test connection" does, shown under it before a test has run.
TEST_HINT = (
    "Checks the URL and key by listing the server's models (or, where there is no model list, "
    "with a one-token test reply)."
)

# The status bar's disk-full notice (the chat tab may give a more precise sentence).
DISK_FULL = "Disk full — replies can't be saved"


def keychain_sentence(available: bool | None, backend: str = "") -> str:
    """Where API keys are kept on this machine, in one sentence; the first-run panel and the
    status bar both say this (from the same `SecretStore.backend_status()`), so they agree.
    `available=None`: not checked yet."""
    if available is None:
        return "API keys are never written to a file."
    if available:
        where = f" ({backend})" if backend else ""
        return f"API keys are kept in your system keychain{where}, never in a file."
    return (
        "No system keychain works on this computer, so API keys cannot be saved: use a "
        "session-only key (forgotten on quit) or an environment variable."
    )
