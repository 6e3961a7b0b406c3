"""Test settings shared by the whole suite."""

import os

import torch
from hypothesis import HealthCheck, settings

# "ci" replays the same examples on every run (a failure on CI reproduces locally with
# HYPOTHESIS_PROFILE=ci); "dev" explores new ones each time.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# The machines have 2 cores; tiny tensors run faster without intra-op threads fighting each other.
torch.set_num_threads(1)
