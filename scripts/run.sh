#!/usr/bin/env bash
# Install what Switchboard needs (once) and launch it. Arguments go to the app, e.g. --demo.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
install_system_packages "$DEB_PACKAGES_RUN"
make_venv ""
exec "$VENV/bin/python" -m app "$@"
