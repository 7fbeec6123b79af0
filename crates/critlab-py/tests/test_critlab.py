"""Tests of the critlab Python package: the Recorder inside a real PyTorch loop, read back by
the `critlab` binary; the Python analyses against the CLI on the same input.

The binary is $CRITLAB_BIN, else target/release/critlab of the repository.
"""
import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import critlab

ROOT = Path(__file__).resolve().parents[3]
BIN = os.environ.get("CRITLAB_BIN", str(ROOT / "target" / "release" / "critlab"))
FIXTURES = ROOT / "crates" / "critlab-store" / "tests" / "fixtures" / "ingest"


def cli(*args):
    out = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def modular_data(p=11, frac=0.6, seed=0):
    import torch

    g = torch.Generator().manual_seed(seed)
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    x = torch.cat([torch.nn.functional.one_hot(a, p), torch.nn.functional.one_hot(b, p)], 1).float()
    y = (a + b) % p
    perm = torch.randperm(p * p, generator=g)
    n = int(frac * p * p)
    return x[perm[:n]], y[perm[:n]], x[perm[n:]], y[perm[n:]]


def test_a_twenty_line_pytorch_script_gives_a_store_the_cli_reads(tmp_path):
    import torch
    import torch.nn.functional as F
    from critlab.torch import Recorder

    torch.manual_seed(0)
    x, y, xt, yt = modular_data()
    model = torch.nn.Sequential(torch.nn.Linear(22, 64), torch.nn.ReLU(), torch.nn.Linear(64, 11))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1.0)
    rec = Recorder(model, opt, store=tmp_path / "runs.db", every=10, params={"lr": 1e-2, "weight-decay": 1.0, "steps": 100})
    for step in range(101):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        with torch.no_grad():
            acc = (model(xt).argmax(1) == yt).float().mean().item()
        with rec.step(step, train=(x, y), small=(x[:8], y[:8]), extra={"test_acc": acc}):
            opt.step()
    rec.close()

    shown = json.loads(cli("runs", "show", rec.run_id, "--store", tmp_path / "runs.db", "--json"))
    for name in ["kinetic", "kinetic_displacement", "potential_noise", "grad_norm", "weight_norm", "weight_effective_rank", "test_acc"]:
        assert name in shown["last_metrics"], name
        assert shown["last_metrics"][name]["points"] == 11
    assert shown["status"] == "done" and shown["backend"] == "pytorch"
    assert shown["spec"]["weight-decay"] == 1.0
    frame = critlab.Store(tmp_path / "runs.db").metrics(rec.run_id, ["kinetic", "grad_norm"])
    assert list(frame.index[:3]) == [0, 10, 20]
    np.testing.assert_allclose(frame["kinetic"], 0.5 * 1e-4 * frame["grad_norm"] ** 2, rtol=1e-12)


def test_for_full_batch_gradient_descent_the_displacement_equals_the_kinetic_term(tmp_path):
    # docs/theory.md §2: K̃ = ½‖θ_{t+1} − θ_t‖² = ½η²‖G‖² = K for plain full-batch GD.
    import torch
    import torch.nn.functional as F
    from critlab.torch import Recorder

    torch.manual_seed(1)
    x, y, _, _ = modular_data(p=7, frac=0.8)
    model = torch.nn.Sequential(torch.nn.Linear(14, 32), torch.nn.Tanh(), torch.nn.Linear(32, 7)).double()
    x = x.double()
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    with critlab.Store(tmp_path / "gd.db") as store:
        rec = Recorder(model, opt, store=store, every=5)
        for step in range(26):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            with rec.step(step, train=(x, y)):
                opt.step()
        rec.close()
        _, k = store.series(rec.run_id, "kinetic")
        _, kd = store.series(rec.run_id, "kinetic_displacement")
    assert len(k) == 6
    np.testing.assert_allclose(kd, k, rtol=1e-9)


def trained_by_critlab(tmp_path, *flags):
    """Trains a small MLP with `critlab train --export-init`: (initial state, the run's series)."""
    db, init = tmp_path / "critlab.db", tmp_path / "init.json"
    summary = json.loads(cli("train", "--store", db, "--export-init", init, "--task", "modular-addition", "--p", 11, "--train-frac", 0.6, "--width", 24, "--steps", 3, "--eval-every", 1, "--json", *flags))
    store = critlab.Store(db)
    series = {n: store.series(summary["run_id"], n) for n in store.metric_names(summary["run_id"])}
    return json.loads(init.read_text()), series


def torch_twin(state):
    """critlab's MLP (one-hot tokens, one ReLU layer) as a float64 PyTorch model with the same
    initial parameters, and its full training set in the trainer's order."""
    import collections
    import torch

    params = {p["name"]: torch.tensor(p["values"], dtype=torch.float64).reshape(p["rows"], p["cols"]) for p in state["params"]}
    hidden, classes = params["layer0.weight"].shape[1], params["readout.weight"].shape[1]
    inputs = state["inputs"]
    vocab, positions = inputs["vocab"], inputs["positions"]
    model = torch.nn.Sequential(collections.OrderedDict(
        layer0=torch.nn.Linear(vocab * positions, hidden), act=torch.nn.ReLU(), readout=torch.nn.Linear(hidden, classes))).double()
    with torch.no_grad():
        for name in ["layer0", "readout"]:
            getattr(model, name).weight.copy_(params[f"{name}.weight"].T)
            getattr(model, name).bias.copy_(params[f"{name}.bias"][0])
    ids = torch.tensor(inputs["ids"]).reshape(-1, positions)
    x = torch.cat([torch.nn.functional.one_hot(ids[:, k], vocab) for k in range(positions)], 1).double()
    y = torch.tensor(state["targets"]["labels"])
    train = torch.tensor(state["train"])
    return model, x[train], y[train]


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_the_recorder_matches_the_trainer_on_the_same_model_and_data(tmp_path, optimizer):
    import torch
    import torch.nn.functional as F
    from critlab.torch import Recorder

    lr, wd, b1, b2, eps = 0.05, 0.5, 0.9, 0.98, 1e-8
    state, by_critlab = trained_by_critlab(tmp_path, "--optimizer", optimizer, "--lr", lr, "--weight-decay", wd, "--beta1", b1, "--beta2", b2, "--eps", eps, "--weight-decay-mode", "decoupled")
    model, x, y = torch_twin(state)
    if optimizer == "sgd":
        # critlab's decoupled decay for SGD: θ ← (1 − ηλ)θ − η g.
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    rec = Recorder(model, opt, store=tmp_path / "torch.db", every=1)
    for step in range(4):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        with rec.step(step, train=(x, y)):
            if optimizer == "sgd":
                with torch.no_grad():
                    for p in model.parameters():
                        p.mul_(1 - lr * wd)
            opt.step()
    rec.close()
    by_torch = critlab.Store(tmp_path / "torch.db")
    names = ["train_loss", "grad_norm", "kinetic", "kinetic_displacement", "weight_norm", "weight_effective_rank",
             "charge_rescale/layer0", "charge_rescale_source/layer0", "charge_translation"]
    for name in names:
        steps, ours = by_critlab[name]
        theirs = dict(zip(*by_torch.series(rec.run_id, name)))
        assert len(steps) >= 3, name
        for t, v in zip(steps, ours):
            # The charges are differences of squares: relative to the size of the terms.
            scale = abs(theirs[t]) if not name.startswith("charge_rescale") else by_critlab["weight_norm"][1][0] ** 2
            assert abs(v - theirs[t]) <= 1e-4 * scale, (name, t, v, theirs[t])


def test_effective_rank_of_known_spectra():
    import torch
    from critlab.torch import effective_rank

    assert effective_rank(torch.eye(4)) == pytest.approx(4.0)
    assert effective_rank(torch.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])) == pytest.approx(1.0, abs=1e-6)
    assert effective_rank(torch.zeros(3, 3)) == 0.0


def test_phases_from_python_equal_the_cli_on_an_ingested_run(tmp_path):
    db = tmp_path / "s.db"
    cli("ingest", "csv", FIXTURES / "wandb_history.csv", "--store", db, "--sweep", "w", "--param", "weight_decay=1", "--param", "train_frac=0.7")
    by_cli = json.loads(cli("analyze", "phases", "--store", db, "--sweep", "w", "--x", "weight-decay", "--y", "train-frac", "--json"))["runs"][0]
    store = critlab.Store(db)
    run = store.runs("w")[0]
    # The detectors read every series on its own steps; pass each on a common grid of its own.
    series = {n: store.series(run["id"], n) for n in ["train_acc", "test_acc", "train_loss", "test_loss"]}
    steps = series["test_acc"][0]
    picked = {n: np.interp(steps, s, v) for n, (s, v) in series.items()}
    # test_* are logged every 100 steps, train_* every 50: on the test grid the train values are exact.
    by_py = critlab.phases(steps, budget=run["spec"]["steps"], **picked)
    assert by_py["label"] == by_cli["label"] == "grokking"
    assert by_py["transitions"][0]["t_grok"] == by_cli["transitions"][0]["t_grok"]


def test_divergence_from_python_equals_the_cli(tmp_path):
    rng = np.random.default_rng(0)
    x = np.linspace(1.1, 3.0, 25)
    y = 2.0 * (x - 1.0) ** -1.5 * (1 + 0.02 * rng.standard_normal(x.size))
    dy = 0.02 * y
    table = tmp_path / "t.csv"
    table.write_text("x,y,dy\n" + "".join(f"{float(a)!r},{float(b)!r},{float(c)!r}\n" for a, b, c in zip(x, y, dy)))
    by_cli = json.loads(cli("analyze", "divergence", "--input", table, "--x", "x", "--y", "y", "--dy", "dy", "--bootstrap", "50", "--json"))
    by_py = critlab.divergence(x, y, dy, bootstrap=50)
    for key in ["x_c", "kappa", "amplitude", "chi2", "x_c_err", "kappa_err"]:
        assert by_py[key] == by_cli[key], key
    assert abs(by_py["kappa"] - 1.5) < 3 * by_py["kappa_err"] + 0.05


def finite_size_table(tmp_path, zeta_over_nu):
    """Synthetic curves of four sizes with known x_c = 0.5, ν = 1 (1 % noise), as arrays and
    as the CSV table the CLI reads."""
    rng = np.random.default_rng(3)
    rows = []
    for size in [8, 16, 32, 64]:
        for x in np.linspace(0.3, 0.7, 17):
            y = size**zeta_over_nu * (1.5 + np.tanh(size * (x - 0.5)))
            rows.append((size, x, y * (1 + 0.01 * rng.standard_normal()), 0.01 * y))
    size, x, y, dy = map(np.array, zip(*rows))
    table = tmp_path / "fss.csv"
    table.write_text("L,x,y,dy\n" + "".join(f"{a!r},{float(b)!r},{float(c)!r},{float(d)!r}\n" for a, b, c, d in rows))
    return (size, x, y, dy), ["--input", table, "--size", "L", "--x", "x", "--y", "y", "--dy", "dy", "--json"]


def test_collapse_and_crossing_from_python_equal_the_cli(tmp_path):
    (size, x, y, dy), args = finite_size_table(tmp_path, -0.25)
    by_cli = json.loads(cli("analyze", "collapse", *args, "--bootstrap", 20, "--seed", 4))
    by_py = critlab.collapse(size, x, y, dy, bootstrap=20, seed=4)
    assert by_py == by_cli
    assert abs(by_py["x_c"] - 0.5) < 0.01 and abs(by_py["nu"] - 1.0) < 3 * by_py["nu_err"], (by_py["x_c"], by_py["nu"], by_py["nu_err"])

    (size, x, y, dy), args = finite_size_table(tmp_path, 0.0)
    by_cli = json.loads(cli("analyze", "crossing", *args, "--bootstrap", 30))
    by_py = critlab.crossing(size, x, y, dy, bootstrap=30)
    assert by_py == by_cli


def test_relations_from_python_equal_the_cli(tmp_path):
    # 2D Ising: every relation holds exactly; a wrong β violates Widom and Rushbrooke.
    ising = {"alpha": 0, "beta": {"value": 0.125, "err": 0.002}, "gamma": 1.75, "delta": 15, "nu": 1, "eta": 0.25}
    path = tmp_path / "ising.json"
    path.write_text(json.dumps(ising))
    by_cli = json.loads(cli("analyze", "relations", "--exponents", path, "--d", 2, "--json"))
    by_py = critlab.relations(ising, d=2)
    assert by_py == by_cli
    assert by_py["violated"] == 0
    wrong = critlab.relations({**ising, "beta": {"value": 0.3, "err": 0.01}}, d=2)
    assert wrong["violated"] >= 1
    with pytest.raises(ValueError, match="betta"):
        critlab.relations({"betta": 0.1})


def test_bad_finite_size_input_is_a_clear_error():
    with pytest.raises(ValueError, match="same length"):
        critlab.collapse([8, 16], [0.1, 0.2, 0.3], [1, 2])
    with pytest.raises(ValueError, match="same length, got x 3, y 2"):
        critlab.divergence([1.1, 1.2, 1.3], [1.0, 2.0])
    with pytest.raises(ValueError, match="correction"):
        critlab.collapse([8] * 3 + [16] * 3, [0.1, 0.2, 0.3] * 2, [1, 2, 3, 1, 2, 4], correction="sideways")


def test_store_errors_name_the_file(tmp_path):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"x" * 4096)
    with pytest.raises(ValueError, match="junk.db"):
        critlab.Store(bad)
    with pytest.raises(ValueError, match="no run with id 5"):
        critlab.Store(tmp_path / "new.db").run(5)
