"""Wire formats only: pure functions of bytes/JSON for each provider dialect."""
