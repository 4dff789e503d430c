"""Torch inference over datasets and views: predictions with logits, and embeddings.

Needs the optional torch extra (``pip install 'labellens[torch]'``); ``import
labellens`` alone never imports torch.
"""

from labellens.errors import MissingDependencyError

try:
    import torch  # noqa: F401
    import torchvision  # noqa: F401
except ImportError as exc:
    raise MissingDependencyError(
        f"labellens.inference needs torch and torchvision ({exc}); pip install 'labellens[torch]'") from exc

from labellens.inference.apply import InferenceSummary, apply_model  # noqa: E402
from labellens.inference.convert import predict, softmax, to_classifications  # noqa: E402
from labellens.inference.embeddings import compute_embeddings  # noqa: E402
from labellens.inference.torch_dataset import (  # noqa: E402
    ImageBatch,
    ImageFailure,
    TorchImageDataset,
    collate_images,
)

__all__ = ["ImageBatch", "ImageFailure", "InferenceSummary", "TorchImageDataset", "apply_model",
           "collate_images", "compute_embeddings", "predict", "softmax", "to_classifications"]
