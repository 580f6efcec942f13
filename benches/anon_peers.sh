#!/usr/bin/env bash
# Installs the Python peers of privacy-anon (anonypy, pycanon) from PyPI into a virtualenv and
# times them on the bundled Adult table; then runs our criterion benchmark of the same tasks,
# so both sets of figures come from one run on one machine. Not run by CI.
#
#   bash benches/anon_peers.sh [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${ANON_PEERS_VENV:-target/anon-peers-venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet anonypy pycanon pandas
fi
echo "== peers (median seconds)"
"$VENV/bin/python" benches/anon_peers.py "${1:-3}"
echo "== medi-privacy (criterion)"
cargo bench -p medi-privacy-benches --bench anon
