"""The forecasters: one batch contract for all, (B, L, F) -> (B, H)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from lstmcast.config import TrainConfig


def build_model(config: TrainConfig, n_features: int) -> nn.Module:
    """The architecture named by `config.model`, sized for `n_features` inputs (including the
    ticker-id column when the config has a ticker embedding)."""
    if config.embedding_tickers:
        from lstmcast.models.embedding import EMBEDDING_DIM, TickerEmbedding

        inner = _bare_model(config, n_features - 1 + EMBEDDING_DIM)
        return TickerEmbedding(inner, len(config.embedding_tickers))
    return _bare_model(config, n_features)


def _bare_model(config: TrainConfig, n_features: int) -> nn.Module:
    out = 1 if config.decoder == "recursive" else config.horizon
    if config.model == "cnn":
        from lstmcast.models.cnn import ConvForecaster

        return ConvForecaster(
            n_features, config.window, out, config.channels, config.kernel_size, config.layers, config.dropout
        )
    if config.decoder == "seq2seq":
        from lstmcast.models.seq2seq import Seq2SeqForecaster

        return Seq2SeqForecaster(
            config.model, n_features, config.hidden, config.layers, config.dropout, config.horizon
        )
    from lstmcast.models.recurrent import RecurrentForecaster

    return RecurrentForecaster(config.model, n_features, config.hidden, config.layers, config.dropout, out)
