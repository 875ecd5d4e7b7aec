"""What a user with one or eight GPUs meets first (issue 30), checked on the CPU: CUDA calls are
mocked where the logic is device-independent, DDP runs over gloo, and host reads are counted.
``benchmarks/gpu_check.py`` runs the same paths on a real GPU."""

from __future__ import annotations

import atexit
import collections
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from cyclegan_ms import CycleGAN
from cyclegan_ms.checkpoint import load_rng_state, rng_state
from cyclegan_ms.data.loader import BatchStream, auto_num_workers, rank_seed
from cyclegan_ms.discriminators.multiview import MultiViewDiscriminator
from cyclegan_ms.precision import backend_settings, choose_fast_path, networks_to_compile
from cyclegan_ms.training import TrainConfig, Trainer
from cyclegan_ms.training import distributed as D
from cyclegan_ms.training.config import ConfigError
from cyclegan_ms.training.ema import EMA

sys.path.insert(0, str(Path(__file__).parent))
from _train_script import Pairs

ROOT = Path(__file__).resolve().parents[1]


def _trainer(tmp_path: Path, model: CycleGAN | None = None, **train: Any) -> Trainer:
    g = {"name": "resnet_6blocks", "ngf": 4}
    d = {"name": "patchgan", "ndf": 4, "n_layers": 1}
    cfg: dict[str, Any] = {
        "steps": 2,
        "batch_size": 2,
        "progress": False,
        "checkpoint_every": 0,
        "device": "cpu",
        "precision": "fp32",
        **train,
    }
    return Trainer(
        model or CycleGAN(g, g, d, d),
        Pairs(n=4, size=16),
        run_dir=tmp_path,
        train=TrainConfig(**cfg),
    )


# ------------------------------------------------------------------ 1. RNG state per device
class _FakeCudaRng:
    """Per-device CUDA generator states, as ``torch.cuda`` would keep them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, devices: int) -> None:
        self.states = {i: torch.full((16,), i, dtype=torch.uint8) for i in range(devices)}
        self.set: list[int] = []
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: devices)
        monkeypatch.setattr(torch.cuda, "get_rng_state", self.get)
        monkeypatch.setattr(torch.cuda, "set_rng_state", self.put)
        monkeypatch.setattr(
            torch.cuda, "get_rng_state_all", lambda: [self.states[i] for i in range(devices)]
        )

    def get(self, device: torch.device | int | str = "cuda") -> torch.Tensor:
        return self.states[torch.device(device).index or 0].clone()

    def put(self, state: torch.Tensor, device: torch.device | int | str = "cuda") -> None:
        index = torch.device(device).index or 0
        if index not in self.states:
            raise IndexError(f"no CUDA device {index}")
        self.states[index] = state.clone()
        self.set.append(index)


def test_rng_state_holds_this_process_gpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeCudaRng(monkeypatch, devices=8)
    state = rng_state(torch.device("cuda", 3))
    assert isinstance(state["cuda"], torch.Tensor)
    assert torch.equal(state["cuda"], fake.states[3])
    assert "cuda" not in rng_state(torch.device("cpu"))


def test_resume_on_fewer_gpus_restores_the_own_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint of an 8-GPU run (old format: every visible GPU's state) resumed on one GPU."""
    saved = {
        **rng_state(),
        "cuda": [torch.full((16,), 100 + i, dtype=torch.uint8) for i in range(8)],
    }
    fake = _FakeCudaRng(monkeypatch, devices=1)
    load_rng_state(saved, torch.device("cuda", 0))  # torch.cuda.set_rng_state_all: IndexError
    assert fake.set == [0] and int(fake.states[0][0]) == 100
    fake.set.clear()
    load_rng_state(saved, torch.device("cpu"))  # resumed on the CPU: CUDA states ignored
    assert fake.set == []
    new = {**rng_state(), "cuda": torch.full((16,), 7, dtype=torch.uint8)}
    load_rng_state(new, torch.device("cuda", 0))
    assert fake.set == [0] and int(fake.states[0][0]) == 7


# ------------------------------------------------------------------ 7. devices from the env
def test_local_rank_maps_to_a_visible_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # SLURM: one GPU per task
    assert D.DistInfo(3, 4, 3).local_device(torch.device("cuda")) == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)  # torchrun on one node
    assert D.DistInfo(3, 8, 3).local_device(torch.device("cuda")) == torch.device("cuda", 3)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    with pytest.raises(ConfigError, match="LOCAL_RANK=5 but this process sees 4"):
        D.DistInfo(5, 8, 5).local_device(torch.device("cuda"))
    assert D.DistInfo().local_device(torch.device("cuda", 2)) == torch.device("cuda", 2)


def test_existing_process_group_still_sets_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: list[torch.device] = []
    monkeypatch.setattr(D.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(D.dist, "get_rank", lambda: 1)
    monkeypatch.setattr(D.dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setenv("LOCAL_RANK", "1")
    info = D.init_from_env("cuda")
    assert info == D.DistInfo(1, 2, 1) and chosen == [torch.device("cuda", 1)]


def test_created_group_has_a_long_timeout_and_is_destroyed_at_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    registered: list[Any] = []
    monkeypatch.setattr(D.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(D.dist, "init_process_group", lambda **kw: calls.append(kw))
    monkeypatch.setattr(D.dist, "get_rank", lambda: 0)
    monkeypatch.setattr(D.dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    D.init_from_env("cpu")
    assert calls == [{"backend": "gloo", "timeout": D.PROCESS_GROUP_TIMEOUT}]
    assert D.PROCESS_GROUP_TIMEOUT.total_seconds() > 10 * 60  # above NCCL's default
    assert len(registered) == 1
    destroyed: list[bool] = []
    monkeypatch.setattr(D.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(D.dist, "destroy_process_group", lambda: destroyed.append(True))
    registered[0]()
    assert destroyed == [True]


# ------------------------------------------------------------------ 6. TF32 and 5. determinism
def test_backends_set_tf32_ieee_and_determinism_and_restore_them() -> None:
    before = backend_settings()
    auto = choose_fast_path("cpu", "fp32")
    tf32 = type(auto)("fp32", False, False, True, "test")
    with tf32.backends("cuda"):
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
        assert torch.backends.cudnn.conv.fp32_precision == "tf32"  # type: ignore[attr-defined]
        assert torch.backends.cudnn.benchmark
    assert backend_settings() == before
    with auto.backends("cuda", deterministic=True):  # explicit fp32: IEEE, not cuDNN's TF32
        assert torch.backends.cuda.matmul.fp32_precision == "ieee"
        assert torch.backends.cudnn.conv.fp32_precision == "ieee"  # type: ignore[attr-defined]
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert not torch.backends.cudnn.benchmark
    assert backend_settings() == before


def test_fit_restores_process_settings(tmp_path: Path) -> None:
    before = backend_settings()
    t = _trainer(tmp_path, steps=1, deterministic=True)
    assert backend_settings() == before  # building a trainer changes nothing process-wide
    seen: list[bool] = []
    step = t.train_step
    t.train_step = lambda batch: (
        seen.append(torch.are_deterministic_algorithms_enabled()),
        step(batch),
    )[1]  # type: ignore[method-assign]
    t.fit()
    assert seen == [True]
    assert backend_settings() == before


# ------------------------------------------------------------------ 4. compile with a penalty
def test_compile_leaves_discriminators_eager_under_a_gradient_penalty() -> None:
    G, Dn = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 1, 1)
    assert networks_to_compile([G], [Dn], penalty=False) == ([G, Dn], None)
    nets, note = networks_to_compile([G], [Dn], penalty=True)
    assert nets == [G] and note is not None and "twice" in note


def test_compiled_discriminator_refuses_double_backward() -> None:
    """The cause: torch.compile's backward cannot be differentiated again (the "aot_eager"
    backend shares inductor's autograd and compiles in a second)."""
    torch._dynamo.reset()
    Dc = torch.compile(nn.Conv2d(3, 1, 3), backend="aot_eager")
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    (g,) = torch.autograd.grad(Dc(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match=r"double backward|create_graph"):
        g.square().sum().backward()


def test_train_compile_with_a_penalty_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``train.compile = true`` with WGAN-GP (inductor takes ~30 s a network on this CPU; the
    decision does not depend on the backend, so aot_eager stands in)."""
    torch._dynamo.reset()
    compile_ = nn.Module.compile
    monkeypatch.setattr(
        nn.Module, "compile", lambda self, **kw: compile_(self, backend="aot_eager", **kw)
    )
    g = {"name": "resnet_6blocks", "ngf": 4}
    d = {"name": "patchgan", "ndf": 4, "n_layers": 1}
    t = _trainer(tmp_path, CycleGAN(g, g, d, d, penalty="wgan_gp"), compile=True)
    assert t.model.G_ab._compiled_call_impl is not None
    assert t.model.D_a._compiled_call_impl is None
    out = t.train_step(next(iter(t.data)))
    assert out is not None and out["d_penalty_a"] >= 0


# ------------------------------------------------------------------ 3. host syncs
_HOST_READS = {
    torch.Tensor.item,
    torch.Tensor.tolist,
    torch.Tensor.__bool__,
    torch.Tensor.__float__,
    torch.Tensor.__int__,
    torch.Tensor.cpu,
    torch.Tensor.numpy,
    torch.tensor,
    torch.as_tensor,
    torch.Tensor.new_tensor,
}


class HostReads(TorchFunctionMode):
    """Counts reads of tensor values on the host and tensors built from host data (each a
    blocking copy on a GPU), by the first caller outside torch; the optimiser's own step
    counters are left out (the CUDA trainer uses fused Adam, whose counters stay on the GPU)."""

    def __init__(self) -> None:
        super().__init__()
        self.sites: collections.Counter[str] = collections.Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func in _HOST_READS:
            stack = traceback.extract_stack()[:-1]
            if not any("/torch/optim/" in f.filename for f in stack):
                mine = [f for f in stack if "/torch/" not in f.filename]
                self.sites[f"{Path(mine[-1].filename).name}:{mine[-1].name}"] += 1
        return func(*args, **(kwargs or {}))


def test_one_host_sync_per_step_with_ema_penalty_and_multiview(tmp_path: Path) -> None:
    g = {"name": "resnet_6blocks", "ngf": 4}
    d = {
        "name": "multiview",
        "discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 1},
        "views": ["image", "gray", "gradient"],
    }
    t = _trainer(tmp_path, CycleGAN(g, g, d, d, penalty="wgan_gp"), pool_size=0, ema_decay=0.9)
    batch = next(iter(t.data))
    t.train_step(batch)  # the first EMA update copies; constants reach the device once
    with HostReads() as reads:
        assert t.train_step(batch) is not None
    assert set(reads.sites) == {"distributed.py:losses_to_host"}, reads.sites
    assert reads.sites["distributed.py:losses_to_host"] == 2  # one .cpu() and its .tolist()


def test_ema_matches_torch_averaged_model_without_host_reads() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    ours = EMA(net, decay=0.8)
    ref = torch.optim.swa_utils.AveragedModel(
        net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.8), use_buffers=True
    )
    for i in range(3):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.1 * (i + 1))
        net(torch.rand(2, 3, 8, 8))  # moves the BatchNorm buffers
        if i == 2:
            with HostReads() as reads:
                ours.update_parameters(net)
            assert not reads.sites, reads.sites
        else:
            ours.update_parameters(net)
        ref.update_parameters(net)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    for k, v in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[k], v), k
    again = EMA(net, decay=0.8)
    again.load_state_dict(ours.state_dict())
    assert again.host_count == 3
    with pytest.raises(ValueError, match="decay"):
        EMA(net, decay=1.5)


def test_multiview_forward_builds_no_tensor_from_host_data() -> None:
    Dm = MultiViewDiscriminator(
        discriminator={"name": "pixel", "ndf": 4}, views=("gray", "gradient")
    )
    x = torch.rand(1, 3, 16, 16)
    Dm(x)
    with HostReads() as reads:
        Dm(x)
    assert not reads.sites, reads.sites
    with torch.inference_mode():  # a constant cached in inference mode still trains
        Dm(torch.rand(1, 3, 16, 16, dtype=torch.float64).float())
    x.requires_grad_(True)
    sum(s.sum() for s in Dm(x)).backward()  # type: ignore[union-attr]
    assert x.grad is not None


# ------------------------------------------------------------------ 2. per-rank randomness
def test_rank_zero_keeps_the_single_process_seeds(tmp_path: Path) -> None:
    assert rank_seed(11, 0) == 11 and len({rank_seed(11, r) for r in range(8)}) == 8
    t = _trainer(tmp_path, seed=4, pool_size=2)
    assert t.pools["a"].generator.initial_seed() == 4 * 2 + 1
    assert torch.initial_seed() == 4


def test_ddp_ranks_draw_differently_and_resume_exactly(tmp_path: Path) -> None:
    """Two gloo ranks with the pool, EMA, WGAN-GP, dropout and fused passes: each rank's
    random streams differ, and a resume from a checkpoint continues every rank exactly."""
    from safetensors.torch import load_file

    torchrun = Path(sys.executable).with_name("torchrun")
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            str(torchrun),
            "--standalone",
            "--nproc_per_node=2",
            str(Path(__file__).parent / "_ddp_ranks_script.py"),
            str(tmp_path),
            str(tmp_path / "run"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    first = [load_file(str(tmp_path / f"rank{r}_first.safetensors")) for r in (0, 1)]
    for key in ("draw", "pool_seed", "loader_seed"):
        assert not torch.equal(first[0][key], first[1][key]), key
    ends = []
    for r in (0, 1):
        straight = load_file(str(tmp_path / f"rank{r}_straight.safetensors"))
        resumed = load_file(str(tmp_path / f"rank{r}_resumed.safetensors"))
        assert straight.keys() == resumed.keys()
        differ = [k for k in straight if not torch.equal(straight[k], resumed[k])]
        assert not differ, f"rank {r}: {differ[:5]}"
        ends.append(straight)
    assert not torch.equal(ends[0]["pool_a.images"], ends[1]["pool_a.images"])
    assert torch.equal(ends[0]["model.G_ab.model.1.weight"], ends[1]["model.G_ab.model.1.weight"])


# ------------------------------------------------------------------ 3. the data path
def test_batch_stream_keeps_one_loader_and_seeds_it_per_rank() -> None:
    stream = BatchStream(Pairs(n=4, size=4), batch_size=2, seed=3, num_replicas=2, rank=1)
    it = iter(stream)
    next(it)
    loader = stream.loader()
    assert loader.generator is not None
    assert loader.generator.initial_seed() == rank_seed(3 * 7919 + 0, 1)
    next(it)  # one batch an epoch on each rank: the same loader serves the next epoch
    assert stream.loader() is loader
    assert loader.generator.initial_seed() == rank_seed(3 * 7919 + 1, 1)
    with_workers = BatchStream(Pairs(n=4, size=4), batch_size=2, num_workers=1)
    assert with_workers.loader().persistent_workers


def test_a_second_iteration_continues_after_the_last_batch() -> None:
    """A second fit() on the same trainer used to restart the epoch (and its position)."""

    def firsts(batches: list[dict[str, Any]]) -> list[float]:
        return [float(b["A"][0, 0, 0, 0]) for b in batches]

    straight = iter(BatchStream(Pairs(n=8, size=4), batch_size=2, seed=1))
    want = firsts([next(straight) for _ in range(3)])
    stream = BatchStream(Pairs(n=8, size=4), batch_size=2, seed=1)
    it = iter(stream)
    got = firsts([next(it), next(it)])
    got += firsts([next(iter(stream))])
    assert got == want
    assert stream.state_dict()["position"] == 6


def test_workers_by_default_on_cuda_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert auto_num_workers("cpu") == 0
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert auto_num_workers("cuda") == 8
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    assert auto_num_workers("cuda") == 2
    assert _trainer(tmp_path).data.num_workers == 0


# ------------------------------------------------------------------ the prepared GPU check
def test_gpu_check_dry_run_passes_and_writes_its_report(tmp_path: Path) -> None:
    """``benchmarks/gpu_check.py --dry-run``: every check's code path on the CPU, tiny."""
    import json

    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    script = ROOT / "benchmarks" / "gpu_check.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--dry-run", "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    checks = {row["check"]: row for row in report["checks"]}
    assert {"train/fp32", "resume", "ddp", "translate", "export"} <= set(checks)
    assert checks["resume"]["exact"] and checks["ddp"]["processes"] == 2
    assert (tmp_path / "gpu_check.log").read_text().startswith("gpu_check ")
    if not torch.cuda.is_available():
        plain = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
        assert plain.returncode == 0 and "no CUDA device" in plain.stdout
