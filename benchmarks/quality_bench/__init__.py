"""The parts of ``benchmarks/quality.py``, one idea a module.

- :mod:`.systems`: what is trained (presets with overrides, the ``--variant`` systems, the
  budgets, the settings every run shares);
- :mod:`.sets`: what is scored on (held-out scenes, their near/far masks, real photographs
  darkened by the low-light model);
- :mod:`.scoring`: how (the library's metrics over whole images, regions and sets; the
  training-free baselines);
- :mod:`.trainers`: training a system for a CPU-time budget, and the supervised ``paired``
  reference;
- :mod:`.report`: aggregating the rows over seeds, the Markdown table, the figures.

The driver (the worker processes, the job pool, the results file) is ``benchmarks/quality.py``.
Scoring, value ranges, scene pairs and grids come from :mod:`cyclegan_ms`; this package only
holds the benchmark's own choices.
"""
