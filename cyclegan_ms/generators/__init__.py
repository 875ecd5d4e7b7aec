"""Generators: image batch in, translated image batch out."""

__all__: list[str] = []
