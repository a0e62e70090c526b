"""A network that forecasts variance: the fit and the forecast behind `--target volatility`.

Inputs are the usual windows of the volatility frame (log variance proxy, log return, any
extra features). The targets are the log proxies of the next h days, each minus an offset
known at the origin: 0, or the log of HAR's forecast for the hybrid (`--residual-on har`),
which then learns HAR's error and starts from HAR (its head starts at zero). The forecast
is the mean of the h exponentiated outputs plus the offset, times one scale (the
QLIKE-optimal mean(v / f)) fitted on the training origins, so that it is not biased low:
the exponential of a mean log is below the mean level. Log-HAR's bias correction uses the
same rows, so neither wins by calibrating on more recent data; fitting the network's scale
on the validation origins instead moved its 22-day QLIKE on GOOG from +12% to -48% against
log-HAR (benchmarks/bench_volatility.py's note). No test row reaches any of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.errors import DataError
from lstmcast.evaluation import volatility as V
from lstmcast.evaluation.volatility import Har, forward_mean
from lstmcast.inference.predictor import Net
from lstmcast.inference.volatility import MONTH, VolHead, offset, origins_in, raw_variance
from lstmcast.models import build_model
from lstmcast.prep.dataset import Frame, Segments, StaleReport
from lstmcast.prep.inputs import frame_for, split_for
from lstmcast.prep.scaling import Scaler, apply, fit_scaler
from lstmcast.prep.windows import targets, windows
from lstmcast.training import runtime
from lstmcast.training.loop import FitOutcome, fit, predict_scaled
from lstmcast.training.report import volatility_scores_json


@dataclass
class VolFit:
    config: TrainConfig
    scaler: Scaler  # the inputs', from training rows
    head: VolHead  # target scaling, hybrid offset, floor and back-transform
    state: dict[str, torch.Tensor]
    outcome: FitOutcome
    device: str = "cpu"  # where it was trained (forecasting runs on the CPU or ONNX)

    def net(self, n_features: int) -> Net:
        model = build_model(self.config, n_features)
        model.load_state_dict(self.state)

        def run(x: np.ndarray) -> np.ndarray:
            return predict_scaled(model, torch.from_numpy(x).float()).double().numpy()

        return run

    def raw(self, frame: Frame, proxy: np.ndarray, at: np.ndarray, first_day: bool = False) -> np.ndarray:
        """(N,) variance forecasts for origins `at` before the back-transform (`first_day`:
        the first of the h days alone)."""
        net = self.net(frame.x.shape[1])
        return raw_variance(net, self.config, self.scaler, self.head, frame, proxy, at, first_day)

    def predict(self, frame: Frame, proxy: np.ndarray, at: np.ndarray, first_day: bool = False) -> np.ndarray:
        return self.raw(frame, proxy, at, first_day) * self.head.scale


def fit_volatility(
    config: TrainConfig,
    frame: Frame,
    proxy: np.ndarray,
    lo: int,
    train_at: np.ndarray,
    val_at: np.ndarray,
    har: Har | None,
    init: dict[str, torch.Tensor] | None = None,
    lr: float | None = None,
    freeze_encoder: bool = False,
) -> VolFit:
    """Fit on training origins `train_at` (their targets end before the validation rows) and
    stop early on `val_at`; the inputs' scaler and the back-transform come from the training
    rows and origins, from `lo` on."""
    gen, device = runtime.prepare(config.threads, config.seed, config.device)
    h = config.horizon
    train_end = int(train_at.max()) + h + 1  # the first row no training target reaches
    scaler = fit_scaler(frame.x[lo:train_end])  # leakage cut-off: training rows only
    floor = float(np.min(proxy[lo:train_end]))
    xs = apply(scaler, frame.x)

    def target(at: np.ndarray) -> np.ndarray:
        return targets(frame.x[:, 0], h, at) - offset(har, proxy, at, floor)[:, None]  # (N, h)

    y_train = target(train_at)
    mean, std = float(y_train.mean()), float(y_train.std()) or 1.0

    def tensors(at: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(windows(xs, config.window, at)).float().to(device)
        y = torch.from_numpy((target(at) - mean) / std).float().to(device)
        return x, y

    model = build_model(config, frame.x.shape[1])
    if init is not None:  # fine-tuning: a copy of the parent's weights, maybe only the head learns
        model.load_state_dict(init)
        for name, p in model.named_parameters():
            if freeze_encoder and "head" not in name.split("."):
                p.requires_grad_(False)
    model = model.to(device)
    if har is not None and init is None:  # the hybrid starts from HAR itself: a zero head
        head = getattr(model, "head", None)
        if isinstance(head, torch.nn.Linear):
            torch.nn.init.zeros_(head.weight)
            torch.nn.init.zeros_(head.bias)
    outcome = fit(model, tensors(train_at), tensors(val_at), config, gen, lr=lr, target_scale=(0.0, std))
    vf = VolFit(config, scaler, VolHead(mean, std, har, floor), outcome.state, outcome, str(device))
    realised = forward_mean(proxy, h, train_at)
    vf.head.scale = float(np.mean(realised / vf.raw(frame, proxy, train_at)))
    return vf


@dataclass
class CutoffFits:
    """Everything fitted on rows before one cutoff, and the forecasts it makes."""

    forecasts: dict[str, np.ndarray]  # name -> (N,) variance forecasts for the asked origins
    hars: dict[str, Har]  # the three HARs on the training origins (the hybrid's offset: log-HAR)
    net: VolFit  # the network of the config's seed ("model"); seeds are averaged by the backtest
    ratio: float  # mean proxy over mean squared return, training rows
    # Each forecaster's 1-day variance forecast, what its value-at-risk reads: at the asked
    # origins, and at the training origins with the next day's return there (its residuals).
    one_day: dict[str, np.ndarray]
    one_day_train: dict[str, np.ndarray]
    train_next: np.ndarray

    @cached_property
    def quantiles(self) -> dict[str, dict[float, float]]:
        """Every forecaster's VaR quantiles, from its own standardised training residuals."""
        return V.own_var_quantiles(self.one_day_train, self.train_next)

    def hits(self, next_return: np.ndarray) -> dict[str, dict[float, np.ndarray]]:
        return V.var_hits_of(self.one_day, next_return, self.quantiles)


def fold_forecasts(
    cfg: TrainConfig,
    frame: Frame,
    proxy: np.ndarray,
    returns: np.ndarray,
    lo: int,
    train_end: int,
    train_at: np.ndarray,
    val_at: np.ndarray,
    test_at: np.ndarray,
    init: dict[str, torch.Tensor] | None = None,
    lr: float | None = None,
    freeze_encoder: bool = False,
    refit_every: int = V.REFIT_EVERY,
) -> CutoffFits:
    """Fit the network on rows [lo, train_end) (validation origins `val_at` stop it early) and
    forecast origins `test_at`: (N,) variances each. The baselines are re-estimated inside the
    test block every `refit_every` origins on all the rows known by then, as a practitioner
    would (`evaluation.volatility.baseline_forecasts`); the network is fitted once."""
    h = cfg.horizon
    hars = V.fit_hars(proxy, returns, train_at, h)
    ratio = V.proxy_ratio(proxy, returns, slice(lo, train_end))
    out = V.baseline_forecasts(proxy, returns, lo, test_at, h, refit_every)
    offset = hars[V.BENCHMARK] if cfg.residual_on == "har" else None
    net = fit_volatility(cfg, frame, proxy, lo, train_at, val_at, offset, init, lr, freeze_encoder)
    out["model"] = net.predict(frame, proxy, test_at)
    # The value-at-risk reads each forecaster's 1-day forecast, never its h-day average.
    one_day = V.baseline_forecasts(proxy, returns, lo, test_at, 1, refit_every) if h > 1 else dict(out)
    one_day["model"] = net.predict(frame, proxy, test_at, first_day=True)
    one_day_train = V.in_sample_one_day(proxy, returns, lo, train_end, train_at)
    one_day_train["model"] = net.predict(frame, proxy, train_at, first_day=True)
    return CutoffFits(out, hars, net, ratio, one_day, one_day_train, returns[train_at + 1])


def check_volatility(cfg: TrainConfig, frame: Frame) -> None:
    """HAR's monthly term needs 22 proxies behind every origin: refuse a series too short."""
    need = MONTH + cfg.window + cfg.horizon + 200  # and a few hundred origins to fit anything
    if frame.n + 1 < need:
        raise DataError(
            f"{frame.n + 1} bars are too few for the volatility target with window {cfg.window} and"
            f" horizon {cfg.horizon}: HAR's 22-day term and the fits need at least {need}"
        )


@dataclass
class VolTrained:
    """A volatility network trained on one ticker's split and judged on its test segment."""

    ticker: str
    config: TrainConfig
    frame: Frame
    segments: Segments
    proxy: str  # the proxy used
    fits: CutoffFits
    at: np.ndarray  # (N,) test origins
    realised: np.ndarray  # (N,) the proxy's mean over the next h rows
    quantiles: dict[float, float]  # the model's VaR quantiles: its own 1-day residuals, training rows
    log_errors: np.ndarray  # log(realised / forecast) at validation and test origins: the interval pool
    hits: dict[str, dict[float, np.ndarray]]
    warnings: list[str]
    scored: V.VolScores  # the test segment's scores and tests, computed once
    stale: StaleReport

    def scores_json(self) -> dict[str, object]:
        """The test segment's scores as the report and the manifest keep them: the proxy, the
        horizon, its stale opens, then every score and test."""
        return volatility_scores_json(self.proxy, self.config.horizon, self.stale, self.scored)

    @property
    def net(self) -> VolFit:
        return self.fits.net

    def segment_dates(self) -> dict[str, list[str]]:
        d, s = self.frame.dates, self.segments
        return {
            "train": [str(d[0].date()), str(d[s.train_end - 1].date())],
            "validation": [str(d[s.train_end].date()), str(d[s.val_end - 1].date())],
            "test": [str(d[s.val_end].date()), str(d[s.n - 1].date())],
        }


def train_volatility(
    config: TrainConfig,
    series: Series,
    init: dict[str, torch.Tensor] | None = None,
    lr: float | None = None,
    freeze_encoder: bool = False,
) -> VolTrained:
    """Fit on train (early stopping on validation), every baseline beside it, then score the
    test segment. The interval pool is the log errors at validation and test origins."""
    config.validate()
    frame = frame_for(config, series.bars, series.exog, series.ticker)
    check_volatility(config, frame)
    seg = split_for(config, frame, series.ticker)
    proxy, returns = np.exp(frame.x[:, 0]), frame.x[:, 1]
    train_at = origins_in(config, 0, 0, seg.train_end)
    val_at = origins_in(config, 0, seg.train_end, seg.val_end)
    test_at = origins_in(config, 0, seg.val_end, frame.n)
    fits = fold_forecasts(
        config, frame, proxy, returns, 0, seg.train_end, train_at, val_at, test_at,
        init=init, lr=lr, freeze_encoder=freeze_encoder,
    )  # fmt: skip
    oos = np.concatenate([val_at, test_at])
    log_errors = np.log(forward_mean(proxy, config.horizon, oos) / fits.net.predict(frame, proxy, oos))
    quantiles = fits.quantiles["model"]
    hits = fits.hits(returns[test_at + 1])
    realised = forward_mean(proxy, config.horizon, test_at)
    return VolTrained(
        series.ticker,
        config,
        frame,
        seg,
        frame.vol_proxy,
        fits,
        test_at,
        realised,
        quantiles,
        log_errors,
        hits,
        list(frame.notes),
        V.score_all(fits.forecasts, realised, test_at, config.horizon, hits, config.seed),
        frame.stale_report(),
    )
