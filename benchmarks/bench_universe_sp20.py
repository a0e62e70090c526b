"""A universe on real prices: skfolio's 20 large US stocks, ranked by one network.

    .venv/bin/python benchmarks/bench_universe_sp20.py [--csv sp500_dataset.csv.gz]
        [--model gru] [--epochs 5] [--folds 4] [--test-size 0.4] [--seeds 1]
        [--target rank|volatility] [--horizon 5]
        [--sweep gru,lstm,cnn] [--tune TRIALS]

skfolio (pip install skfolio) ships the daily closes of 20 large US stocks, 1990-2022
(`skfolio.datasets.load_sp500_dataset`); `--csv` reads the same file without it. Each column
becomes one file that `lstmcast import FOLDER` stores (close only: the adjusted close is the
close), `universe create` makes the universe from today's names (the survivorship-biased list
free data gives), and `backtest --universe --target rank` walks it forward. Prints the
run's JSON figures: the network's and every baseline's rank IC with Newey-West t, by year,
the long-short portfolio after 5 bp per half-turn, the pooled DM against the best baseline,
and the wall time. With `--sweep MODELS` it runs `sweep --universe` over those models
instead (the adjusted tests, the survivors, the deflated Sharpe over the configurations
tried); with `--tune N`, `tune --universe` with N trials on the dates before the test span
(then the chosen and the starting settings on it). Runs alone: other work on the machine is
load the timing does not show.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The --tune space: the default's ranges, cut to networks that fit a 2-core machine's time
# (the default reaches 3-layer, 128-unit networks over 120-day windows in batches of 32).
TUNE_SPACE = """
[window]
low = 10
high = 40
step = 5
[hidden]
low = 8
high = 32
log = true
[layers]
low = 1
high = 2
[batch_size]
choices = [256, 512]
"""


def closes(path: str | None) -> tuple[list[str], list[str], list[list[str]]]:
    """(dates, tickers, rows of closes) of skfolio's sp500_dataset."""
    if path is None:
        try:
            from skfolio.datasets import load_sp500_dataset
        except ImportError:
            sys.exit("needs skfolio (pip install skfolio) or --csv PATH to its sp500_dataset.csv.gz")
        frame = load_sp500_dataset()
        dates = [str(d.date()) for d in frame.index]
        return dates, list(frame.columns), [[repr(float(v)) for v in row] for row in frame.to_numpy()]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    return [r[0] for r in rows], header[1:], [r[1:] for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv")
    ap.add_argument("--model", default="gru")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--test-size", type=float, default=0.4)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--window", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--target", choices=("rank", "volatility"), default="rank")
    ap.add_argument("--horizon", type=int, default=5, help="the volatility target's days")
    ap.add_argument("--sweep", help="comma-separated models: sweep --universe instead of one backtest")
    ap.add_argument("--tune", type=int, help="trials: tune --universe instead of one backtest")
    ap.add_argument("--workers", type=int, default=1, help="for --sweep and --tune")
    args = ap.parse_args()
    dates, tickers, rows = closes(args.csv)
    exe = str(Path(sys.executable).with_name("lstmcast"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "prices"
        folder.mkdir()
        for j, t in enumerate(tickers):
            body = "\n".join(
                f"{d},{r[j]}" for d, r in zip(dates, rows, strict=True) if r[j] not in ("", "nan")
            )
            (folder / f"{t}.csv").write_text("Date,Close\n" + body + "\n")
        env = {**os.environ, "LSTMCAST_HOME": str(Path(tmp) / "home")}

        def run(*cmd: str) -> str:
            return subprocess.run([exe, *cmd], env=env, capture_output=True, text=True, check=True).stdout

        run("import", str(folder))
        run("universe", "create", "sp20", *tickers)
        t0 = time.perf_counter()
        net = ["--model", args.model, "--window", str(args.window), "--hidden", str(args.hidden),
               "--layers", "1", "--batch-size", str(args.batch_size), "--epochs", str(args.epochs),
               "--folds", str(args.folds), "--test-size", str(args.test_size),
               "--seeds", str(args.seeds)]  # fmt: skip
        own = (
            ["--target", "volatility", "--horizon", str(args.horizon)]
            if args.target == "volatility"
            else ["--target", "rank", "--rule", "long_short", "--k", "3"]
        )
        many = ["--workers", str(args.workers)]
        if args.sweep:
            net = [a for a in net if a != args.model]
            net.remove("--model")
            doc = json.loads(run("sweep", "--universe", "sp20", *own, *net, "--models", args.sweep, *many,
                                 "--json"))  # fmt: skip
            print(f"sp20 sweep of {args.sweep}: {time.perf_counter() - t0:.0f} s")
            swept(doc)
            return
        if args.tune:
            space = Path(tmp) / "space.toml"
            space.write_text(TUNE_SPACE)
            doc = json.loads(run("tune", "--universe", "sp20", *own, *net, "--trials", str(args.tune),
                                 "--inner-folds", "3", "--space", str(space), *many, "--json"))  # fmt: skip
            print(f"sp20 tune of {args.model}, {args.tune} trials: {time.perf_counter() - t0:.0f} s")
            tuned(doc)
            return
        doc = json.loads(run("backtest", "--universe", "sp20", *own, *net, "--json"))
        seconds = time.perf_counter() - t0
    print(f"sp20: {doc['members']} stocks, test {doc['period'][0]}..{doc['period'][1]}, {args.model},"
          f" window {args.window}, {args.folds} folds, {args.seeds} seed(s): {seconds:.0f} s")  # fmt: skip
    if args.target == "volatility":
        volatility(doc)
    else:
        ranking(doc)
    print(f"verdict: {doc['verdict']}")


def ranking(doc: dict[str, Any]) -> None:
    p, pf = doc["panel"], doc["portfolio"]
    print(f"{'scores':<14}{'rank IC':>9}{'t':>7}{'net Sharpe':>12}")
    print(f"{'network':<14}{p['rank_ic_mean']:>9.4f}{p['rank_ic_t']:>7.2f}{pf['net_sharpe']:>12.2f}")
    for name, b in doc["baselines"].items():
        print(f"{name:<14}{b['rank_ic_mean']:>9.4f}{b['rank_ic_t']:>7.2f}{b['net_sharpe']:>12.2f}")
    dm = p["pooled_dm"]
    print(f"pooled DM against {dm['against']}: statistic {dm['statistic']:.2f}, p {dm['pvalue']:.3f}")
    cw = p["clark_west"]
    print(f"Clark-West against zero: statistic {cw['statistic']:.2f}, one-sided p {cw['pvalue']:.3f}")
    print(f"90% MCS on the pooled rank errors: {', '.join(p['mcs'])}")
    print(f"long-short k 3, 5 bp: gross {pf['gross_return_ann']:+.1%} net {pf['net_return_ann']:+.1%} a year,"
          f" net Sharpe t {pf['net_sharpe_t']:.2f}, turnover {pf['turnover']:.0%} a day")  # fmt: skip
    ds = pf["deflated_sharpe"]
    print(f"deflated Sharpe over {ds['trials']} portfolios: {ds['probability']:.3f}")
    print("rank IC by year: " + ", ".join(f"{y['year']} {y['rank_ic_mean']:+.3f}" for y in p["by_year"]))
    print("net return by year: " + ", ".join(f"{y['year']} {y['net_return']:+.0%}" for y in pf["by_year"]))


def swept(doc: dict[str, Any]) -> None:
    print(f"test {doc['span']}, {doc['compared']} configurations, {doc['seeds']} seed(s) each")
    print(f"{'model':<8}{'value':>9}{'t':>7}{'best baseline':>16}{'DM p':>8}{'adj. p':>8}{'net Sharpe':>12}")
    for r in doc["rows"]:
        sharpe = "–" if r["net_sharpe"] is None else f"{r['net_sharpe']:.2f}"
        t = "–" if r["t"] is None else f"{r['t']:.2f}"
        print(f"{r['model']:<8}{r['value']:>9.4f}{t:>7}{r['best_baseline']:>16}{r['dm_pvalue']:>8.3f}"
              f"{r['pvalue_adjusted']:>8.3f}{sharpe:>12}")  # fmt: skip
    if doc["deflated_sharpe"] is not None:
        n, dsr = doc["deflated_over"], doc["deflated_sharpe"]
        print(f"deflated Sharpe of the best over {n} configurations: {dsr:.3f}")
    print(f"verdict: {doc['verdict']}")


def tuned(doc: dict[str, Any]) -> None:
    print(f"inner {doc['inner_span']}, outer {doc['outer_span']}; {doc['trials_run']} trials"
          f" ({doc['trials_failed']} failed); space: {doc['space']}")  # fmt: skip
    for t in doc["trials"]:
        value = "–" if t["value"] is None else f"{t['value']:.4f}"
        print(f"  trial {t['number']}: {value} {t['params']}")
    for label in ("tuned", "start"):
        w = doc[label]
        t, sharpe = w["t"] or float("nan"), w["net_sharpe"] or float("nan")
        print(f"{label}: {w['metric']} {w['value']:.4f} (t {t:.2f}), DM p against {w['best_baseline']}"
              f" {w['dm_pvalue']:.3f}, net Sharpe {sharpe:.2f}")  # fmt: skip
    print(f"deflated Sharpe of the chosen trial over {doc['deflated_over']}: {doc['deflated_sharpe']}")
    print(f"verdict: {doc['verdict']}")


def volatility(doc: dict[str, Any]) -> None:
    print(f"{'forecaster':<16}{'pooled QLIKE':>13}{'skill':>8}{'DM p':>8}{'Holm p':>8}")
    print(f"{'network':<16}{doc['qlike']['network']:>13.4f}")
    for name in doc["skill_vs"]:
        each = doc["against_each"][name]
        print(f"{name:<16}{doc['qlike'][name]:>13.4f}{doc['skill_vs'][name]:>+8.1%}{each['pvalue']:>8.3f}"
              f"{each['pvalue_holm']:>8.3f}")  # fmt: skip
    print(f"best baseline {doc['best_baseline']}; 90% MCS: {', '.join(doc['mcs'])}; cells {doc['cells']:,}")
    years = [
        f"{y['year']} {y['skill_vs_best']:+.1%}" for y in doc["by_year"] if y["skill_vs_best"] is not None
    ]
    print("skill vs the best by year: " + ", ".join(years))
    dm = doc["per_ticker_dm"]
    better = f"{dm['model_better']} of {dm['tickers']}"
    print(f"per member: lower QLIKE for {better}; {dm['significant_bh']} after BH")


if __name__ == "__main__":
    main()
