#!/usr/bin/env bash
# Installs the AWS emulator (moto server, pinned) and waitress (the HTTP server it runs under,
# for keep-alive connections: scripts/moto_server.py) into the project-local virtualenv .venv.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.1"
WAITRESS_VERSION="3.0.2"
VENV=".venv"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import moto, sys, importlib.metadata as m; sys.exit(moto.__version__ != '$MOTO_VERSION' or m.version('waitress') != '$WAITRESS_VERSION')" 2>/dev/null; then
  exit 0
fi

PYTHON="${CUBE_PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  echo "Python 3.9+ is needed for the AWS emulator (set CUBE_PYTHON)." >&2
  exit 1
fi
echo "Installing moto[server]==$MOTO_VERSION and waitress==$WAITRESS_VERSION into $VENV ..."
if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv "$VENV"
  else
    echo "Could not create a virtualenv with $PYTHON (Debian: apt install python3-venv)." >&2
    exit 1
  fi
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
  "waitress==$WAITRESS_VERSION"
"$VENV/bin/python" -c "import moto; print('moto', moto.__version__, 'ready in $VENV')"
