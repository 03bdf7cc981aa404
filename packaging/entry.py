"""The frozen bundle's entry point (PyInstaller runs this file as `__main__`)."""

from app.main import run

if __name__ == "__main__":
    raise SystemExit(run())
