#!/usr/bin/env bash
# Installs the Python peers of privacy-anon (anonypy, pycanon) from PyPI into a virtualenv and
# times them on the bundled Adult table; then runs our criterion benchmark of the same tasks,
# so both sets of figures come from one run on one machine. Not run by CI.
#
#   bash benches/anon_peers.sh [REPEAT]
#
# Versions are pinned (the ones measured in benches/RESULTS-anon.md). Measurements pin one core
# (`taskset -c 1`) so the peers and ours see the same CPU; the machine is shared, so run both
# back to back and compare ratios, not absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${ANON_PEERS_VENV:-target/anon-peers-venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet anonypy==0.2.1 pycanon==1.3.6 pandas==2.3.3 numpy==2.0.2
fi
PIN="taskset -c 1"
command -v taskset >/dev/null || PIN=""
uptime
echo "== peers (median seconds)"
$PIN "$VENV/bin/python" benches/anon_peers.py "${1:-3}"
echo "== medi-privacy (criterion)"
$PIN cargo bench -p medi-privacy-benches --bench anon
uptime
