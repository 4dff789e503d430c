"""Finding classification mistakes: the tutorial in ../shared/seed/, step by step, with labellens.

Load CIFAR-10's test split, corrupt 10% of its labels, add a pretrained CIFAR
ResNet's predictions with logits to 1,000 random samples, compute each sample's
``mistakenness``, look at the most likely mistakes, and open them in the App.
The calls are the tutorial's own, with ``labellens`` in place of the original
library; the end adds how many of the top-ranked samples are real mistakes and
an export of the likely mistakes for annotators.

Offline, from an image-classification directory tree and a weights file::

    python examples/classification_mistakes.py --dataset-dir cifar10-jpg/test \
        --weights ../shared/models/resnet56-4bfd9763.th --no-app

Online, from the zoo (downloads CIFAR-10 and the weights on first use)::

    python examples/classification_mistakes.py
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.utils.data import DataLoader

import labellens as ll
import labellens.brain as llb
import labellens.zoo as llz
from labellens.inference import TorchImageDataset
from labellens.session import launch_app
from labellens.types import ImageClassificationDirectoryTree
from labellens.zoo.cifar_resnet import CifarResNet, load_checkpoint

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
DATASET_NAME = "cifar10-test-mistakes"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset-dir", type=Path, default=None,
                        help="an image-classification directory tree (<root>/<class>/<image>); "
                             "default: the zoo's CIFAR-10 test split")
    parser.add_argument("--weights", type=Path, default=None,
                        help="a CIFAR ResNet checkpoint such as resnet56-4bfd9763.th; "
                             "default: the zoo's cifar10-resnet56")
    parser.add_argument("--num-samples", type=int, default=1000, help="samples to predict (default 1000)")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=51)
    parser.add_argument("--export-dir", type=Path, default=None,
                        help="also export the 100 most likely mistakes here (csv) for review")
    parser.add_argument("--no-app", action="store_true", help="do not open the App")
    return parser.parse_args()


def load_dataset(dataset_dir: Path | None) -> ll.Dataset:
    """The CIFAR-10 test split as a fresh dataset (the zoo's own ``cifar10-test`` stays clean)."""
    if dataset_dir is None:
        # Downloads the dataset from the web if necessary
        return llz.load_zoo_dataset("cifar10", split="test", dataset_name=DATASET_NAME, overwrite=True)
    return ll.Dataset.from_dir(dataset_dir, dataset_type=ImageClassificationDirectoryTree,
                               name=DATASET_NAME, tags=["test"], overwrite=True)


def load_model(weights: Path | None) -> tuple[torch.nn.Module, str]:
    """A pretrained CIFAR ResNet (a plain torch module) and its name, used as the predictions field."""
    if weights is None:
        return llz.load_zoo_model("cifar10-resnet56"), "resnet56"
    match = re.search(r"resnet(\d+)", weights.name)
    depth = int(match.group(1)) if match else 56
    return load_checkpoint(CifarResNet(depth), weights), f"resnet{depth}"


def make_cifar10_data_loader(image_paths: Sequence[str], sample_ids: Sequence[str], batch_size: int,
                             num_workers: int) -> DataLoader:
    transforms = torchvision.transforms.Compose(
        [
            torchvision.transforms.ToTensor(),
            torchvision.transforms.Normalize(MEAN, STD),
        ]
    )
    dataset = TorchImageDataset(image_paths, sample_ids=sample_ids, transform=transforms)
    return DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)


def predict(model: torch.nn.Module, imgs: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    logits = model(imgs).detach().cpu().numpy()
    predictions = np.argmax(logits, axis=1)
    odds = np.exp(logits)
    confidences = np.max(odds, axis=1) / np.sum(odds, axis=1)
    return predictions, confidences, logits


def main() -> None:
    args = parse_args()
    random.seed(args.seed)

    # Load the CIFAR-10 test split
    dataset = load_dataset(args.dataset_dir)

    # Get the CIFAR-10 classes list
    classes = dataset.default_classes

    # Artificially corrupt 10% of the labels
    _num_mistakes = int(0.1 * len(dataset))
    for sample in dataset.take(_num_mistakes, seed=args.seed):
        mistake = random.randint(0, 9)
        while classes[mistake] == sample.ground_truth.label:
            mistake = random.randint(0, 9)

        sample.tags.append("mistake")
        sample.ground_truth = ll.Classification(label=classes[mistake])
        sample.save()

    # Verify that the `mistake` tag is now in the dataset's schema
    print(dataset)

    # Count the number of samples with the `mistake` tag
    num_mistakes = len(dataset.match_tags("mistake"))
    print(f"{num_mistakes} ground truth labels are now mistakes")

    #
    # Load a model
    #
    model, model_name = load_model(args.weights)
    model.eval()

    #
    # Extract a few images to process
    # (some of these will have been manipulated above)
    #
    num_samples = args.num_samples
    batch_size = args.batch_size
    view = dataset.take(num_samples, seed=args.seed + 1)
    image_paths, sample_ids = zip(*[(s.filepath, s.id) for s in view.iter_samples()])
    data_loader = make_cifar10_data_loader(image_paths, sample_ids, batch_size, args.num_workers)

    #
    # Perform prediction and store results in dataset
    #
    with torch.inference_mode(), ll.ProgressBar() as pb:
        for imgs, sample_ids in pb(data_loader):
            predictions, _, logits_ = predict(model, imgs)

            # Add predictions to your labellens dataset
            for sample_id, prediction, logits in zip(sample_ids, predictions, logits_):
                sample = dataset[sample_id]
                sample.tags.append("processed")
                sample[model_name] = ll.Classification(
                    label=classes[prediction], logits=logits,
                )
                sample.save()

    # Count the number of samples with the `processed` tag
    num_processed = len(dataset.match_tags("processed"))

    # Count the number of samples with both `processed` and `mistake` tags
    num_corrupted = len(dataset.match_tags("processed").match_tags("mistake"))

    print(f"Added predictions to {num_processed} samples")
    print(f"{num_corrupted} of these samples have label mistakes")

    # Get samples for which we added predictions
    h_view = dataset.match_tags("processed")

    # Compute mistakenness
    llb.compute_mistakenness(h_view, model_name, label_field="ground_truth", use_logits=True)

    # Sort by likelihood of mistake (most likely first)
    mistake_view = (dataset
        .match_tags("processed")
        .sort_by("mistakenness", reverse=True)
    )

    # Print some information about the view
    print(mistake_view)

    # Inspect the first few samples
    print(mistake_view.head())

    # How many of the top-ranked samples are real mistakes?
    top = mistake_view.limit(num_corrupted)
    found = len(top.match_tags("mistake"))
    print(f"{found} of the top {num_corrupted} samples by mistakenness are real mistakes")

    # Send the most likely mistakes to annotators for review
    if args.export_dir is not None:
        mistake_view.limit(100).export(args.export_dir, format="csv", pred_field=model_name,
                                       score_fields=["mistakenness"])
        print(f"Exported the 100 most likely mistakes to {args.export_dir}")

    if args.no_app:
        return

    session = launch_app(dataset)

    # Show only the samples that were processed
    session.view = dataset.match_tags("processed")

    # Show only the samples for which we added label mistakes
    session.view = dataset.match_tags("mistake")

    # Show the samples we processed in rank order by the mistakenness
    session.view = mistake_view

    # Keep the App up until Ctrl-C
    session.wait()


if __name__ == "__main__":
    main()
