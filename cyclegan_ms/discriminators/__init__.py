"""Discriminators. Each returns a list of score maps, one per scale/view."""

from .base import Discriminator

__all__ = ["Discriminator"]
