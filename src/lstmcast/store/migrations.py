"""The store's schema, as numbered append-only migrations, and the tables it must have."""

from __future__ import annotations

# Append only: never edit a migration that has shipped; add the next number instead.
MIGRATIONS: list[str] = [
    # 1: daily bars, one row per (ticker, date); dates as ISO text sort correctly.
    """
    CREATE TABLE prices (
        ticker     TEXT NOT NULL,
        date       TEXT NOT NULL,
        open       REAL,
        high       REAL,
        low        REAL,
        close      REAL NOT NULL,
        adj_close  REAL NOT NULL,
        volume     REAL,
        source     TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (ticker, date)
    ) WITHOUT ROWID;
    """,
    # 2: every training run, with its config and test metrics as JSON.
    """
    CREATE TABLE models (
        id           TEXT PRIMARY KEY,
        created_at   TEXT NOT NULL,
        tickers      TEXT NOT NULL,
        model        TEXT NOT NULL,
        target       TEXT NOT NULL,
        train_start  TEXT NOT NULL,
        train_end    TEXT NOT NULL,
        test_start   TEXT NOT NULL,
        test_end     TEXT NOT NULL,
        skill        REAL,
        config_json  TEXT NOT NULL,
        metrics_json TEXT NOT NULL,
        path         TEXT NOT NULL
    );
    CREATE INDEX models_by_ticker ON models (tickers, model, created_at);
    """,
    # 3: every forecast made, unique per (model, last bar used, step) so reruns add nothing.
    """
    CREATE TABLE ledger (
        model_id    TEXT NOT NULL,
        ticker      TEXT NOT NULL,
        as_of       TEXT NOT NULL,
        step        INTEGER NOT NULL,
        target_date TEXT NOT NULL,
        made_at     TEXT NOT NULL,
        last_price  REAL NOT NULL,
        price       REAL NOT NULL,
        log_return  REAL NOT NULL,
        lower_80    REAL NOT NULL,
        upper_80    REAL NOT NULL,
        lower_95    REAL NOT NULL,
        upper_95    REAL NOT NULL,
        config_json TEXT NOT NULL,
        PRIMARY KEY (model_id, ticker, as_of, step)
    );
    CREATE INDEX ledger_by_ticker ON ledger (ticker, target_date);
    """,
    # 4: the volatility behind each forecast's interval and the method that made it; the ACI
    # miss rate each (model, ticker, level, step) aims at, and the last origin it learned from.
    """
    ALTER TABLE ledger ADD COLUMN sigma REAL;
    ALTER TABLE ledger ADD COLUMN interval_method TEXT;
    CREATE TABLE aci_state (
        model_id      TEXT NOT NULL,
        ticker        TEXT NOT NULL,
        level         REAL NOT NULL,
        step          INTEGER NOT NULL,
        alpha         REAL NOT NULL,
        through_as_of TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        PRIMARY KEY (model_id, ticker, level, step)
    );
    """,
    # 5: sweeps. A cell (one walk-forward backtest) is keyed by what decides its result: the
    # config, the data and the seed, so a finished cell is found again by any sweep that needs it.
    """
    CREATE TABLE sweep_cells (
        cell_key     TEXT PRIMARY KEY,
        ticker       TEXT NOT NULL,
        model        TEXT NOT NULL,
        seed         INTEGER NOT NULL,
        status       TEXT NOT NULL,
        error        TEXT,
        result_json  TEXT NOT NULL,
        seconds      REAL,
        finished_at  TEXT NOT NULL
    );
    CREATE TABLE sweeps (
        id           TEXT PRIMARY KEY,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        tickers      TEXT NOT NULL,
        models       TEXT NOT NULL,
        seeds        INTEGER NOT NULL,
        config_json  TEXT NOT NULL,
        cells_json   TEXT NOT NULL
    );
    """,
    # 6: the bars a write replaced or removed, so that it can be undone (`data restore`). One
    # batch per revising write; was_new marks a date that write inserted (undo: delete it).
    """
    CREATE TABLE price_revisions (
        batch       INTEGER NOT NULL,
        ticker      TEXT NOT NULL,
        date        TEXT NOT NULL,
        was_new     INTEGER NOT NULL,
        open        REAL,
        high        REAL,
        low         REAL,
        close       REAL,
        adj_close   REAL,
        volume      REAL,
        source      TEXT,
        fetched_at  TEXT,
        revised_at  TEXT NOT NULL,
        reason      TEXT NOT NULL,
        PRIMARY KEY (batch, ticker, date)
    );
    CREATE INDEX price_revisions_by_ticker ON price_revisions (ticker, batch);
    """,
    # 7: volatility forecasts, once per (model, ticker, last bar used): the h-day average daily
    # variance, HAR's forecast made the same day, the interval, and the 1-day value-at-risk.
    """
    CREATE TABLE vol_ledger (
        model_id     TEXT NOT NULL,
        ticker       TEXT NOT NULL,
        as_of        TEXT NOT NULL,
        horizon      INTEGER NOT NULL,
        target_date  TEXT NOT NULL,
        made_at      TEXT NOT NULL,
        proxy        TEXT NOT NULL,
        variance     REAL NOT NULL,
        har_variance REAL NOT NULL,
        lower_80     REAL NOT NULL,
        upper_80     REAL NOT NULL,
        lower_95     REAL NOT NULL,
        upper_95     REAL NOT NULL,
        var_95       REAL,
        var_99       REAL,
        config_json  TEXT NOT NULL,
        PRIMARY KEY (model_id, ticker, as_of)
    );
    CREATE INDEX vol_ledger_by_ticker ON vol_ledger (ticker, as_of);
    """,
    # 8: a model's folder relative to the home, where every model is written (models/<id>):
    # an absolute path broke a copied or moved home, and a row pointed elsewhere made
    # `models rm` delete whatever it named.
    """
    UPDATE models SET path = 'models/' || id;
    """,
    # 9: tunes and their trials. A trial is written when it finishes, in its own transaction,
    # so a killed tune resumes from every finished trial; its study is rebuilt from them.
    """
    CREATE TABLE tunes (
        id           TEXT PRIMARY KEY,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        ticker       TEXT NOT NULL,
        model        TEXT NOT NULL,
        target       TEXT NOT NULL,
        trials       INTEGER NOT NULL,
        config_json  TEXT NOT NULL,
        result_json  TEXT
    );
    CREATE TABLE tune_trials (
        tune_id      TEXT NOT NULL,
        fold         INTEGER NOT NULL,
        number       INTEGER NOT NULL,
        state        TEXT NOT NULL,
        params_json  TEXT NOT NULL,
        value        REAL,
        steps_json   TEXT NOT NULL,
        error        TEXT,
        result_json  TEXT NOT NULL,
        seconds      REAL,
        finished_at  TEXT NOT NULL,
        PRIMARY KEY (tune_id, fold, number)
    );
    """,
    # 10: one ledger for every target. A row is one forecast of one step; `target` says what it
    # forecasts, and the columns of the other targets are null. A volatility forecast is the
    # one step of its horizon (the h-day average variance). Every row of the two old tables is
    # kept with its scores: the returns rows take their model's target (log_return when the
    # model is gone), and the volatility rows step = horizon.
    """
    CREATE TABLE forecasts (
        model_id        TEXT NOT NULL,
        ticker          TEXT NOT NULL,
        as_of           TEXT NOT NULL,
        step            INTEGER NOT NULL,
        target          TEXT NOT NULL,
        target_date     TEXT NOT NULL,
        made_at         TEXT NOT NULL,
        last_price      REAL,
        price           REAL,
        log_return      REAL,
        proxy           TEXT,
        variance        REAL,
        har_variance    REAL,
        lower_80        REAL NOT NULL,
        upper_80        REAL NOT NULL,
        lower_95        REAL NOT NULL,
        upper_95        REAL NOT NULL,
        sigma           REAL,
        interval_method TEXT,
        var_95          REAL,
        var_99          REAL,
        config_json     TEXT NOT NULL,
        PRIMARY KEY (model_id, ticker, as_of, step),
        CHECK (target = 'volatility' AND variance IS NOT NULL AND har_variance IS NOT NULL
               AND proxy IS NOT NULL
               OR target <> 'volatility' AND price IS NOT NULL AND last_price IS NOT NULL
               AND log_return IS NOT NULL)
    );
    INSERT INTO forecasts (model_id, ticker, as_of, step, target, target_date, made_at, last_price,
        price, log_return, lower_80, upper_80, lower_95, upper_95, sigma, interval_method,
        config_json)
    SELECT l.model_id, l.ticker, l.as_of, l.step,
        COALESCE((SELECT m.target FROM models m WHERE m.id = l.model_id), 'log_return'),
        l.target_date, l.made_at, l.last_price, l.price, l.log_return, l.lower_80, l.upper_80,
        l.lower_95, l.upper_95, l.sigma, l.interval_method, l.config_json
    FROM ledger l;
    INSERT INTO forecasts (model_id, ticker, as_of, step, target, target_date, made_at, proxy,
        variance, har_variance, lower_80, upper_80, lower_95, upper_95, var_95, var_99, config_json)
    SELECT model_id, ticker, as_of, horizon, 'volatility', target_date, made_at, proxy, variance,
        har_variance, lower_80, upper_80, lower_95, upper_95, var_95, var_99, config_json
    FROM vol_ledger;
    DROP TABLE ledger;
    DROP TABLE vol_ledger;
    ALTER TABLE forecasts RENAME TO ledger;
    CREATE INDEX ledger_by_ticker ON ledger (ticker, target_date);
    """,
    # 11: universes: a named set of tickers judged together. A member row is one span of
    # membership (start and end inclusive ISO dates; null is open), so a ticker that left and
    # came back has two; point_in_time says the list gave dates at all (else it is today's
    # members, applied to the past).
    """
    CREATE TABLE universes (
        name          TEXT PRIMARY KEY,
        created_at    TEXT NOT NULL,
        source        TEXT NOT NULL,
        point_in_time INTEGER NOT NULL
    );
    CREATE TABLE universe_members (
        universe TEXT NOT NULL REFERENCES universes (name) ON DELETE CASCADE,
        ticker   TEXT NOT NULL,
        start    TEXT,
        end      TEXT,
        CHECK (start IS NULL OR end IS NULL OR start <= end)
    );
    CREATE INDEX universe_members_by_universe ON universe_members (universe, ticker, start);
    """,
    # 12: each ticker's last download attempt and how it ended ("ok", "not found", "failed"),
    # so that a long universe fetch resumes where it stopped and knows who Yahoo lacks.
    """
    CREATE TABLE fetches (
        ticker     TEXT PRIMARY KEY,
        fetched_at TEXT NOT NULL,
        outcome    TEXT NOT NULL
    );
    """,
    # 13: a universe's models and rankings. A model trained across a universe names it (null for
    # one ticker's or a global model's), so a ticker's newest model is never a universe's. A
    # ranking is one row per member scored: its `score` and its universe; it forecasts no price
    # and no interval, so those columns are null for it (the rebuilt table allows that).
    """
    ALTER TABLE models ADD COLUMN universe TEXT;
    CREATE TABLE forecasts (
        model_id        TEXT NOT NULL,
        ticker          TEXT NOT NULL,
        as_of           TEXT NOT NULL,
        step            INTEGER NOT NULL,
        target          TEXT NOT NULL,
        target_date     TEXT NOT NULL,
        made_at         TEXT NOT NULL,
        last_price      REAL,
        price           REAL,
        log_return      REAL,
        proxy           TEXT,
        variance        REAL,
        har_variance    REAL,
        lower_80        REAL,
        upper_80        REAL,
        lower_95        REAL,
        upper_95        REAL,
        sigma           REAL,
        interval_method TEXT,
        var_95          REAL,
        var_99          REAL,
        universe        TEXT,
        score           REAL,
        config_json     TEXT NOT NULL,
        PRIMARY KEY (model_id, ticker, as_of, step),
        CHECK (target = 'volatility' AND variance IS NOT NULL AND har_variance IS NOT NULL
               AND proxy IS NOT NULL AND lower_80 IS NOT NULL AND upper_95 IS NOT NULL
               OR target IN ('rank', 'excess') AND universe IS NOT NULL AND score IS NOT NULL
               AND last_price IS NOT NULL
               OR target NOT IN ('volatility', 'rank', 'excess') AND price IS NOT NULL
               AND last_price IS NOT NULL AND log_return IS NOT NULL AND lower_80 IS NOT NULL
               AND upper_95 IS NOT NULL)
    );
    INSERT INTO forecasts (model_id, ticker, as_of, step, target, target_date, made_at, last_price,
        price, log_return, proxy, variance, har_variance, lower_80, upper_80, lower_95, upper_95,
        sigma, interval_method, var_95, var_99, config_json)
    SELECT model_id, ticker, as_of, step, target, target_date, made_at, last_price, price,
        log_return, proxy, variance, har_variance, lower_80, upper_80, lower_95, upper_95, sigma,
        interval_method, var_95, var_99, config_json
    FROM ledger;
    DROP TABLE ledger;
    ALTER TABLE forecasts RENAME TO ledger;
    CREATE INDEX ledger_by_ticker ON ledger (ticker, target_date);
    CREATE INDEX ledger_by_universe ON ledger (universe, as_of);
    """,
    # 14: a universe's pooled volatility forecasts: each member's variance, with no interval
    # (and no log-HAR where one could not be fitted), kept under its universe.
    """
    CREATE TABLE forecasts (
        model_id        TEXT NOT NULL,
        ticker          TEXT NOT NULL,
        as_of           TEXT NOT NULL,
        step            INTEGER NOT NULL,
        target          TEXT NOT NULL,
        target_date     TEXT NOT NULL,
        made_at         TEXT NOT NULL,
        last_price      REAL,
        price           REAL,
        log_return      REAL,
        proxy           TEXT,
        variance        REAL,
        har_variance    REAL,
        lower_80        REAL,
        upper_80        REAL,
        lower_95        REAL,
        upper_95        REAL,
        sigma           REAL,
        interval_method TEXT,
        var_95          REAL,
        var_99          REAL,
        universe        TEXT,
        score           REAL,
        config_json     TEXT NOT NULL,
        PRIMARY KEY (model_id, ticker, as_of, step),
        CHECK (target = 'volatility' AND variance IS NOT NULL AND proxy IS NOT NULL
               AND (har_variance IS NOT NULL AND lower_80 IS NOT NULL AND upper_95 IS NOT NULL
                    OR universe IS NOT NULL AND score IS NOT NULL AND last_price IS NOT NULL)
               OR target IN ('rank', 'excess') AND universe IS NOT NULL AND score IS NOT NULL
               AND last_price IS NOT NULL
               OR target NOT IN ('volatility', 'rank', 'excess') AND price IS NOT NULL
               AND last_price IS NOT NULL AND log_return IS NOT NULL AND lower_80 IS NOT NULL
               AND upper_95 IS NOT NULL)
    );
    INSERT INTO forecasts (model_id, ticker, as_of, step, target, target_date, made_at, last_price,
        price, log_return, proxy, variance, har_variance, lower_80, upper_80, lower_95, upper_95,
        sigma, interval_method, var_95, var_99, universe, score, config_json)
    SELECT model_id, ticker, as_of, step, target, target_date, made_at, last_price,
        price, log_return, proxy, variance, har_variance, lower_80, upper_80, lower_95, upper_95,
        sigma, interval_method, var_95, var_99, universe, score, config_json
    FROM ledger;
    DROP TABLE ledger;
    ALTER TABLE forecasts RENAME TO ledger;
    CREATE INDEX ledger_by_ticker ON ledger (ticker, target_date);
    CREATE INDEX ledger_by_universe ON ledger (universe, as_of);
    """,
    # 15: every configuration walked forward on a universe (by backtest sweeps and tunes), once
    # per (universe, target, key): what a later one resumes from, and what the deflated Sharpe
    # counts as tried. `span` is the test dates it was judged on.
    """
    CREATE TABLE universe_trials (
        universe    TEXT NOT NULL,
        target      TEXT NOT NULL,
        key         TEXT NOT NULL,
        source      TEXT NOT NULL,
        span        TEXT NOT NULL,
        config_json TEXT NOT NULL,
        result_json TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (universe, target, key)
    );
    CREATE INDEX universe_trials_by_span ON universe_trials (universe, target, span);
    """,
]


# The tables the migrations create: a store without one of them is damaged.
TABLES = (
    "prices",
    "models",
    "ledger",
    "aci_state",
    "sweep_cells",
    "sweeps",
    "price_revisions",
    "tunes",
    "tune_trials",
    "universes",
    "universe_members",
    "fetches",
    "universe_trials",
)
