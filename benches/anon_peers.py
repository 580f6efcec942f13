"""Times the Python peers of privacy-anon on the bundled Adult table (30,162 records).

- anonypy: Mondrian k-anonymity, k = 5, over the 8 quasi-identifiers (age numeric, the rest
  categorical), salary-class sensitive.
- pycanon: k-anonymity, distinct l-diversity, entropy l-diversity and t-closeness of
  salary-class over the raw 8 quasi-identifiers.

Run through benches/anon_peers.sh, which installs both into a virtualenv. Prints one line per
measurement: `name seconds`. Medians of `REPEAT` runs.
"""

import statistics
import sys
import time
from pathlib import Path

import pandas as pd

REPEAT = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ADULT = Path(__file__).resolve().parent.parent / "data" / "adult" / "adult.csv"
QIS = ["sex", "age", "race", "marital-status", "education", "native-country", "workclass",
       "occupation"]
SA = "salary-class"


def timed(name, fn):
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    print(f"{name} {statistics.median(times):.4f}  ({result})", flush=True)


def anonypy_mondrian(df):
    import anonypy
    frame = df.copy()
    for column in QIS + [SA]:
        if column != "age":
            frame[column] = frame[column].astype("category")
    preserver = anonypy.Preserver(frame, QIS, SA)
    rows = preserver.anonymize_k_anonymity(k=5)
    return f"{len(rows)} rows"


def pycanon_measures(df):
    from pycanon import anonymity
    k = anonymity.k_anonymity(df, QIS)
    l_div = anonymity.l_diversity(df, QIS, [SA])
    entropy = anonymity.entropy_l_diversity(df, QIS, [SA])
    t = anonymity.t_closeness(df, QIS, [SA])
    return f"k={k} l={l_div} entropy_l={entropy} t={t:.4f}"


def main():
    df = pd.read_csv(ADULT, sep=";")
    timed("pycanon/k_l_entropy_t", lambda: pycanon_measures(df))
    timed("anonypy/mondrian_k5", lambda: anonypy_mondrian(df))


if __name__ == "__main__":
    main()
