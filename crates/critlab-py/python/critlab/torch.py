"""``critlab.torch.Recorder``: docs/theory.md §2's observables of your own PyTorch model, measured
inside your training loop and written to a critlab store through the Rust store's writer.

Usage (full-batch or minibatch; the recorder measures every ``every`` steps)::

    rec = Recorder(model, opt, store="runs.db", every=100, loss_fn=F.cross_entropy,
                   params={"lr": 1e-3, "weight_decay": 1.0})
    for step in range(steps):
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        with rec.step(step, train=(x, y), small=(xs, ys), extra={"test_acc": acc}):
            opt.step()
    rec.close()

At a measured step t (metrics describe θ_t, before update t, as in ``critlab train``):

* ``train_loss``: the loss on ``train`` (the whole training set), nats;
* ``grad_norm`` = ‖G‖ with G = ∇L(θ_t) on ``train``; ``kinetic`` K = ½ η² ‖G‖²
  (η: the optimizer's first param group's ``lr``);
* ``kinetic_displacement`` K̃ = ½ ‖θ_{t+1} − θ_t‖², measured across ``opt.step()``
  inside the ``with`` block;
* with ``small`` (a batch of b examples drawn from the training set):
  ``grad_noise_trace`` tr Σ ≈ (‖G_b‖² − ‖G‖²) · b (N − 1)/(N − b) (McCandlish et al. 2018,
  with the finite-population correction critlab uses), ``potential_noise`` U = tr Σ / B
  (B = ``batch_size``, default N: full batch) and ``noise_scale`` B_simple = tr Σ / ‖G‖²;
* ``weight_norm`` ‖θ_t‖ (all parameters); ``weight_effective_rank``: the sum over weight
  matrices (parameters with ≥ 2 dimensions, reshaped to [out, in·k...]) of
  exp(H(σ/Σσ)) (Roy & Vetterli 2007), per matrix as ``weight_effective_rank/<name>``;
* ``repr_effective_rank`` of the output of ``representation`` (a module; forward hook) on
  the ``train`` inputs, when given;
* Noether charges (docs/theory.md §3) of the layer patterns it recognises, named as
  ``critlab train`` names them: for every ``nn.Linear`` followed (inside an
  ``nn.Sequential``) by a positively homogeneous activation (``ReLU``, ``LeakyReLU``,
  ``Identity``) and another ``nn.Linear``, the rescale charge of its neurons
  ``charge_rescale/<name>`` = Σ_j (‖w_in,j‖² + b_j² − ‖w_out,j‖²) and its source
  ``charge_rescale_source/<name>`` (the same form in the full training-set gradient); with a
  cross-entropy loss, the translation charge of the last ``nn.Linear`` (the logits)
  ``charge_translation`` = ‖s‖, s = (column sums of its weight, sum of its bias);
  ``<name>`` is the module's name in ``model.named_modules()``;
* ``extra`` values (your own test accuracy, ...) under their names.

Gradients for the measurement are taken with ``torch.autograd.grad``, so the ``.grad``
buffers your optimizer steps with are not touched.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import torch

from . import Store

__all__ = ["Recorder", "effective_rank"]


def effective_rank(matrix: torch.Tensor) -> float:
    """exp(H(p)), p_i = σ_i / Σ_j σ_j over the singular values of ``matrix`` (0 for zero)."""
    m = matrix.detach().to(torch.float64).reshape(matrix.shape[0], -1)
    s = torch.linalg.svdvals(m)
    total = float(s.sum())
    if not math.isfinite(total) or total <= 0.0:
        return 0.0
    p = s[s > 0] / total
    return float(torch.exp(-(p * p.log()).sum()))


_HOMOGENEOUS = (torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.Identity)


def _symmetries(model: torch.nn.Module, softmax_output: bool):
    """The recognised symmetric patterns: (name, Linear, next name, next Linear) for every
    Linear → homogeneous activation → Linear inside an ``nn.Sequential``, and the last
    Linear of the model when its outputs feed a softmax (else None)."""
    names = {m: n for n, m in model.named_modules()}
    rescale = []
    for seq in (m for m in model.modules() if isinstance(m, torch.nn.Sequential)):
        layers = list(seq.children())
        for a, act, b in zip(layers, layers[1:], layers[2:]):
            if isinstance(a, torch.nn.Linear) and isinstance(act, _HOMOGENEOUS) and isinstance(b, torch.nn.Linear):
                rescale.append((names[a], a, names[b], b))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    readout = linears[-1] if softmax_output and linears else None
    return rescale, readout


class Recorder:
    """Measures a model's observables every ``every`` steps and stores them as one run.

    ``store`` is a path or a :class:`critlab.Store`; ``params`` are the run's hyperparameters
    (stored as its spec, e.g. ``lr``, ``weight-decay``, ``train-frac``, ``steps``, ``seed``);
    ``n_train`` and ``batch_size`` default to the size of the ``train`` batch passed;
    ``softmax_output`` (whether the logits feed a softmax, which gives the translation
    charge) defaults to whether ``loss_fn`` is cross-entropy.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        store: Any = "critlab.db",
        every: int = 100,
        *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = torch.nn.functional.cross_entropy,
        params: Optional[Dict[str, Any]] = None,
        sweep: Optional[str] = None,
        batch_size: Optional[int] = None,
        n_train: Optional[int] = None,
        representation: Optional[torch.nn.Module] = None,
        softmax_output: Optional[bool] = None,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be a positive number of steps, got {every}")
        self.model, self.optimizer, self.every, self.loss_fn = model, optimizer, int(every), loss_fn
        self.batch_size, self.n_train = batch_size, n_train
        if softmax_output is None:
            softmax_output = loss_fn is torch.nn.functional.cross_entropy or isinstance(loss_fn, torch.nn.CrossEntropyLoss)
        self._rescale, self._readout = _symmetries(model, bool(softmax_output))
        self._own_store = not isinstance(store, Store)
        self.store = Store(store) if self._own_store else store
        spec = dict(params or {})
        spec.setdefault("eval-every", self.every)
        self.run_id = self.store.create_run(spec, sweep=sweep, backend="pytorch")
        self._start = time.perf_counter()
        self._last_step: Optional[int] = None
        self._hidden: Optional[torch.Tensor] = None
        if representation is not None:
            representation.register_forward_hook(self._hook)

    def _hook(self, _module: torch.nn.Module, _inp: Any, out: Any) -> None:
        if self._capture:
            self._hidden = out.detach()

    _capture = False

    def _params(self):
        return [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]

    def _grad_sq(self, x: torch.Tensor, y: torch.Tensor, capture: bool = False) -> Tuple[float, Dict[str, float]]:
        """The loss and ‖∂L/∂p‖² of every parameter p (by name)."""
        named = self._params()
        self._capture = capture
        try:
            loss = self.loss_fn(self.model(x), y)
        finally:
            self._capture = False
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
        sq = {n: (0.0 if g is None else float((g.detach().to(torch.float64) ** 2).sum())) for (n, _), g in zip(named, grads)}
        return float(loss.detach()), sq

    def measure(self, step: int, train: Tuple[torch.Tensor, torch.Tensor], small: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> Dict[str, float]:
        """The observables of θ at ``step`` (without the displacement), as a dict."""
        x, y = train
        n = self.n_train or int(x.shape[0])
        batch = self.batch_size or n
        lr = float(self.optimizer.param_groups[0]["lr"])
        train_loss, per_param = self._grad_sq(x, y, capture=True)
        g2 = sum(per_param.values())
        out: Dict[str, float] = {
            "train_loss": train_loss,
            "grad_norm": math.sqrt(g2),
            "kinetic": 0.5 * lr * lr * g2,
        }
        if small is not None:
            b = int(small[0].shape[0])
            if not 0 < b < n:
                raise ValueError(f"the small batch must hold between 1 and N_train - 1 = {n - 1} examples, got {b}")
            gb2 = sum(self._grad_sq(*small)[1].values())
            trace = (gb2 - g2) * b * (n - 1) / (n - b)
            out["grad_noise_trace"] = trace
            out["potential_noise"] = trace / batch
            out["noise_scale"] = trace / g2 if g2 > 0 else float("nan")
        with torch.no_grad():
            named = self._params()
            out["weight_norm"] = math.sqrt(sum(float((p.detach().to(torch.float64) ** 2).sum()) for _, p in named))
            total = 0.0
            for name, p in named:
                if p.dim() >= 2:
                    r = effective_rank(p)
                    out[f"weight_effective_rank/{name}"] = r
                    total += r
            out["weight_effective_rank"] = total
            out.update(self._charges(per_param))
            if self._hidden is not None:
                out["repr_effective_rank"] = effective_rank(self._hidden.reshape(self._hidden.shape[0], -1))
                self._hidden = None
        return out

    def _charges(self, grad_sq: Dict[str, float]) -> Dict[str, float]:
        out: Dict[str, float] = {}
        sq = lambda t: float((t.detach().to(torch.float64) ** 2).sum())
        for name, first, next_name, second in self._rescale:
            value = sq(first.weight) - sq(second.weight)
            source = grad_sq.get(f"{name}.weight", 0.0) - grad_sq.get(f"{next_name}.weight", 0.0)
            if first.bias is not None:
                value += sq(first.bias)
                source += grad_sq.get(f"{name}.bias", 0.0)
            out[f"charge_rescale/{name}"] = value
            out[f"charge_rescale_source/{name}"] = source
        if self._readout is not None:
            w = self._readout.weight.detach().to(torch.float64)
            sums = w.sum(0)
            total = float((sums**2).sum())
            if self._readout.bias is not None:
                total += float(self._readout.bias.detach().to(torch.float64).sum()) ** 2
            out["charge_translation"] = math.sqrt(total)
        return out

    @contextmanager
    def step(
        self,
        step: int,
        *,
        train: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
        small: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
        extra: Optional[Dict[str, float]] = None,
    ) -> Iterator[bool]:
        """Wrap ``optimizer.step()``: on a measured step (``step % every == 0``) measures θ_t
        before the update and K̃ across it, and queues everything to the store. Yields
        whether this step is measured. ``train`` is required on measured steps."""
        measured = step % self.every == 0
        if not measured:
            yield False
            return
        if train is None:
            raise ValueError(f"step {step} is measured: pass train=(inputs, targets)")
        values = self.measure(step, train, small)
        before = [p.detach().clone() for _, p in self._params()]
        yield True
        with torch.no_grad():
            disp = sum(float(((p.detach() - b).to(torch.float64) ** 2).sum()) for (_, p), b in zip(self._params(), before))
        values["kinetic_displacement"] = 0.5 * disp
        for k, v in (extra or {}).items():
            values[k] = float(v)
        self.store.write(self.run_id, step, values)
        self._last_step = step

    def record(self, step: int, values: Dict[str, float]) -> None:
        """Stores extra values (an evaluation) at ``step``."""
        self.store.write(self.run_id, step, {k: float(v) for k, v in values.items()})

    def close(self, status: str = "done", reason: Optional[str] = None) -> None:
        """Marks the run finished and commits everything."""
        self.store.finish(self.run_id, status, reason, time.perf_counter() - self._start)
        if self._own_store:
            self.store.close()
        else:
            self.store.flush()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type: Any, exc: Any, _tb: Any) -> None:
        self.close("failed" if exc_type else "done", None if exc is None else repr(exc))
