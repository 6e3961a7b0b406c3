"""The fast lane's rule for tests parametrized over the registry's models: the big networks' cases are slow.

``make test-fast`` (``pytest -m "not slow"``) leaves out every test marked ``slow``; ``make test`` runs them all.
"""

import pytest

from cnnlab.models import get_spec

# Trainable parameters. Measured on the 2-core machine (2026-12-06, load 3-4): the zoo's tests of one of these
# networks took 2.4-21 s in all (building and initialising a VGG alone, 1.7-3.4 s), those of any smaller one
# at most 2.4 s (GoogLeNet, 7 million). Above: VGG (133-144 million), AlexNet (61), ResNet-34 to -152 (22-60),
# Inception v2 and v3 (24-25).
BIG = 20_000_000


def by_size(names: list[str]) -> list[str | object]:
    """``names`` as pytest parameters, those of networks over :data:`BIG` parameters marked ``slow``."""
    return [pytest.param(name, marks=pytest.mark.slow) if get_spec(name).params > BIG else name for name in names]
