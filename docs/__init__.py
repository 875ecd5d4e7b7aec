"""Documentation sources; a package only so that pytest keeps docs/conftest.py apart from tests/conftest.py."""
