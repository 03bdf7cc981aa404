"""Speed and memory figures, each against its target. Run `python -m benchmarks` (or `--json`)."""
