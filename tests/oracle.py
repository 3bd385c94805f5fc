"""PyTorch, the test-only oracle: imported once here, for every test that compares with it.

Its tests skip when torch is not installed, except in CI (BACKPROP_LAB_REQUIRE_TORCH=1),
which demands them: there a missing torch fails them instead of skipping.
"""

import pytest

from tests.conftest import required

try:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset
except ImportError:  # the oracle is optional outside CI, which demands it
    torch = F = DataLoader = TensorDataset = None  # type: ignore[assignment]

needs_torch = pytest.mark.skipif(
    torch is None and not required("torch"),
    reason="PyTorch is the test-only oracle: pip install torch==2.13.0 (make test does)",
)

__all__ = ["DataLoader", "F", "TensorDataset", "needs_torch", "torch"]
