"""The hostile-input table: every case a careless or hostile user tried, as one row.

Each row is (id, command line, exit code, what stderr says). A row passes when the command
exits with its code, says its line (exit 1 or 75: exactly one `error:` line naming the
input; exit 2: Click's usage error), and never reaches the CLI's last-resort "unexpected"
handler: no exception other than SystemExit leaves the command. The table is generated once
from a real run and kept here, so a change of behaviour shows as a failing row.

The cases that need more than one command (kill -9 at chosen moments, concurrent writers, a
full disk, a home removed mid-run, bit-flipped weights, a read-only home, a FIFO in a
subprocess, a hanging scheduler) are in test_hardening.py and test_sweep.py.
"""
# ruff: noqa: E501

from __future__ import annotations

import json
import os
import shlex
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import SAMPLE

H = "Date,Open,High,Low,Close,Adj Close,Volume\n"
G = "2020-01-02,10,11,9,10.5,10.5,1000\n2020-01-03,10.5,11,10,10.8,10.8,1000\n"
FILES: dict[str, bytes] = {
    "empty.csv": b"",
    "blank.csv": b"\n\n  \n",
    "header_only.csv": H.encode(),
    "no_date.csv": b"Close\n1\n2\n",
    "no_price.csv": b"Date,Foo,Bar\n2020-01-02,1,2\n",
    "bad_date.csv": (H + "2020-13-45,1,1,1,1,1,1\n").encode(),
    "empty_date.csv": (H + ",1,1,1,1,1,1\n").encode(),
    "future.csv": (H + G + "2099-01-02,1,1,1,1,1,1\n").encode(),
    "negative.csv": (H + "2020-01-02,1,1,1,-1,1,1\n").encode(),
    "zero.csv": (H + "2020-01-02,0,0,0,0,0,0\n").encode(),
    "nan.csv": (H + "2020-01-02,nan,1,1,1,1,1\n" + G).encode(),
    "inf.csv": (H + "2020-01-02,inf,inf,1,1,1,1\n").encode(),
    "huge.csv": (H + "2020-01-02,1e300,1e300,1e300,1e300,1e300,1\n").encode(),
    "high_low.csv": (H + "2020-01-02,10,9,11,10,10,1\n").encode(),
    "close_out.csv": (H + "2020-01-02,10,11,9,12,12,1\n").encode(),
    "dup.csv": (H + G + G).encode(),
    "dup_mixed.csv": (
        H + "2020-01-02,1,1,1,1,1,1\n2020-01-06,1,1,1,1,1,1\n2020-01-02,1,1,1,1,1,1\n2020-01-06,1,1,1,1,1,1\n"
    ).encode(),
    "neg_volume.csv": (H + "2020-01-02,10,11,9,10.5,10.5,-5\n").encode(),
    "text_price.csv": (H + "2020-01-02,10,11,9,ten,10.5,5\n").encode(),
    "binary.csv": bytes(range(256)) * 40,
    "latin1.csv": "Date,Close\n2020-01-02,1\n2020-01-03,2\n# caf\xe9\n".encode("latin-1"),
    "gz_broken.csv.gz": b"\x1f\x8b\x08\x00" + b"\x00" * 50,
    "ragged.csv": (H + "2020-01-02,1,1\n2020-01-03,1,1,1,1,1,1,1,1,1\n").encode(),
    "quote.csv": (H + '"2020-01-02,1,1,1,1,1,1\n').encode(),
    "one_row.csv": (H + "2020-01-02,10,11,9,10.5,10.5,1000\n").encode(),
    "nul.csv": b"Date,Close\n2020-01-02,1\x00\n",
    "long_line.csv": b"Date,Close\n" + b"9" * 40000 + b"\n",
    "ancient.csv": (H + "1500-01-02,1,1,1,1,1,1\n" + G).encode(),
    "html.csv": b"<html><body>404 Not Found</body></html>\n",
    "json.csv": b'{"Date": "2020-01-02", "Close": 1}\n',
    "sep_only.csv": b",,,,\n,,,,\n",
    "bom_only.csv": b"\xef\xbb\xbf",
    "utf16_bad.csv": b"\xff\xfe" + b"\x00\xd8" * 10,
    "many_cols.csv": ("Date," + ",".join(f"c{i}" for i in range(3000)) + ",Close\n").encode(),
    "spaces.csv": b"   Date  ,  Close  \n 2020-01-02 , 1 \n",
}

CONFIGS: dict[str, bytes] = {
    "train_wrongtype.toml": b'[train]\nwindow = "ten"\n',
    "train_huge.toml": b"[train]\nwindow = 99999999999999999999999\n",
    "train_nan.toml": b"[train]\nlr = nan\n",
    "train_unknown.toml": b"[train]\nwindoww = 3\n",
    "backtest_bad.toml": b"[backtest]\nfolds = -3\n",
    "watch_bad.toml": b'[[ticker]]\nsymbol = "IBM"\nhorizon = 0\n',
    "typo.toml": b"windw = 10\n",
    "wrongtype.toml": b'window = "ten"\n',
    "binary.toml": bytes(range(256)),
    "section.toml": b"[train]\nwindow = -1\n",
    "notoml.toml": b"window = = 3\n",
    "huge.toml": b"window = 99999999999999999999999\n",
    "half_range.toml": b"[window]\nlow = 20\n",
}

# fmt: off
CASES: list[tuple[str, str, int, str | None]] = [
    ('train--window=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --window 0', 1, '--window must be between 2 and 5000, got 0'),
    ('train--window=1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --window 1', 1, '--window must be between 2 and 5000, got 1'),
    ('train--window=-5', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --window -5', 1, '--window must be between 2 and 5000, got -5'),
    ('train--window=10000000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --window 10000000', 1, '--window must be between 2 and 5000, got 10000000'),
    ('train--window=1000000000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --window 1000000000', 1, '--window must be between 2 and 5000, got 1000000000'),
    ('train--window=nan', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --window nan', 2, "Invalid value for '--window': Input should be a valid integer, unable "),
    ('train--window=1e3', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --window 1e3', 2, "Invalid value for '--window': Input should be a valid integer, unable "),
    ('train--window=abc', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --window abc', 2, "Invalid value for '--window': Input should be a valid integer, unable "),
    ('train--horizon=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --horizon 0', 1, '--horizon must be between 1 and 252, got 0'),
    ('train--horizon=-1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --horizon -1', 1, '--horizon must be between 1 and 252, got -1'),
    ('train--horizon=1000000000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --horizon 1000000000', 1, '--horizon must be between 1 and 252, got 1000000000'),
    ('train--horizon=inf', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --horizon inf', 2, "Invalid value for '--horizon': Input should be a valid integer, unable"),
    ('train--epochs=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --epochs 0', 1, '--epochs must be between 1 and 100000, got 0'),
    ('train--epochs=-1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --epochs -1', 1, '--epochs must be between 1 and 100000, got -1'),
    ('train--epochs=100000000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --epochs 100000000', 1, '--epochs must be between 1 and 100000, got 100000000'),
    ('train--lr=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --lr 0', 1, '--lr must be between 1e-12 and 10, got 0.0'),
    ('train--lr=-0.1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --lr -0.1', 1, '--lr must be between 1e-12 and 10, got -0.1'),
    ('train--lr=inf', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --lr inf', 1, '--lr must be between 1e-12 and 10, got inf'),
    ('train--lr=nan', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --lr nan', 1, '--lr must be between 1e-12 and 10, got nan'),
    ('train--lr=1e9', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --lr 1e9', 1, '--lr must be between 1e-12 and 10, got 1000000000.0'),
    ('train--hidden=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --hidden 0', 1, '--hidden must be between 1 and 4096, got 0'),
    ('train--hidden=1000000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --hidden 1000000', 1, '--hidden must be between 1 and 4096, got 1000000'),
    ('train--layers=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --layers 0', 1, '--layers must be between 1 and 16, got 0'),
    ('train--layers=1000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --layers 1000', 1, '--layers must be between 1 and 16, got 1000'),
    ('train--dropout=-0.1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --dropout -0.1', 1, '--dropout must be between 0 and 0.99, got -0.1'),
    ('train--dropout=1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --dropout 1', 1, '--dropout must be between 0 and 0.99, got 1.0'),
    ('train--dropout=1.5', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --dropout 1.5', 1, '--dropout must be between 0 and 0.99, got 1.5'),
    ('train--dropout=nan', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --dropout nan', 1, '--dropout must be between 0 and 0.99, got nan'),
    ('train--kernel-size=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --kernel-size 0', 1, '--kernel-size must be between 1 and 5000, got 0'),
    ('train--kernel-size=-3', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --kernel-size -3', 1, '--kernel-size must be between 1 and 5000, got -3'),
    ('train--kernel-size=100000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --kernel-size 100000', 1, '--kernel-size must be between 1 and 5000, got 100000'),
    ('train--channels=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --channels 0', 1, '--channels must be between 1 and 4096, got 0'),
    ('train--channels=100000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --channels 100000', 1, '--channels must be between 1 and 4096, got 100000'),
    ('train--batch-size=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --batch-size 0', 1, '--batch-size must be between 1 and 1e+06, got 0'),
    ('train--batch-size=-1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --batch-size -1', 1, '--batch-size must be between 1 and 1e+06, got -1'),
    ('train--batch-size=10000000000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --batch-size 10000000000', 1, '--batch-size must be between 1 and 1e+06, got 10000000000'),
    ('train--clip=-1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --clip -1', 1, '--clip must be between 0 and 1e+06, got -1.0'),
    ('train--clip=nan', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --clip nan', 1, '--clip must be between 0 and 1e+06, got nan'),
    ('train--patience=-1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --patience -1', 1, '--patience must be between 1 and 100000, got -1'),
    ('train--seed=-1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --seed -1', 1, '--seed must be between 0 and 4.29497e+09, got -1'),
    ('train--seed=100000000000000000000000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --seed 100000000000000000000000', 1, '--seed must be between 0 and 4.29497e+09, got 100000000000000000000000'),
    ('train--seed=1.5', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --seed 1.5', 2, "Invalid value for '--seed': Input should be a valid integer, unable to"),
    ('train--threads=-1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --threads -1', 1, '--threads must be between 0 and 1024, got -1'),
    ('train--threads=100000', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --threads 100000', 1, '--threads must be between 0 and 1024, got 100000'),
    ('train--val=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --val 0', 1, '--val and --test must be fractions in (0, 0.5) leaving most data for t'),
    ('train--val=0.99', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --val 0.99', 1, '--val and --test must be fractions in (0, 0.5) leaving most data for t'),
    ('train--val=-0.1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --val -0.1', 1, '--val and --test must be fractions in (0, 0.5) leaving most data for t'),
    ('train--val=nan', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --val nan', 1, '--val and --test must be fractions in (0, 0.5) leaving most data for t'),
    ('train--test=0', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --test 0', 1, '--val and --test must be fractions in (0, 0.5) leaving most data for t'),
    ('train--test=1', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --test 1', 1, '--val and --test must be fractions in (0, 0.5) leaving most data for t'),
    ('train--test=2', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --test 2', 1, '--val and --test must be fractions in (0, 0.5) leaving most data for t'),
    ('train--model=xgboost', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --model xgboost', 2, "Invalid value for '--model' / '-m': Value error, 'xgboost' is not one "),
    ('train--target=price', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --target price', 0, None),
    ('train--vol-proxy=vix', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --vol-proxy vix', 2, "Invalid value for '--vol-proxy': Value error, 'vix' is not one of 'gk'"),
    ('train--loss=l7', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --loss l7', 2, "Invalid value for '--loss': Value error, 'l7' is not one of 'mse', 'hu"),
    ('train--device=tpu', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --device tpu', 2, "Invalid value for '--device': Value error, 'tpu' is not one of 'auto',"),
    ('train--decoder=magic', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --decoder magic', 2, "Invalid value for '--decoder': Value error, 'magic' is not one of 'dir"),
    ('train--residual-on=moon', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --residual-on moon', 2, "Invalid value for '--residual-on': Value error, 'moon' is not one of '"),
    ('train--preset=turbo', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --preset turbo', 1, "unknown preset 'turbo'; choose fast"),
    ('train--features=moon_phase', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --features moon_phase', 1, "unknown feature in ['moon_phase']; available: log_volume_change, hl_ra"),
    ('train--exog=../../etc/passwd', 'train IBM --model cnn --window 10 --epochs 1 --channels 4 --exog ../../etc/passwd', 1, "invalid ticker '../../etc/passwd': use letters, digits and . ^ = - (at"),
    ('backtest--folds=0', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --folds 0', 1, '--folds must be between 1 and 1000, got 0'),
    ('backtest--folds=1', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --folds 1', 0, None),
    ('backtest--folds=1000000000', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --folds 1000000000', 1, '--folds must be between 1 and 1000, got 1000000000'),
    ('backtest--retrain-every=0', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --retrain-every 0', 0, None),
    ('backtest--retrain-every=-5', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --retrain-every -5', 1, '--retrain-every must be between 0 and 1e+07, got -5'),
    ('backtest--seeds=0', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --seeds 0', 1, '--seeds must be between 1 and 1000, got 0'),
    ('backtest--seeds=100000', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --seeds 100000', 1, '--seeds must be between 1 and 1000, got 100000'),
    ('backtest--cost-bps=-1', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --cost-bps -1', 1, '--cost-bps must be between 0 and 10000, got -1.0'),
    ('backtest--cost-bps=nan', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --cost-bps nan', 1, '--cost-bps must be between 0 and 10000, got nan'),
    ('backtest--intervals=magic', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --intervals magic', 2, "Invalid value for '--intervals': Value error, 'magic' is not one of 'e"),
    ('backtest--levels=0,1', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --levels 0,1', 2, 'No such option: --levels (Possible options: --device, --intervals, --l'),
    ('backtest--levels=abc', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --levels abc', 2, 'No such option: --levels (Possible options: --device, --intervals, --l'),
    ('backtest--levels=1.5', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --levels 1.5', 2, 'No such option: --levels (Possible options: --device, --intervals, --l'),
    ('backtest--threshold=nan', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --threshold nan', 1, '--threshold must be between 0 and 10, got nan'),
    ('forecast--horizon=0', 'forecast IBM --horizon 0', 1, '--horizon must be between 1 and 252, got 0'),
    ('forecast--horizon=1000000000', 'forecast IBM --horizon 1000000000', 1, '--horizon must be between 1 and 252, got 1000000000'),
    ('forecast--horizon=200', 'forecast IBM --horizon 200', 1, 'was evaluated out of sample up to 20 step(s) ahead'),
    ('forecast--levels=0.8,0.8', 'forecast IBM --levels 0.8,0.8', 1, '--levels names a level twice (1%, 1%)'),
    ('forecast--levels=-0.5', 'forecast IBM --levels -0.5', 1, '--levels are percentages between 0 and 100, e.g. 50,80,95'),
    ('forecast--calendar=../../../evil', 'forecast IBM --calendar ../../../evil', 1, "unknown calendar '../../../evil'; e.g. XNYS (NYSE), XLON, XTKS"),
    ('forecast--calendar=NOPE', 'forecast IBM --calendar NOPE', 1, "unknown calendar 'NOPE'; e.g. XNYS (NYSE), XLON, XTKS"),
    ('forecast--engine=gpu', 'forecast IBM --engine gpu', 2, "Invalid value for '--engine': Value error, 'gpu' is not one of 'auto',"),
    ('forecast--retrain-if-older=-1', 'forecast IBM --retrain-if-older -1', 1, '--retrain-if-older must be between 0 and 100000, got -1'),
    ('forecast--retrain-if-older=nan', 'forecast IBM --retrain-if-older nan', 2, "Invalid value for '--retrain-if-older': Input should be a valid intege"),
    ('forecast--model-id=nosuch', 'forecast IBM --model-id nosuch', 1, "no model 'nosuch'; `lstmcast models` lists them"),
    ('forecast--model-id=../../x', 'forecast IBM --model-id ../../x', 1, "no model '../../x'; `lstmcast models` lists them"),
    ('forecast--intervals=magic', 'forecast IBM --intervals magic', 2, "Invalid value for '--intervals': Value error, 'magic' is not one of 'e"),
    ('forecast--target=price', 'forecast IBM --target price', 0, None),
    ('forecast--model=xgboost', 'forecast IBM --model xgboost', 2, "Invalid value for '--model' / '-m': Value error, 'xgboost' is not one "),
    ("ticker=''", "train '' --epochs 1", 1, "invalid ticker '': use letters, digits and . ^ = - (at most 15 charact"),
    ("forecast-ticker=''", "forecast ''", 1, "invalid ticker '': use letters, digits and . ^ = - (at most 15 charact"),
    ("data-ticker=''", "data ''", 1, "invalid ticker '': use letters, digits and . ^ = - (at most 15 charact"),
    ('ticker=../../etc', 'train ../../etc --epochs 1', 1, "invalid ticker '../../etc': use letters, digits and . ^ = - (at most 1"),
    ('forecast-ticker=../../etc', 'forecast ../../etc', 1, "invalid ticker '../../etc': use letters, digits and . ^ = - (at most 1"),
    ('data-ticker=../../etc', 'data ../../etc', 1, "invalid ticker '../../etc': use letters, digits and . ^ = - (at most 1"),
    ('ticker=AAAAAAAAAAAA', 'train AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA --epochs 1', 1, "invalid ticker 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ('forecast-ticker=AAAAAAAAAAAA', 'forecast AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 1, "invalid ticker 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ('data-ticker=AAAAAAAAAAAA', 'data AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 1, "invalid ticker 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ('ticker=AAPL;DROP', 'train AAPL;DROP --epochs 1', 1, "invalid ticker 'AAPL;DROP': use letters, digits and . ^ = - (at most 1"),
    ('forecast-ticker=AAPL;DROP', 'forecast AAPL;DROP', 1, "invalid ticker 'AAPL;DROP': use letters, digits and . ^ = - (at most 1"),
    ('data-ticker=AAPL;DROP', 'data AAPL;DROP', 1, "invalid ticker 'AAPL;DROP': use letters, digits and . ^ = - (at most 1"),
    ('ticker=a b', 'train a b --epochs 1', 1, 'A is not stored; run `lstmcast fetch A` or `lstmcast import FILE --tic'),
    ('forecast-ticker=a b', 'forecast a b', 1, 'A is not stored; run `lstmcast fetch A` or `lstmcast import FILE --tic'),
    ('data-ticker=a b', 'data a b', 2, "No such command 'b'."),
    ('ticker=$(rm)', 'train $(rm) --epochs 1', 1, "invalid ticker '$(rm)': use letters, digits and . ^ = - (at most 15 ch"),
    ('forecast-ticker=$(rm)', 'forecast $(rm)', 1, "invalid ticker '$(rm)': use letters, digits and . ^ = - (at most 15 ch"),
    ('data-ticker=$(rm)', 'data $(rm)', 1, "invalid ticker '$(rm)': use letters, digits and . ^ = - (at most 15 ch"),
    ('ticker=-x', 'train -x --epochs 1', 2, 'No such option: -x'),
    ('forecast-ticker=-x', 'forecast -x', 2, 'No such option: -x'),
    ('data-ticker=-x', 'data -x', 2, 'No such option: -x'),
    ('ticker=NOSUCH', 'train NOSUCH --epochs 1', 1, 'NOSUCH is not stored; run `lstmcast fetch NOSUCH` or `lstmcast import '),
    ('forecast-ticker=NOSUCH', 'forecast NOSUCH', 1, 'NOSUCH is not stored; run `lstmcast fetch NOSUCH` or `lstmcast import '),
    ('data-ticker=NOSUCH', 'data NOSUCH', 1, 'NOSUCH is not stored'),
    ('ticker=ÄPFEL', 'train ÄPFEL --epochs 1', 1, "invalid ticker 'ÄPFEL': use letters, digits and . ^ = - (at most 15 ch"),
    ('forecast-ticker=ÄPFEL', 'forecast ÄPFEL', 1, "invalid ticker 'ÄPFEL': use letters, digits and . ^ = - (at most 15 ch"),
    ('data-ticker=ÄPFEL', 'data ÄPFEL', 1, "invalid ticker 'ÄPFEL': use letters, digits and . ^ = - (at most 15 ch"),
    ('ticker=AAPL\\n', 'train AAPL\\n --epochs 1', 1, 'AAPLN is not stored; run `lstmcast fetch AAPLN` or `lstmcast import FI'),
    ('forecast-ticker=AAPL\\n', 'forecast AAPL\\n', 1, 'AAPLN is not stored; run `lstmcast fetch AAPLN` or `lstmcast import FI'),
    ('data-ticker=AAPL\\n', 'data AAPL\\n', 1, 'AAPLN is not stored'),
    ('import:empty.csv', 'import {tmp}/empty.csv --ticker F120', 1, '{tmp}/empty.csv: the file is empty'),
    ('import:blank.csv', 'import {tmp}/blank.csv --ticker F121', 1, '{tmp}/blank.csv: the file is empty'),
    ('import:header_only.csv', 'import {tmp}/header_only.csv --ticker F122', 1, '{tmp}/header_only.csv: no rows after the header'),
    ('import:no_date.csv', 'import {tmp}/no_date.csv --ticker F123', 1, '{tmp}/no_date.csv: no date column (expected one named Date)'),
    ('import:no_price.csv', 'import {tmp}/no_price.csv --ticker F124', 1, '{tmp}/no_price.csv: no price column (expected Close or Adj Close; got '),
    ('import:bad_date.csv', 'import {tmp}/bad_date.csv --ticker F125', 1, "{tmp}/bad_date.csv, line 2: cannot parse date '2020-13-45'"),
    ('import:empty_date.csv', 'import {tmp}/empty_date.csv --ticker F126', 1, '{tmp}/empty_date.csv, line 2: empty date'),
    ('import:future.csv', 'import {tmp}/future.csv --ticker F127', 1, '{tmp}/future.csv, line 4: 2099-01-02 is in the future (today is'),
    ('import:negative.csv', 'import {tmp}/negative.csv --ticker F128', 1, '{tmp}/negative.csv, line 2 (2020-01-02): Close must be positive, got -'),
    ('import:zero.csv', 'import {tmp}/zero.csv --ticker F129', 1, '{tmp}/zero.csv, line 2 (2020-01-02): Open must be positive, got 0'),
    ('import:nan.csv', 'import {tmp}/nan.csv --ticker F130', 1, "{tmp}/nan.csv, line 2 (2020-01-02): Open is 'nan' (1 missing or non-nu"),
    ('import:inf.csv', 'import {tmp}/inf.csv --ticker F131', 1, '{tmp}/inf.csv, line 2 (2020-01-02): Open must be a finite number, got '),
    ('import:huge.csv', 'import {tmp}/huge.csv --ticker F132', 1, '{tmp}/huge.csv, line 2 (2020-01-02): Open is beyond any plausible pric'),
    ('import:high_low.csv', 'import {tmp}/high_low.csv --ticker F133', 1, '{tmp}/high_low.csv, line 2 (2020-01-02): High 9 is below Low 11'),
    ('import:close_out.csv', 'import {tmp}/close_out.csv --ticker F134', 1, '{tmp}/close_out.csv, line 2 (2020-01-02): Close 12 is above High 11'),
    ('import:dup.csv', 'import {tmp}/dup.csv --ticker F135', 1, '{tmp}/dup.csv: duplicate date 2020-01-02 (lines 2, 4); 1 other date(s)'),
    ('import:dup_mixed.csv', 'import {tmp}/dup_mixed.csv --ticker F136', 1, '{tmp}/dup_mixed.csv: duplicate date 2020-01-02 (lines 2, 4); 1 other d'),
    ('import:neg_volume.csv', 'import {tmp}/neg_volume.csv --ticker F137', 1, '{tmp}/neg_volume.csv, line 2 (2020-01-02): Volume must not be negative'),
    ('import:text_price.csv', 'import {tmp}/text_price.csv --ticker F138', 1, "{tmp}/text_price.csv, line 2 (2020-01-02): Close is 'ten' (1 missing o"),
    ('import:binary.csv', 'import {tmp}/binary.csv --ticker F139', 1, '{tmp}/binary.csv: not UTF-8 or UTF-16 text (invalid start byte at byte'),
    ('import:latin1.csv', 'import {tmp}/latin1.csv --ticker F140', 1, '{tmp}/latin1.csv: not UTF-8 or UTF-16 text (invalid continuation byte)'),
    ('import:gz_broken.csv.gz', 'import {tmp}/gz_broken.csv.gz --ticker F141', 1, '{tmp}/gz_broken.csv.gz: a damaged gzip file (Error -3 while decompress'),
    ('import:ragged.csv', 'import {tmp}/ragged.csv --ticker F142', 1, '{tmp}/ragged.csv, line 2 (2020-01-02): Low is empty (1 missing or non-'),
    ('import:quote.csv', 'import {tmp}/quote.csv --ticker F143', 1, '{tmp}/quote.csv: not a readable CSV (Error tokenizing data. C error: E'),
    ('import:one_row.csv', 'import {tmp}/one_row.csv --ticker F144', 0, None),
    ('import:nul.csv', 'import {tmp}/nul.csv --ticker F145', 1, "{tmp}/nul.csv, line 2 (2020-01-02): Close is '1\\x00' (1 missing or non"),
    ('import:long_line.csv', 'import {tmp}/long_line.csv --ticker F146', 1, '{tmp}/long_line.csv: Close has no value on any day'),
    ('import:ancient.csv', 'import {tmp}/ancient.csv --ticker F147', 0, None),
    ('import:html.csv', 'import {tmp}/html.csv --ticker F148', 1, '{tmp}/html.csv: no date column (expected one named Date)'),
    ('import:json.csv', 'import {tmp}/json.csv --ticker F149', 1, '{tmp}/json.csv: no rows after the header'),
    ('import:sep_only.csv', 'import {tmp}/sep_only.csv --ticker F150', 1, '{tmp}/sep_only.csv: no date column (expected one named Date)'),
    ('import:bom_only.csv', 'import {tmp}/bom_only.csv --ticker F151', 1, '{tmp}/bom_only.csv: the file is empty'),
    ('import:utf16_bad.csv', 'import {tmp}/utf16_bad.csv --ticker F152', 1, '{tmp}/utf16_bad.csv: not UTF-8 or UTF-16 text (illegal UTF-16 surrogat'),
    ('import:many_cols.csv', 'import {tmp}/many_cols.csv --ticker F153', 1, '{tmp}/many_cols.csv: no rows after the header'),
    ('import:spaces.csv', 'import {tmp}/spaces.csv --ticker F154', 0, None),
    ('train-csv:empty.csv', 'train --csv {tmp}/empty.csv --ticker C155 --epochs 1', 1, '{tmp}/empty.csv: the file is empty'),
    ('backtest-csv:empty.csv', 'backtest --csv {tmp}/empty.csv --ticker C156 --epochs 1', 1, '{tmp}/empty.csv: the file is empty'),
    ('train-csv:dup.csv', 'train --csv {tmp}/dup.csv --ticker C157 --epochs 1', 1, '{tmp}/dup.csv: duplicate date 2020-01-02 (lines 2, 4); 1 other date(s)'),
    ('backtest-csv:dup.csv', 'backtest --csv {tmp}/dup.csv --ticker C158 --epochs 1', 1, '{tmp}/dup.csv: duplicate date 2020-01-02 (lines 2, 4); 1 other date(s)'),
    ('train-csv:binary.csv', 'train --csv {tmp}/binary.csv --ticker C159 --epochs 1', 1, '{tmp}/binary.csv: not UTF-8 or UTF-16 text (invalid start byte at byte'),
    ('backtest-csv:binary.csv', 'backtest --csv {tmp}/binary.csv --ticker C160 --epochs 1', 1, '{tmp}/binary.csv: not UTF-8 or UTF-16 text (invalid start byte at byte'),
    ('train-csv:long_line.csv', 'train --csv {tmp}/long_line.csv --ticker C161 --epochs 1', 1, '{tmp}/long_line.csv: Close has no value on any day'),
    ('backtest-csv:long_line.csv', 'backtest --csv {tmp}/long_line.csv --ticker C162 --epochs 1', 1, '{tmp}/long_line.csv: Close has no value on any day'),
    ('train-csv:one_row.csv', 'train --csv {tmp}/one_row.csv --ticker C163 --epochs 1', 1, 'C163: 1 bars are too few for window 50, horizon 1 and a 80%/10%/10% sp'),
    ('backtest-csv:one_row.csv', 'backtest --csv {tmp}/one_row.csv --ticker C164 --epochs 1', 1, 'no usable bar after building features: too few bars for a walk-forward'),
    ('import:dir', 'import {tmp} --ticker F', 1, '{tmp}: not a regular file (a directory, pipe or device); give a CSV fi'),
    ('import:missing', 'import {tmp}/nope.csv --ticker F', 1, '{tmp}/nope.csv: no such file'),
    ('import:dev_zero', 'import /dev/zero --ticker F', 1, '/dev/zero: not a regular file (a directory, pipe or device); give a CS'),
    ('import:dev_null', 'import /dev/null --ticker F', 1, '/dev/null: not a regular file (a directory, pipe or device); give a CS'),
    ('import:proc', 'import /proc/self/status --ticker F', 1, '/proc/self/status: no date column (expected one named Date)'),
    ('import:no_ticker', 'import {tmp}/empty.csv', 2, "Missing option '--ticker' / '-t'."),
    ('backtest:out=file', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --out {tmp}/one_row.csv', 1, '{tmp}/one_row.csv is a file: --out wants a folder'),
    ('backtest:plot=/proc', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --plot /proc/x.png', 1, 'cannot write /proc/x.png: No such file or directory'),
    ('backtest:plot=dir', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --plot {tmp}', 1, '{tmp} is a directory: give a file name'),
    ('backtest:plot=nodir', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --plot {tmp}/no/such/dir/x.png', 0, None),
    ('backtest:plot=ext', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --plot {tmp}/x.exe', 1, '{tmp}/x.exe: --plot writes .png, .svg, .pdf; name the file with one of'),
    ('backtest:plot=svg', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --plot {tmp}/x.svg', 0, None),
    ('data-export:dir', 'data export IBM {tmp}', 1, '{tmp} is a directory: give a file name'),
    ('data-export:proc', 'data export IBM /proc/x.csv', 1, 'cannot write /proc/x.csv: No such file or directory'),
    ('data-export:unknown', 'data export NOSUCH {tmp}/x.csv', 1, 'NOSUCH is not stored; run `lstmcast fetch NOSUCH` or `lstmcast import '),
    ('models-export:file', 'models export {model} --out {tmp}/one_row.csv', 0, None),
    ('models-export:unknown', 'models export nosuch --out {tmp}/exp', 1, "no model 'nosuch'; `lstmcast models` lists them"),
    ('daily:log=dir', 'daily --log-file {tmp}', 1, '{tmp} is a directory: give a file name'),
    ('daily:log=proc', 'daily --log-file /proc/x.log', 1, 'cannot write the log /proc/x.log: No such file or directory'),
    ('models-show:unknown', 'models show nosuch', 1, "no model 'nosuch'; `lstmcast models` lists them"),
    ('models-show:traversal', 'models show ../../etc', 1, "no model '../../etc'; `lstmcast models` lists them"),
    ('models-rm:unknown', 'models rm nosuch', 1, "no model 'nosuch'; `lstmcast models` lists them"),
    ('models-rm:traversal', 'models rm ../..', 1, "no model '../..'; `lstmcast models` lists them"),
    ('models-verify:unknown', 'models verify nosuch', 2, 'Got unexpected extra argument(s) (nosuch)'),
    ('sweeps-show:unknown', 'sweeps show nosuch', 1, "no sweep 'nosuch'; `lstmcast sweeps` lists them"),
    ('data-rm:unknown', 'data rm NOSUCH', 1, 'NOSUCH is not stored'),
    ('data-restore:unknown', 'data restore NOSUCH', 1, 'NOSUCH: nothing to restore (no import, fetch or rm has revised its bar'),
    ('data-restore:nothing', 'data restore IBM', 1, 'IBM: nothing to restore (no import, fetch or rm has revised its bars)'),
    ('finetune:unknown', 'finetune nosuch IBM', 1, "no model 'nosuch'; `lstmcast models` lists them"),
    ('finetune:lr0', 'finetune {model} IBM --lr 0', 1, "model {model} was fitted on data up to 2011-11-08, inside this ticker'"),
    ('finetune:freeze', 'finetune {model} IBM --freeze wings', 2, "Invalid value for '--freeze': Value error, 'wings' is not one of 'enco"),
    ('ledger:unknown', 'ledger NOSUCH', 0, None),
    ('audit:folds0', 'audit IBM --model cnn --window 10 --epochs 1 --folds 0', 1, '--folds must be between 1 and 1000, got 0'),
    ('config:train_wrongtype.toml', 'train IBM --config {tmp}/train_wrongtype.toml', 1, "{tmp}/train_wrongtype.toml, line 2: window must be an integer, got 'te"),
    ('daily-config:train_wrongtype.toml', 'daily --config {tmp}/train_wrongtype.toml', 1, "{tmp}/train_wrongtype.toml, line 2: window must be an integer, got 'te"),
    ('config:train_huge.toml', 'train IBM --config {tmp}/train_huge.toml', 1, '--window must be between 2 and 5000, got 99999999999999999999999'),
    ('daily-config:train_huge.toml', 'daily --config {tmp}/train_huge.toml', 1, '{tmp}/train_huge.toml: no [[ticker]] entries; add one per symbol (`lst'),
    ('config:train_nan.toml', 'train IBM --config {tmp}/train_nan.toml', 1, '--lr must be between 1e-12 and 10, got nan'),
    ('daily-config:train_nan.toml', 'daily --config {tmp}/train_nan.toml', 1, '{tmp}/train_nan.toml: no [[ticker]] entries; add one per symbol (`lstm'),
    ('config:train_unknown.toml', 'train IBM --config {tmp}/train_unknown.toml', 1, "{tmp}/train_unknown.toml, line 2: unknown setting 'windoww' in [train]"),
    ('daily-config:train_unknown.toml', 'daily --config {tmp}/train_unknown.toml', 1, "{tmp}/train_unknown.toml, line 2: unknown setting 'windoww' in [train]"),
    ('config:backtest_bad.toml', 'train IBM --config {tmp}/backtest_bad.toml', 1, '--folds must be between 1 and 1000, got -3'),
    ('daily-config:backtest_bad.toml', 'daily --config {tmp}/backtest_bad.toml', 1, "{tmp}/backtest_bad.toml: unknown setting 'backtest'; known: calendar, "),
    ('config:watch_bad.toml', 'train IBM --config {tmp}/watch_bad.toml', 1, "{tmp}/watch_bad.toml: unknown setting 'ticker'; did you mean 'tickers'"),
    ('daily-config:watch_bad.toml', 'daily --config {tmp}/watch_bad.toml', 1, '{tmp}/watch_bad.toml: IBM: --horizon must be between 1 and 252, got 0'),
    ('config:typo.toml', 'train IBM --config {tmp}/typo.toml', 1, "{tmp}/typo.toml, line 1: unknown setting 'windw'; known: backtest, csv"),
    ('daily-config:typo.toml', 'daily --config {tmp}/typo.toml', 1, "{tmp}/typo.toml, line 1: unknown setting 'windw'; known: calendar, fet"),
    ('config:wrongtype.toml', 'train IBM --config {tmp}/wrongtype.toml', 1, "{tmp}/wrongtype.toml, line 1: unknown setting 'window'; known: backtes"),
    ('daily-config:wrongtype.toml', 'daily --config {tmp}/wrongtype.toml', 1, "{tmp}/wrongtype.toml, line 1: unknown setting 'window'; known: calenda"),
    ('config:binary.toml', 'train IBM --config {tmp}/binary.toml', 1, '{tmp}/binary.toml: the run config is not UTF-8 text (invalid start byt'),
    ('daily-config:binary.toml', 'daily --config {tmp}/binary.toml', 1, '{tmp}/binary.toml: the watchlist is not UTF-8 text (invalid start byte'),
    ('config:section.toml', 'train IBM --config {tmp}/section.toml', 1, '--window must be between 2 and 5000, got -1'),
    ('daily-config:section.toml', 'daily --config {tmp}/section.toml', 1, '{tmp}/section.toml: no [[ticker]] entries; add one per symbol (`lstmca'),
    ('config:notoml.toml', 'train IBM --config {tmp}/notoml.toml', 1, '{tmp}/notoml.toml: Invalid value (at line 1, column 10)'),
    ('daily-config:notoml.toml', 'daily --config {tmp}/notoml.toml', 1, '{tmp}/notoml.toml: Invalid value (at line 1, column 10)'),
    ('config:huge.toml', 'train IBM --config {tmp}/huge.toml', 1, "{tmp}/huge.toml, line 1: unknown setting 'window'; known: backtest, cs"),
    ('daily-config:huge.toml', 'daily --config {tmp}/huge.toml', 1, "{tmp}/huge.toml, line 1: unknown setting 'window'; known: calendar, fe"),
    ('config:missing', 'train IBM --config {tmp}/nope.toml', 1, '{tmp}/nope.toml: cannot read the run config (No such file or directory'),
    ('config:dir', 'train IBM --config {tmp}', 1, '{tmp}: not a regular file; give the run config as a TOML file'),
    ('cluster:notaurl', 'sweep IBM --models cnn --epochs 1 --cluster notaurl', 1, "--cluster 'notaurl' is not a Dask scheduler address; give tcp://HOST:P"),
    ('cluster:port0', 'sweep IBM --models cnn --epochs 1 --cluster tcp://127.0.0.1:0', 1, "--cluster 'tcp://127.0.0.1:0' is not a Dask scheduler address; give tc"),
    ('cluster:port99999', 'sweep IBM --models cnn --epochs 1 --cluster tcp://127.0.0.1:99999', 1, "--cluster 'tcp://127.0.0.1:99999' is not a Dask scheduler address; giv"),
    ('cluster:scheme', 'sweep IBM --models cnn --epochs 1 --cluster http://127.0.0.1:80', 1, "--cluster 'http://127.0.0.1:80' is not a Dask scheduler address; give "),
    ('cluster:tls-nosec', 'sweep IBM --models cnn --epochs 1 --cluster tls://127.0.0.1:8786', 1, '--cluster tls://127.0.0.1:8786 is TLS: give --cluster-security FILE wi'),
    ('cluster:sec-nocluster', 'sweep IBM --models cnn --epochs 1 --workers 1 --cluster-security {tmp}/typo.toml', 1, '--cluster-security is for a tls:// --cluster; no --cluster was given'),
    ('sweep:models', 'sweep IBM --models xgboost --epochs 1', 2, 'Invalid value: --models from lstm, gru, rnn, cnn; --adjust bh or holm'),
    ('sweep:adjust', 'sweep IBM --models cnn --adjust bonferroni --epochs 1', 2, 'Invalid value: --models from lstm, gru, rnn, cnn; --adjust bh or holm'),
    ('sweep:workers-huge', 'sweep IBM --models cnn --workers 100000 --epochs 1', 1, '--workers must be between 1 and 1024, got 100000'),
    ('sweep:workers0', 'sweep IBM --models cnn --workers 0 --epochs 1', 1, '--workers must be between 1 and 1024, got 0'),
    ('sweep:workers-1', 'sweep IBM --models cnn --workers -1 --epochs 1', 1, '--workers must be between 1 and 1024, got -1'),
    ('backtest:workers0', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --workers 0', 1, '--workers must be between 1 and 1024, got 0'),
    ('daily:workers0', 'daily --workers 0', 1, '--workers must be between 1 and 1024, got 0'),
    ('home:file', '--home {tmp}/one_row.csv data', 1, '{tmp}/one_row.csv is a file, not a directory: point --home or LSTMCAST'),
    ('home:proc', '--home /proc/lstmcast data', 1, 'cannot use /proc/lstmcast as the data dir: No such file or directory'),
    ('fetch:bad-start', 'fetch IBM --start 2020-13-01', 2, "Invalid value for --start: '2020-13-01' is not a date like 2024-01-31"),
    ('fetch:start-after-end', 'fetch IBM --start 2021-01-01 --end 2020-01-01', 1, '--start 2021-01-01 is after --end 2020-01-01: nothing to fetch'),
    ('import:fifo', 'import {tmp}/fifo.csv --ticker FIFO', 1, '{tmp}/fifo.csv: not a regular file (a directory, pipe or device); give'),
    ('train-config:fifo', 'train IBM --config {tmp}/fifo.csv', 1, '{tmp}/fifo.csv: not a regular file; give the run config as a TOML file'),
    ('forecast:levels-dup', 'forecast IBM --levels 80,80', 1, '--levels names a level twice (80%, 80%)'),
    ('forecast:csv-missing', 'forecast --csv {tmp}/nope.csv --ticker Q', 1, '{tmp}/nope.csv: no such file'),
    ('forecast:csv-dir', 'forecast --csv {tmp} --ticker Q', 1, '{tmp}: not a regular file (a directory, pipe or device); give a CSV fi'),
    ('audit:plot', 'audit IBM --model cnn --window 10 --epochs 1 --folds 2 --seeds 0', 2, 'No such option: --seeds (Possible options: --scheme, --seed, --threads'),
    ('models-rm:none', 'models rm', 2, 'Invalid value: give a model ID (or --latest TICKER) or --orphans (one '),
    ('import:replace-strict-bad', 'import {tmp}/dup.csv --ticker IBM --replace', 1, '{tmp}/dup.csv: duplicate date 2020-01-02 (lines 2, 4); 1 other date(s)'),
    ('daily:init-into-file', 'daily --init --config {tmp}/one_row.csv/x.toml', 1, 'cannot write {tmp}/one_row.csv/x.toml: File exists'),
    ('finetune:epochs0', 'finetune {model} IBM --epochs 0', 1, "model {model} was fitted on data up to 2011-11-08, inside this ticker'"),
    ('sweep:seeds0', 'sweep IBM --models cnn --seeds 0 --epochs 1', 1, '--seeds must be between 1 and 1000, got 0'),
    ('sweep:out-file', 'sweep IBM --models cnn --epochs 1 --out {tmp}/one_row.csv', 1, '{tmp}/one_row.csv is a file: --out wants a folder'),
    ('backtest:start-future', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --start 2099-01-01', 1, 'nothing to forecast: the test part starts after the last bar (2013-03-'),
    ('backtest:start-bad', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --start 2020-02-30', 1, "--start '2020-02-30' is not a date like 2024-01-31"),
    ('train:csv-and-ticker-missing', 'train --csv {tmp}/nope.csv --ticker Q', 1, '{tmp}/nope.csv: no such file'),
    ('train:no-ticker', 'train --epochs 1', 1, 'give a stored TICKER (or several), or --csv PATH'),
    ('forecast:no-ticker', 'forecast', 2, 'Invalid value: give stored TICKER(s) or --csv PATH'),
    ('backtest:exog-unstored', 'backtest IBM --model cnn --window 10 --epochs 1 --channels 4 --folds 2 --exog NOSUCH', 1, 'NOSUCH is not stored; run `lstmcast fetch NOSUCH` or `lstmcast import '),
    ('train:target-vol-cnn-loss', 'train IBM --target volatility --loss huber --epochs 1', 0, None),
    ('tune:trials0', 'tune IBM --trials 0', 1, '--trials must be between 1 and 10000, got 0'),
    ('tune:trials-huge', 'tune IBM --trials 100000', 1, '--trials must be between 1 and 10000, got 100000'),
    ('tune:inner-folds1', 'tune IBM --inner-folds 1', 1, '--inner-folds must be between 2 and 20, got 1'),
    ('tune:timeout-negative', 'tune IBM --timeout -5', 1, '--timeout must be a positive number of seconds, got -5.0'),
    ('tune:timeout-nan', 'tune IBM --timeout nan', 1, '--timeout must be a positive number of seconds, got nan'),
    ('tune:sampler-grid', 'tune IBM --sampler grid', 2, "'grid' is not one of 'tpe', 'random'"),
    ('tune:seeds2', 'tune IBM --seeds 2', 1, 'tune scores one seed per trial; --seeds is for backtest'),
    ('tune:space-missing', 'tune IBM --space {tmp}/nope.toml', 1, '{tmp}/nope.toml: cannot read the space file (No such file or directory)'),
    ('tune:space-dir', 'tune IBM --space {tmp}', 1, '{tmp}: not a regular file; give the space file as a TOML file'),
    ('tune:space-binary', 'tune IBM --space {tmp}/binary.toml', 1, '{tmp}/binary.toml'),
    ('tune:space-config', 'tune IBM --space {tmp}/typo.toml', 1, "{tmp}/typo.toml, line 1: 'windw' is not a setting a space can search; did you mean 'window'?"),
    ('tune:space-half-range', 'tune IBM --space {tmp}/half_range.toml', 1, '{tmp}/half_range.toml, line 2: [window] a range needs low and high'),
    ('tune:window-too-long', 'tune IBM --window 4000 --trials 1 --workers 1', 1, 'the first fold would train on 2615 bars (2000-03-02 to 2010-07-26), too few for window 4000'),
    ('tune:unstored', 'tune NOSUCH --workers 1', 1, 'NOSUCH is not stored; run `lstmcast fetch NOSUCH`'),
    ('tune:out-file', 'tune IBM --out {tmp}/one_row.csv', 1, '{tmp}/one_row.csv is a file: --out wants a folder'),
    ('tunes-show:unknown', 'tunes show nosuch', 1, "no tune 'nosuch'; `lstmcast tunes` lists them"),
    ('tune:cluster-notaurl', 'tune IBM --cluster notaurl', 1, "--cluster 'notaurl' is not a Dask scheduler address"),
    # An empty ID is a prefix of every ID: it names nothing, wherever an ID is taken.
    ('models-rm:empty', "models rm ''", 1, 'an empty model ID names no model; `lstmcast models` lists them'),
    ('models-rm:blank', "models rm '  '", 1, 'an empty model ID names no model'),
    ('models-rm:short', 'models rm ibm', 1, "'ibm' is too short to pick the model this deletes: give at least 4"),
    ('models-show:empty', "models show ''", 1, 'an empty model ID names no model'),
    ('models-export:empty', "models export ''", 1, 'an empty model ID names no model'),
    ('forecast:empty-id', "forecast IBM --model-id ''", 1, 'an empty model ID names no model'),
    ('finetune:empty-id', "finetune '' IBM", 1, 'an empty model ID names no model'),
    ('tunes-show:empty', "tunes show ''", 1, 'an empty tune ID names no tune; `lstmcast tunes` lists them'),
    ('models-show:other-arch', 'models show {model} -m rnn', 1, 'is a cnn: -m rnn names another architecture'),
    ('models-rm:record-only-orphans', 'models rm --orphans --record-only', 2, '--record-only is for one model'),
]
# fmt: on


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One home with IBM and a tiny model, and every hostile file beside it."""
    from lstmcast.cli.app import app

    tmp = tmp_path_factory.mktemp("hostile")
    for name, data in {**FILES, **CONFIGS}.items():
        (tmp / name).write_bytes(data)
    os.mkfifo(tmp / "fifo.csv")
    home = tmp / "home"
    runner = CliRunner()

    def call(*args: str) -> Any:
        return runner.invoke(app, ["--home", str(home), *args])

    assert call("import", str(SAMPLE / "IBM.csv"), "--ticker", "IBM").exit_code == 0
    trained = call(*shlex.split("train IBM --model cnn --window 10 --epochs 1 --channels 4 --json"))
    priced = call(*shlex.split("train IBM --target price --model cnn --window 10 --epochs 1 --channels 4"))
    assert trained.exit_code == priced.exit_code == 0
    return {"tmp": tmp, "home": home, "model": json.loads(trained.stdout)["model_id"], "call": call}


def test_the_table_is_as_large_as_the_attack() -> None:
    assert len(CASES) >= 202 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("args", "code", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input(world: dict[str, Any], args: str, code: int, says: str | None) -> None:
    fill = {"tmp": world["tmp"], "model": world["model"], "home": world["home"]}
    res = world["call"](*shlex.split(args.format(**fill)))
    err = res.stderr.strip()
    leaked = res.exception if not isinstance(res.exception, (SystemExit, type(None))) else None
    assert leaked is None, f"{type(leaked).__name__}: {leaked} would reach the fallback line"
    assert "Traceback" not in err and "unexpected " not in err.replace("unexpected extra argument", "")
    assert res.exit_code == code, err
    if says is not None:
        assert says.format(**fill) in err, err
    if code in (1, 75):
        lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert len(lines) == len(err.splitlines()) == 1 or args.startswith("forecast a b"), err
