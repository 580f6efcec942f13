#!/usr/bin/env bash
# Side-by-side timing of the issue-4 reference point (Poisson-sampled Gaussian, σ = 1.1,
# q = 0.01, 10 000 steps, δ = 1e-5) in Google's dp-accounting (PyPI: RDP, PLD, PRV) and in
# privacy-budget (criterion bench `budget`, group `accountant_reference`), then the ratios.
#
# Installs dp-accounting into a virtualenv (default benches/.venv-dp-accounting; override with
# VENV=...). Never run from CI. Usage: bash benches/dp_accounting_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-benches/.venv-dp-accounting}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet dp-accounting
fi
"$VENV/bin/python" - <<'PY' | tee /tmp/dp_accounting_times.txt
import time
from dp_accounting import dp_event
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant
try:  # The PRV accountant ships only in some releases of dp-accounting.
    from dp_accounting.prv import prv_privacy_accountant
except ImportError:
    prv_privacy_accountant = None

event = dp_event.SelfComposedDpEvent(
    dp_event.PoissonSampledDpEvent(0.01, dp_event.GaussianDpEvent(1.1)), 10_000)

def best_of(make, repeats=3):
    times, eps = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        accountant = make()
        accountant.compose(event)
        eps = accountant.get_epsilon(1e-5)
        times.append(time.perf_counter() - start)
    return min(times), eps

for name, make in [
    ("rdp", rdp_privacy_accountant.RdpAccountant),
    ("pld_1e-3", lambda: pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-3)),
    ("pld_1e-4", lambda: pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-4)),
] + ([("prv", prv_privacy_accountant.PRVAccountant)] if prv_privacy_accountant else []):
    seconds, eps = best_of(make)
    print(f"dp-accounting {name}: epsilon={eps:.6f} seconds={seconds:.4f}")
PY
taskset -c 0 cargo bench -p medi-privacy-benches --bench budget -- accountant_reference \
    2>&1 | tee /tmp/privacy_budget_times.txt | grep -E "time:|ε =|^accountant"
python3 - <<'PY'
import json, pathlib, re
ours = {}
for name in ["rdp", "pld_h1e-4", "pld_h3e-4"]:
    path = pathlib.Path("target/criterion/accountant_reference") / name / "new/estimates.json"
    if path.exists():
        ours[name] = json.loads(path.read_text())["median"]["point_estimate"] / 1e9
theirs = {}
for line in open("/tmp/dp_accounting_times.txt"):
    m = re.match(r"dp-accounting (\S+): epsilon=(\S+) seconds=(\S+)", line)
    if m:
        theirs[m.group(1)] = float(m.group(3))
print("\nmedian seconds, privacy-budget vs dp-accounting (ratio = theirs / ours):")
for mine, peer in [("rdp", "rdp"), ("pld_h1e-4", "pld_1e-4"), ("pld_h3e-4", "pld_1e-3"),
                   ("pld_h1e-4", "prv")]:
    if mine in ours and peer in theirs:
        print(f"  {mine:10} {ours[mine]:.4f} s  vs {peer:9} {theirs[peer]:.4f} s  "
              f"ratio {theirs[peer] / ours[mine]:.1f}x")
PY
