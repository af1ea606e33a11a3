"""mlform's pytest plugin (entry point `pytest11: mlform`): fixtures for tests that drive mlform.

The fixtures are filled in below; this module must stay importable at all times because pytest
loads it for every test session in an environment where mlform is installed.
"""

from __future__ import annotations
