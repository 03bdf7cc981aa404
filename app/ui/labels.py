"""User-visible labels shared by several windows (one spelling everywhere)."""

# Everything that belongs to the built-in offline demo carries this label.
DEMO_NAME = "Demo (offline)"
