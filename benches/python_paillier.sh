#!/usr/bin/env bash
# Installs python-paillier and gmpy2 (PyPI) into benches/.venv-paillier and runs
# python_paillier.py beside `cargo bench -p medi-privacy-benches --bench paillier`.
# Never run from CI: it needs PyPI and takes a minute.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-paillier/bin/python ]; then
    python3 -m venv .venv-paillier
    .venv-paillier/bin/pip install --quiet phe gmpy2
fi
taskset -c 0 .venv-paillier/bin/python python_paillier.py 2>/dev/null || .venv-paillier/bin/python python_paillier.py
