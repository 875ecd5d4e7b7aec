"""Fine-tuning: a new run that starts from another run's weights (train.init_from, --init-from)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from tiny_runs import tiny_toml

from cyclegan_ms.checkpoint import ema_weights
from cyclegan_ms.cli import main
from cyclegan_ms.training import Trainer, find_latest, load_checkpoint, load_config
from cyclegan_ms.training.experiment import build_trainer
from cyclegan_ms.training.finetune import init_weights, state_mismatch

TINY = tiny_toml(train_extra="ema_decay = 0.5\nseed = 3\n")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-step run with EMA generators."""
    root = tmp_path_factory.mktemp("source")
    cfg = root / "tiny.toml"
    cfg.write_text(TINY)
    assert main(["train", str(cfg), "--run-dir", str(root / "run")]) == 0
    return root / "run"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _new_trainer(tmp_path: Path, *overrides: str) -> Trainer:
    """A trainer of the same architecture on other data (8 scenes), not trained."""
    path = tmp_path / "new.toml"
    path.write_text(TINY)
    cfg = load_config(path, ["data.num_scenes=8", "train.seed=11", *overrides])
    return build_trainer(cfg, tmp_path / "new")


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k].to(a[k].dtype)) for k in a)


def test_init_copies_weights_and_ema_and_keeps_the_rest_fresh(source: Path, tmp_path: Path) -> None:
    state = load_checkpoint(find_latest(source))  # type: ignore[arg-type]
    trainer = _new_trainer(tmp_path)
    used = init_weights(trainer, source)
    assert used == find_latest(source)
    assert _same(trainer.model.state_dict(), state["model"])
    assert trainer.ema is not None
    for name in ("G_ab", "G_ba"):
        assert _same(trainer.ema[name].module.state_dict(), ema_weights(state["ema"][name]))
        assert int(trainer.ema[name].n_averaged) == int(state["ema"][name]["n_averaged"])
    assert trainer.step == 0
    assert not trainer.opt_g.state and not trainer.opt_d.state  # fresh optimisers


def test_init_generators_only_and_ema_from_the_weights(source: Path, tmp_path: Path) -> None:
    state = load_checkpoint(find_latest(source))  # type: ignore[arg-type]
    trainer = _new_trainer(tmp_path)
    fresh_d = {k: v.clone() for k, v in trainer.model.D_a.state_dict().items()}
    init_weights(trainer, source, parts=("generators",), ema="weights")
    g = {k[len("G_ab.") :]: v for k, v in state["model"].items() if k.startswith("G_ab.")}
    assert _same(trainer.model.G_ab.state_dict(), g)
    assert _same(trainer.model.D_a.state_dict(), fresh_d)  # not copied
    assert trainer.ema is not None
    assert _same(trainer.ema["G_ab"].module.state_dict(), g)  # the weights, not the source's EMA
    assert not _same(g, ema_weights(state["ema"]["G_ab"]))  # (which differ)


def test_weights_that_do_not_fit_name_the_first_key_and_both_shapes(
    source: Path, tmp_path: Path
) -> None:
    trainer = _new_trainer(tmp_path, "model.generator.ngf=8")
    with pytest.raises(
        ValueError, match=r"G_ab\.\S+: \(4, 3, 7, 7\) in the checkpoint, \(8, 3, 7, 7\)"
    ):
        init_weights(trainer, source)


def test_state_mismatch_missing_and_unexpected() -> None:
    a = {"w": torch.zeros(2), "b": torch.zeros(1)}
    assert state_mismatch(a, dict(a)) is None
    assert "b (1,) is in the model but not" in str(state_mismatch(a, {"w": torch.zeros(2)}))
    extra = {**a, "x": torch.zeros(3)}
    assert "x (3,) is in the checkpoint but not" in str(state_mismatch(a, extra))


def test_cli_init_from_starts_a_new_run_on_other_data(
    source: Path, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "finetuned"
    args = ["train", str(config), "--run-dir", str(run), "--init-from", str(source)]
    assert main([*args, "--set", "data.num_scenes=8"]) == 0  # another dataset size
    assert "done: step 2" in capsys.readouterr().out  # a fresh step count
    stored = json.loads((run / "config.json").read_text())
    assert stored["train"]["init_from"] == str(find_latest(source).resolve())  # type: ignore[union-attr]
    ckpt = load_checkpoint(find_latest(run))  # type: ignore[arg-type]
    assert ckpt["experiment"]["train"]["init_from"] == stored["train"]["init_from"]
    # resuming the fine-tuned run continues it (the source is not read again)
    assert main(["train", "--resume", str(run), "--set", "train.steps=3"]) == 0
    assert "done: step 3" in capsys.readouterr().out


def test_cli_init_from_without_config_reuses_the_source_config(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "again"
    assert main(["train", "--init-from", str(source), "--run-dir", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["model"]["generator"]["ngf"] == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--set", "model.generator.ngf=8"],
            r"do not fit this model \(G_ab\..*\(8, 3, 7, 7\) in the model\)",
        ),
        (["--resume", "RUN"], "give one of them"),
        (["--set", "train.init_parts=['gens']"], "train.init_parts must"),
    ],
)
def test_cli_init_from_errors_are_one_line(
    source: Path,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    extra = [str(source) if e == "RUN" else e for e in extra]
    args = ["train", str(config), "--run-dir", str(tmp_path / "x"), "--init-from", str(source)]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err
