"""`python -m app` starts Switchboard."""

from app.main import run

if __name__ == "__main__":
    raise SystemExit(run())
