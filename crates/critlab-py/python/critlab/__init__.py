"""critlab for Python: the analyses of critlab over NumPy arrays, its run store, and (in
``critlab.torch``) a recorder of its observables for your own PyTorch training loop.

The numbers come from the same Rust code as the ``critlab`` command line (the native module
``critlab._critlab``); results are dicts with the keys of the CLI's ``--json`` output.
Steps are optimizer steps; every other unit is given per function.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from . import _critlab

__version__: str = _critlab.VERSION
__all__ = ["Store", "phases", "divergence", "collapse", "crossing", "relations", "__version__"]


def _floats(values: Optional[Iterable[float]]) -> List[float]:
    if values is None:
        return []
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]


class Store:
    """A critlab store (one SQLite file, created if missing).

    Reads runs and their series (as NumPy arrays or pandas DataFrames) and writes runs
    through the store's single writer thread, in the schema ``critlab train`` writes, so
    ``critlab runs show``, ``critlab analyze ...`` and ``critlab export`` work on them.
    """

    def __init__(self, path: str = "critlab.db") -> None:
        self._s = _critlab.Store(str(path))

    @property
    def path(self) -> str:
        """The store's file."""
        return self._s.path()

    def runs(self, sweep: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every run (optionally of one sweep): id, spec, seed, sweep, status, source, ..."""
        return json.loads(self._s.runs_json(sweep))

    def run(self, run_id: int) -> Dict[str, Any]:
        """One run by id (``ValueError`` naming the store when there is none)."""
        return json.loads(self._s.run_json(int(run_id)))

    def metric_names(self, run_id: int) -> List[str]:
        """Names of the metrics stored for a run, sorted."""
        return self._s.metric_names(int(run_id))

    def series(self, run_id: int, name: str) -> Tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of one metric of one run, in step order (NaN where not finite)."""
        steps, values = self._s.series(int(run_id), name)
        return np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=float)

    def transitions(self, run_id: Optional[int] = None) -> List[Dict[str, Any]]:
        """Transitions stored by ``critlab analyze phases`` (of one run or all)."""
        return json.loads(self._s.transitions_json(None if run_id is None else int(run_id)))

    def metrics(self, run_id: int, names: Optional[Sequence[str]] = None):
        """A run's metrics as a pandas DataFrame indexed by step, one column per metric."""
        import pandas as pd

        cols = {}
        for name in names or self.metric_names(run_id):
            steps, values = self.series(run_id, name)
            cols[name] = pd.Series(values, index=steps)
        frame = pd.DataFrame(cols)
        frame.index.name = "step"
        return frame

    def runs_frame(self, sweep: Optional[str] = None):
        """Runs as a pandas DataFrame: one row per run, spec keys as columns."""
        import pandas as pd

        rows = []
        for r in self.runs(sweep):
            row = {k: v for k, v in r.items() if k != "spec"}
            row.update(r.get("spec") or {})
            rows.append(row)
        return pd.DataFrame(rows)

    def create_run(self, spec: Dict[str, Any], sweep: Optional[str] = None, backend: str = "pytorch") -> int:
        """Records a new ``running`` run with ``spec`` (a JSON-able dict) and returns its id."""
        return self._s.create_run(json.dumps(spec), sweep, backend)

    def write(self, run_id: int, step: int, values: Dict[str, float]) -> None:
        """Queues one step's values of a run (committed in batches, at the latest on close)."""
        names = list(values)
        self._s.write(int(run_id), int(step), names, [float(values[n]) for n in names])

    def finish(self, run_id: int, status: str = "done", reason: Optional[str] = None, wall_seconds: float = 0.0) -> None:
        """Marks a run ``done``, ``diverged`` or ``failed``; committed after its metrics."""
        self._s.finish(int(run_id), status, reason, float(wall_seconds))

    def flush(self) -> None:
        """Blocks until every queued value is committed."""
        self._s.flush()

    def close(self) -> None:
        """Commits everything and stops the writer thread."""
        self._s.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def phases(
    steps: Sequence[int],
    *,
    train_acc: Optional[Sequence[float]] = None,
    test_acc: Optional[Sequence[float]] = None,
    train_loss: Optional[Sequence[float]] = None,
    test_loss: Optional[Sequence[float]] = None,
    explained_variance: Optional[Sequence[float]] = None,
    budget: Optional[int] = None,
    status: str = "done",
    train_threshold: float = 0.9,
    test_threshold: float = 0.9,
    smooth: int = 3,
    grokking_delay: float = 0.01,
    grokking_delay_steps: Optional[float] = None,
) -> Dict[str, Any]:
    """Transitions and phase of one run (docs/theory.md §4), as ``critlab analyze phases``.

    Series are arrays over ``steps`` (accuracies in [0, 1], losses in nats); any may be
    omitted. ``budget`` is the step budget τ (default: the last step). Returns
    ``{"transitions": [...], "label": ..., "reason": ...}``: one entry per detector and
    quantity with t_mem, t_grok, delay, width (steps) and jump; label is the phase
    (comprehension, grokking, memorization, confusion) or why there is none.
    """
    s = [int(v) for v in np.asarray(steps).ravel()]
    return json.loads(
        _critlab.phases_json(
            s, _floats(train_acc), _floats(test_acc), _floats(train_loss), _floats(test_loss),
            _floats(explained_variance), budget, status, train_threshold, test_threshold, smooth,
            grokking_delay, grokking_delay_steps,
        )
    )


def divergence(
    x: Sequence[float],
    y: Sequence[float],
    dy: Optional[Sequence[float]] = None,
    *,
    side: str = "auto",
    bootstrap: int = 200,
    seed: int = 0,
) -> Dict[str, Any]:
    """Power-law divergence y = A |x − x_c|^(−κ), as ``critlab analyze divergence --json``.

    ``dy`` are one-sigma uncertainties of y; ``side`` is ``auto``, ``above`` or ``below``
    (which side of x_c the data lie on). Returns x_c, kappa, amplitude with bootstrap errors
    (``*_err``), chi2/dof and the AIC verdict against a smooth alternative (``supported``).
    """
    return json.loads(_critlab.divergence_json(_floats(x), _floats(y), None if dy is None else _floats(dy), side, bootstrap, seed))


def collapse(
    size: Sequence[float],
    x: Sequence[float],
    y: Sequence[float],
    dy: Optional[Sequence[float]] = None,
    *,
    x_c: Optional[float] = None,
    nu: float = 1.0,
    zeta: float = 0.0,
    fix_zeta: Optional[float] = None,
    drop_smallest: int = 0,
    starts: int = 12,
    bootstrap: int = 100,
    seed: int = 0,
    correction: str = "auto",
    omega: Optional[float] = None,
    drift: bool = True,
) -> Dict[str, Any]:
    """Finite-size data collapse A_L(x) = L^{ζ/ν} F(L^{1/ν}(x − x_c)) (docs/theory.md §5), as
    ``critlab analyze collapse --json``: one row per point (``size`` L > 0, control ``x``,
    observable ``y``, optional one-sigma ``dy``). Corrections to scaling are chosen from the
    data (``correction="auto"``: none, amplitude, shift and both, by AIC and leave-one-size-out
    error; or force one), and refits without the smallest sizes give a systematic error.
    ``x_c``, ``nu``, ``zeta`` are starting guesses; ``fix_zeta`` fixes ζ (0 for a Binder
    cumulant). Returns the chosen fit (x_c, nu, zeta with statistical, systematic and total
    errors, the quality S), every candidate with its scores, and the L_min drift.
    """
    return json.loads(
        _critlab.collapse_json(
            _floats(size), _floats(x), _floats(y), None if dy is None else _floats(dy), x_c, nu, zeta, fix_zeta,
            drop_smallest, starts, bootstrap, seed, correction, omega, drift,
        )
    )


def crossing(
    size: Sequence[float],
    x: Sequence[float],
    y: Sequence[float],
    dy: Optional[Sequence[float]] = None,
    *,
    bootstrap: int = 200,
    seed: int = 0,
    drop_smallest: int = 0,
) -> Dict[str, Any]:
    """The critical point where curves of different sizes cross (a Binder cumulant, a
    spanning probability), as ``critlab analyze crossing --json``: the crossing of each pair
    of sizes, their extrapolation in size, and bootstrap errors (which need ``dy``).
    "No crossing" is a result, not an error.
    """
    return json.loads(
        _critlab.crossing_json(_floats(size), _floats(x), _floats(y), None if dy is None else _floats(dy), bootstrap, seed, drop_smallest)
    )


def relations(exponents: Dict[str, Any], *, d: Optional[float] = None) -> Dict[str, Any]:
    """The scaling relations (Widom δ = 1 + γ/β, Rushbrooke α + 2β + γ = 2, hyperscaling
    2 − α = dν, Fisher γ = ν(2 − η); docs/theory.md §6) tested on a set of exponents, as
    ``critlab analyze relations --exponents FILE --json``. ``exponents`` maps ``alpha``,
    ``beta``, ``gamma``, ``delta``, ``nu``, ``eta``, ``d`` to an exact number or
    ``{"value": v, "err": e}``; unknown keys are an error. Returns the set and, per relation,
    its residual, error and verdict (consistent, violated at 2σ, or not testable).
    """
    return json.loads(_critlab.relations_json(json.dumps(exponents), d))
