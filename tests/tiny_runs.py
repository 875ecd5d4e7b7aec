"""The smallest run config the command-line tests train (two steps of a 4-wide ResNet on
32² scenes), shared so that the tests of the CLI, of newcomers' paths and of fine-tuning train
the same thing."""

from __future__ import annotations


def tiny_toml(
    *, num_scenes: int = 6, train_extra: str = "", model: str | None = None, data: str | None = None
) -> str:
    """A TOML config; ``train_extra`` lines are added at the end of its ``[train]`` table,
    ``model`` names the ``[model]`` (default: a CycleGAN) and ``data`` replaces the body of the
    ``[data]`` table (default: ``num_scenes`` built-in scenes)."""
    header = f'[model]\nname = "{model}"\n' if model else ""
    if data is None:
        data = f"""source = "scenes"
image_size = 32
num_scenes = {num_scenes}
value_range = "symmetric"
recipe = "paper"
load_size = 36"""
    return f"""
{header}
[model.generator]
name = "resnet_6blocks"
ngf = 4

[model.discriminator]
name = "patchgan"
ndf = 4
n_layers = 2

[data]
{data}

[train]
steps = 2
batch_size = 2
log_every = 1
progress = false
checkpoint_every = 1
{train_extra}"""
