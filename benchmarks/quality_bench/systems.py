"""The systems: a preset and ``--set`` overrides each, the budgets, the settings of every run."""

from __future__ import annotations

#: Named budgets: (CPU minutes per run, image side).
BUDGETS = {"demo": (10.0, 64), "long": (60.0, 128)}

#: The supervised reference (:func:`~quality_bench.trainers.train_paired`): pix2pix's L1 term
#: alone, without the weight average (which no override can unset).
PAIRED = "paired"
PAIRED_PRESET = "night2day_pix2pix"
PAIRED_OVERRIDES = ["model.adversarial_weight=0.0"]

_SEED_D = '{name = "seed_multiscale"}'

#: Ad-hoc systems from the command line (``--variant NAME=PRESET:KEY=VALUE;KEY=VALUE``).
VARIANTS: dict[str, tuple[str, list[str]]] = {}


def systems(size: int) -> dict[str, tuple[str, list[str]]]:
    """name -> (preset, overrides); overrides are the trainer's ``--set`` syntax."""
    seed_g = [f"model.generator.image_size={size}"]
    n2d = "night2day"
    return {
        # the three systems
        "night2day": (n2d, []),
        "seed": ("seed", seed_g),
        "classic": ("cyclegan_paper", [f"data.load_size={size * 286 // 256}"]),
        # ablations of night2day: each removes one deviation from the seed ("-") or adds back an
        # option it measured and left out ("+")
        "night2day-residual": (n2d, ['model.generator.residual="none"', "model.generator.residual_smooth=0.0"]),
        "night2day-smooth": (n2d, ["model.generator.residual_smooth=0.0"]),
        "night2day-logit": (n2d, ['model.generator.residual="logit"', "model.generator.residual_smooth=0.0"]),
        "night2day-resize": (n2d, ['model.generator.upsample="transposed"']),
        "night2day+batch8": (n2d, ["train.batch_size=8"]),
        "night2day+pool": (n2d, ["train.pool_size=50"]),
        "night2day-lr": (
            n2d,
            ["optim.generator.lr=5e-5", "optim.discriminator.lr=1e-4",
             "optim.generator.betas=[0.9, 0.999]", "optim.discriminator.betas=[0.9, 0.999]"],
        ),
        "night2day-convbottleneck": (n2d, ['model.generator.bottleneck="dense"', *seed_g]),
        # the seed's claims, around the night2day generator (night2day itself has the 70×70
        # PatchGAN since session 5; the rows of earlier sessions named "night2day" are "d:seed")
        "d:seed": (n2d, ["model.discriminator=" + _SEED_D]),
        "d:one-head": (n2d, ['model.discriminator={name = "seed_multiscale", taps = [5]}']),
        "d:4x4-heads": (n2d, ['model.discriminator={name = "seed_multiscale", head_kernel = 4}']),
        "d:patchgan": (n2d, ['model.discriminator={name = "patchgan", n_layers = 3}']),
        "d:pyramid": (
            n2d, ['model.discriminator={name = "pyramid", discriminator = ' + _SEED_D + ", num_scales = 2}"]
        ),
        "d:multiview": (n2d, ['model.discriminator={name = "multiview", discriminator = ' + _SEED_D + "}"]),
        # unpaired colour-moment term (weights.moments), measured in session 5
        "night2day+moments": (n2d, ["model.weights.moments=5.0"]),
        # exposure-blind generators (generator.exposure_norm) are in the recipe since session 7;
        # this is the recipe of sessions 5-6 (the rows of session 6 named "night2day")
        "night2day-exposure": (n2d, ["model.generator.exposure_norm=0.0"]),
        # other models on the night2day recipe (cyclegan_ms.models): CUT and FastCUT (unpaired),
        # pix2pix (aligned scene pairs, beside the hand-written `paired` L1 ceiling) and its
        # GAN ablation (the L1 term alone, through the same Trainer)
        "cut": ("night2day_cut", []),
        "fastcut": ("night2day_fastcut", []),
        "pix2pix": ("night2day_pix2pix", []),
        "pix2pix-gan": ("night2day_pix2pix", ["model.adversarial_weight=0.0"]),
        **VARIANTS,
    }


def parse_variant(spec: str) -> None:
    """Register ``NAME=PRESET:KEY=VALUE;KEY=VALUE`` as a system."""
    name, _, rest = spec.partition("=")
    preset, _, sets = rest.partition(":")
    if not name or not preset:
        raise SystemExit(f"--variant needs NAME=PRESET:KEY=VALUE;...; got {spec!r}")
    VARIANTS[name] = (preset, [x for x in sets.split(";") if x])


def common_overrides(size: int, seed: int, minutes: float) -> list[str]:
    """The overrides of every run: the CPU-time budget, one seed, bf16, no checkpoints."""
    return [
        f"data.image_size={size}",
        "data.num_workers=0",
        f"train.max_minutes={minutes}",
        'train.budget_clock="cpu"',
        "train.steps=10000000",
        f"train.seed={seed}",
        'train.precision="bf16"',
        "train.checkpoint_every=0",
        "train.keep_last=1",
        "train.log_every=25",
        "train.progress=false",
    ]


def file_stem(system: str, seed: int) -> str:
    """The name of a run's folder and row file (``d:seed``, 1 → ``d_seed_s1``)."""
    return f"{system.replace(':', '_')}_s{seed}"
