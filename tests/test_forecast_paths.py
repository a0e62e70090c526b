"""The rarer forecasting paths: fine-tuned embeddings, recursive extension, stateful horizons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lstmcast.config import TrainConfig
from lstmcast.data.series import Series
from lstmcast.forecasting.path import predict_path
from lstmcast.jobs.train import train
from lstmcast.registry.saved import load_model, save_trained
from lstmcast.store.db import Store
from lstmcast.training.finetune import run_finetune
from synth import ar1

TINY = TrainConfig(model="gru", window=10, hidden=8, layers=1, epochs=2, lr=5e-3, threads=1)


def _members() -> list[Series]:
    return [Series(t, ar1(700, phi=0.4, seed=s)[0], "synthetic") for t, s in (("AAA", 1), ("BBB", 2))]


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    with Store(home) as s:
        yield s


def test_finetuned_embedding_model_reloads_with_its_own_row(store: Store) -> None:
    parent_id = train(store, TINY.replace(ticker_embedding=True), _members()).model_id
    parent = load_model(store, parent_id, "BBB", engine="torch")
    series = Series("BBB", ar1(700, phi=0.4, seed=3)[0], "synthetic")
    _, after, _ = run_finetune(parent, series, lr=1e-3, epochs=1, allow_overlap=True)
    model_id, _ = save_trained(store, [after], after.scores, "synthetic", parent=parent_id)
    reloaded = load_model(store, model_id, "BBB")
    assert reloaded.fitted.ticker_id == 1  # BBB's row in the parent's embedding, not row 0
    assert after.block is not None
    at = after.block.at
    np.testing.assert_allclose(
        reloaded.fitted.predict(after.frame, at), after.block.by_name["model"], rtol=1e-6, atol=1e-9
    )


def test_recursive_extension_keeps_the_members_embedding_row(store: Store) -> None:
    model_id = train(store, TINY.replace(ticker_embedding=True), _members()).model_id
    for i, member in enumerate(_members()):
        loaded = load_model(store, model_id, member.ticker)
        assert loaded.fitted.ticker_id == i
        one = predict_path(loaded, member, 1, "XNYS").forecasts
        three = predict_path(loaded, member, 3, "XNYS").forecasts
        assert len(three) == 3
        # Step 1 of the recursive path is the one-step forecast itself, for every member.
        assert three[0].log_return == pytest.approx(one[0].log_return, rel=1e-6, abs=1e-12)


def test_stateful_model_forecasts_several_steps_recursively(store: Store) -> None:
    series = Series("AAA", ar1(700, phi=0.4, seed=1)[0], "synthetic")
    model_id = train(store, TINY.replace(model="lstm", stateful=True), series).model_id
    loaded = load_model(store, model_id)
    one = predict_path(loaded, series, 1, "XNYS").forecasts
    path = predict_path(loaded, series, 4, "XNYS").forecasts
    assert [f.step for f in path] == [1, 2, 3, 4]
    assert path[0].log_return == pytest.approx(one[0].log_return, rel=1e-6, abs=1e-12)
    assert all(np.isfinite(f.price) and f.lower_95 < f.price < f.upper_95 for f in path)
    # An AR(1) with phi=0.4 decays towards zero: the path settles, it does not explode.
    steps = np.diff([0.0, *(f.log_return for f in path)])
    assert abs(steps[-1]) <= abs(steps[0]) + 1e-4


def test_finetune_refuses_a_parent_that_saw_the_evaluation_period(store: Store) -> None:
    from lstmcast.errors import ConfigError
    from synth import bars_from_log_returns

    rng = np.random.default_rng(4)
    returns = rng.normal(0, 0.01, 3000)
    early = Series("OLD", bars_from_log_returns(returns[:1500]), "synthetic")
    parent = load_model(store, train(store, TINY, early).model_id)
    overlapping = Series("NEW", bars_from_log_returns(returns[:1400], start="2001-06-01"), "synthetic")
    with pytest.raises(ConfigError, match="contaminated"):
        run_finetune(parent, overlapping, epochs=1)
    _, after, _ = run_finetune(parent, overlapping, epochs=1, allow_overlap=True)
    assert any("contaminated" in w for w in after.warnings)
    later = Series("LATER", bars_from_log_returns(returns, start="2001-01-01"), "synthetic")
    _, clean, _ = run_finetune(parent, later, epochs=1)  # its validation starts years after
    assert not any("contaminated" in w for w in clean.warnings)


def test_one_step_models_are_evaluated_20_steps_out_and_no_further(store: Store) -> None:
    from lstmcast.errors import ConfigError
    from lstmcast.training.scores import EXTENDED_STEPS

    series = Series("AAA", ar1(700, phi=0.4, seed=1)[0], "synthetic")
    loaded = load_model(store, train(store, TINY, series).model_id)
    residuals = loaded.residuals()
    assert len(residuals) == EXTENDED_STEPS == 20
    # Measured, not assumed: the k-step errors of the recursive path spread like k steps do.
    spread = [float(np.std(r)) for r in residuals]
    assert spread[19] > 2.5 * spread[0] and len(residuals[19]) == len(residuals[0]) - 19
    path = predict_path(loaded, series, 20, "XNYS").forecasts
    assert len(path) == 20
    with pytest.raises(ConfigError, match="evaluated out of sample up to 20 step"):
        predict_path(loaded, series, 21, "XNYS")
