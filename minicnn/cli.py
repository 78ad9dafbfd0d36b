"""The ``minicnn`` command (also ``python -m minicnn``).

::

    minicnn demo [--out DIR] [--epochs N] [--seed S]        LeNet-5 on the bundled digits, report.html
    minicnn train --model NAME --dataset NAME [...]           train a small model, save a checkpoint
    minicnn evaluate CHECKPOINT [--dataset NAME]             test a checkpoint
    minicnn summary NAME --input C,H,W                       layers, output shapes, parameters

Errors a user can cause (an unknown model, a missing folder, a checkpoint of another model)
print one line, ``minicnn: error: ...``, and exit with status 1; argparse's usage errors exit
with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, metrics, models, nn, optim
from .autograd import no_grad
from .backend import manual_seed
from .data import (
    MNIST,
    ArrayDataset,
    DataLoader,
    ImageFolder,
    Subset,
    SyntheticShapes,
    random_split,
)
from .data import transforms as T
from .serialization import CheckpointError, load, load_metadata
from .tensor import tensor
from .threads import set_num_threads
from .train import ModelCheckpoint, evaluate, fit, model_device


class UsageError(Exception):
    """A mistake of the user's: printed as one line, exit status 1."""


# --- models --------------------------------------------------------------------------------

#: Small variants that train in minutes on a CPU: name -> builder(num_classes, in_channels).
SMALL_MODELS: dict[str, Callable[[int, int], nn.Module]] = {
    "lenet5": lambda k, c: models.lenet5(k, c),
    "vgg_small": lambda k, c: models.vgg(
        [32, "M", 64, "M", 128, "M"], k, batch_norm=True, in_channels=c, hidden=256, pool_size=1
    ),
    "resnet_small": lambda k, c: models.resnet18(
        k, in_channels=c, small_input=True, base_channels=16
    ),
    "googlenet_mini": lambda k, c: models.googlenet_mini(k, c, width=0.5),
}


def model_names() -> list[str]:
    """The names ``--model`` accepts: the small variants, then the rest of the zoo."""
    zoo = [name for name in models.list_models() if name not in SMALL_MODELS and name != "unet"]
    return [*SMALL_MODELS, *zoo]


def build_model(name: str, num_classes: int | None, in_channels: int) -> nn.Module:
    if name in SMALL_MODELS:
        return SMALL_MODELS[name](10 if num_classes is None else num_classes, in_channels)
    if name not in model_names():
        raise UsageError(f"unknown model {name!r}; choose one of: {', '.join(model_names())}")
    kwargs: dict[str, Any] = {"in_channels": in_channels}
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    try:
        return models.get_model(name, **kwargs)
    except (TypeError, ValueError) as error:
        raise UsageError(f"cannot build model {name!r}: {error}") from error


# --- datasets ------------------------------------------------------------------------------


@dataclass
class Splits:
    """A dataset's training (augmented if asked), validation and test parts."""

    name: str
    train: Any
    val: Any
    test: Any
    classes: list[str]
    in_channels: int
    options: dict[str, Any]  # what rebuilds the same splits (saved in checkpoints)


def split_train(augmented: Any, plain: Any, val_fraction: float) -> tuple[Subset, Subset]:
    """A stratified train/validation split (fixed seed 0) of a training set; the training
    part reads from ``augmented``, the validation part from ``plain``."""
    train, val = random_split(plain, [1 - val_fraction, val_fraction], seed=0, stratified=True)
    return Subset(augmented, train.indices), val


def load_splits(
    name: str, image_size: int = 28, data_dir: str | None = None, shift: int = 0
) -> Splits:
    """``mnist`` (the bundled digits, or the official files in ``data_dir``), ``shapes``
    (SyntheticShapes) or the path of an image folder (one sub-folder per class)."""
    augment = T.RandomShift(shift) if shift else None
    options = {"image_size": image_size, "data_dir": data_dir}
    if name == "mnist":
        if data_dir is not None and not Path(data_dir).expanduser().is_dir():
            raise UsageError(f"MNIST folder {data_dir} does not exist")
        try:
            plain, test = MNIST("train", data_dir), MNIST("test", data_dir)
        except FileNotFoundError as error:
            raise UsageError(str(error)) from error
        augmented = MNIST("train", data_dir, transform=augment)
        train, val = split_train(augmented, plain, 0.1)
        return Splits(name, train, val, test, plain.classes, 1, options)
    if name == "shapes":
        shapes = SyntheticShapes(2400, image_size=image_size, seed=0)
        augmented = ArrayDataset(shapes.images, shapes.labels, transform=augment)
        test = SyntheticShapes(600, image_size=image_size, seed=1)
        train, val = split_train(augmented, shapes, 0.1)
        return Splits(name, train, val, test, ["circle", "square", "triangle"], 3, options)
    folder = Path(name).expanduser()
    if not folder.exists():
        raise UsageError(
            f"unknown dataset {name!r}: use mnist, shapes or the path of an image folder "
            f"(no folder {str(folder)!r} exists)"
        )
    if not folder.is_dir():
        raise UsageError(f"dataset {name!r} is a file, not an image folder")
    try:
        plain = ImageFolder(folder, transform=T.Resize(image_size))
        augmented = ImageFolder(folder, transform=_compose(T.Resize(image_size), augment))
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from error
    if len(plain) < 10:
        raise UsageError(f"image folder {folder} has {len(plain)} images; it needs at least 10")
    # a fixed stratified 80/20 split into training and test images, then validation
    rest, test = random_split(plain, [0.8, 0.2], seed=0, stratified=True)
    train, val = random_split(Subset(augmented, rest.indices), [0.9, 0.1], seed=1, stratified=False)
    val = Subset(plain, rest.indices[val.indices])
    return Splits(str(folder), train, val, test, plain.classes, 3, options)


def _compose(*transforms: Any) -> Any:
    chosen = [t for t in transforms if t is not None]
    return None if not chosen else chosen[0] if len(chosen) == 1 else T.Compose(chosen)


def check_model_takes(model: nn.Module, name: str, splits: Splits) -> None:
    """Run one image through the model, so that a size mismatch is one clear line."""
    image = splits.test[0][0]
    try:
        model.eval()
        with no_grad():
            output = model(tensor(image[None], device=model_device(model)))
    except (ValueError, TypeError, RuntimeError) as error:
        raise UsageError(
            f"model {name} does not take the {tuple(image.shape)} images of {splits.name}: "
            f"{str(error).splitlines()[0]}"
        ) from error
    if output.ndim != 2 or output.shape[1] != len(splits.classes):
        raise UsageError(
            f"model {name} gives outputs of shape {output.shape} for one image; a classifier of "
            f"{len(splits.classes)} classes gives (1, {len(splits.classes)})"
        )


def set_device(model: nn.Module, device: str) -> nn.Module:
    try:
        return model.to(device)
    except (ValueError, RuntimeError, ImportError) as error:
        raise UsageError(f"device {device!r} is not available: {error}") from error


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- demo ----------------------------------------------------------------------------------

DEMO = {"lr": 3e-3, "batch_size": 64, "shift": 2}


def demo(args: argparse.Namespace) -> int:
    """Train LeNet-5 on the bundled digits and write the report."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    set_num_threads(args.threads)
    manual_seed(args.seed)
    start = time.perf_counter()
    digits = load_splits("mnist", shift=DEMO["shift"])
    train_loader = DataLoader(digits.train, DEMO["batch_size"], shuffle=True, seed=args.seed)
    val_loader = DataLoader(digits.val, batch_size=500)
    test_loader = DataLoader(digits.test, batch_size=500)
    model = set_device(models.lenet5(), args.device)
    optimizer = optim.Adam(model.parameters(), lr=DEMO["lr"])
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    checkpoint_path = out / "lenet5.safetensors"
    checkpoint = ModelCheckpoint(checkpoint_path, metadata=checkpoint_metadata("lenet5", digits))
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"minicnn {__version__} demo: LeNet-5 ({parameters:,} parameters) on the bundled MNIST "
        f"digits: {len(digits.train):,} training, {len(digits.val)} validation, "
        f"{len(digits.test):,} test; {plural(args.epochs, 'epoch')}, seed {args.seed}",
        flush=True,
    )
    history = fit(
        model,
        train_loader,
        epochs=args.epochs,
        optimizer=optimizer,
        val_loader=val_loader,
        scheduler=scheduler,
        callbacks=[checkpoint],
        progress=not args.no_progress,
    )
    model.load_state_dict(load(checkpoint_path))  # the best validation epoch
    result = evaluate(model, test_loader)
    seconds = time.perf_counter() - start
    write_demo_report(out, model, digits, history, checkpoint, result, seconds, args)
    print(f"report: {out / 'report.html'} ({seconds:.0f} s)")
    print(f"test accuracy: {result.accuracy:.4f}")
    return 0


def write_demo_report(
    out: Path,
    model: nn.Module,
    digits: Splits,
    history: Any,
    checkpoint: ModelCheckpoint,
    result: Any,
    seconds: float,
    args: argparse.Namespace,
) -> Path:
    from . import plot  # imported here, not at start-up: matplotlib takes a second to load
    from .report import Report

    y, predicted = result.targets, result.predictions
    names = digits.classes
    counts = metrics.confusion_matrix(y, predicted, num_classes=len(names))
    table = metrics.classification_report(y, predicted, names, output_dict=True, zero_division=0.0)
    plot.training_curves(history, out / "curves.png")
    plot.confusion_matrix(counts, names, path=out / "confusion_matrix.png")
    test_images = digits.test.images
    plot.misclassified(
        test_images, y, predicted, names, result.outputs, path=out / "misclassified.png"
    )
    plot.filters(model, path=out / "filters.png")
    first_wrong = int(np.flatnonzero(y != predicted)[0]) if (y != predicted).any() else 0
    plot.activation_maps(
        model, "features.1", digits.test[first_wrong][0], path=out / "activations.png"
    )
    wrong = int((y != predicted).sum())
    report = Report(
        "minicnn demo: LeNet-5 reads handwritten digits",
        "A LeNet-5 convolutional network, written with minicnn's own layers and trained with its "
        "own backpropagation, learns to read the digits 0-9 from the MNIST sample bundled with "
        "minicnn. Every number and picture below comes from this run.",
    )
    report.section("Result")
    report.facts(
        {
            "test accuracy": f"{result.accuracy:.4f} ({len(y) - wrong} of {len(y)} test digits right)",
            "test macro average accuracy": f"{result.balanced_accuracy:.4f} (mean recall per digit)",
            "test loss": f"{result.loss:.4f} (cross-entropy)",
            "model kept": f"epoch {checkpoint.best_epoch} of {len(history)}, the best validation "
            f"macro average accuracy ({checkpoint.best:.4f})",
            "data": f"{len(digits.train):,} training digits (shifted by up to {DEMO['shift']} pixels "
            f"at random), {len(digits.val)} validation, {len(digits.test):,} test (never trained on)",
            "training": f"{plural(len(history), 'epoch')}, Adam (lr {DEMO['lr']}) with cosine annealing, "
            f"batches of {DEMO['batch_size']}, seed {args.seed}",
            "time": f"{seconds:.0f} s on {args.device} ({args.threads} BLAS thread(s))",
            "files": "lenet5.safetensors (the model kept); minicnn evaluate lenet5.safetensors tests it",
        }
    )
    report.section("Training curves")
    report.figure(
        "curves.png",
        "Loss (left) and accuracy (right) per epoch. Training numbers are averaged over each "
        "epoch's batches, on shifted digits while the weights still change; validation numbers "
        "are measured on 400 held-out training digits at the end of each epoch. Validation "
        "rising while training falls would mean overfitting.",
    )
    report.section("Confusion matrix")
    report.figure(
        "confusion_matrix.png",
        "Rows: the true digit; columns: the network's answer; each cell counts test digits. The "
        "diagonal holds the right answers, and a dark cell off it a pair of digits the network "
        "mixes up.",
    )
    report.section("Classification report")
    report.paragraph(
        "Per digit: precision (of the digits read as d, the fraction that are d), recall (of the "
        "digits d, the fraction found), their harmonic mean F1, and support (test digits of that "
        "class). The macro average weights every digit equally; the weighted one by support."
    )
    report.classification_report(table)
    report.section("Misclassified digits")
    report.figure(
        "misclassified.png",
        f"The {min(wrong, 32)} first of the {wrong} test digits the network gets wrong, with the "
        "true digit, the answer and the probability it gave that answer. Many are hard to read "
        "for people too.",
    )
    report.section("What the first layer learned")
    report.figure(
        "filters.png",
        "The six 5x5 filters of the first convolution (red positive, blue negative weights): "
        "edge and stroke detectors learned from the data.",
    )
    report.figure(
        "activations.png",
        "The first misclassified test digit and the six maps the first convolution and its ReLU "
        "make of it: each map lights up where its filter's pattern appears.",
    )
    report.section("Grad-CAM analysis of misclassified digits")
    report.paragraph(
        "Grad-CAM at each convolutional layer, as if it were the last: for a misclassified digit, "
        "where the network found the evidence for its wrong answer and where it would have found "
        "it for the right one, and the first layer at which the two maps part."
    )
    from .explain import misclassification_report_figures

    figures = misclassification_report_figures(
        model, test_images, y, predicted, out, 6, None, names
    )
    for filename, caption in figures:
        report.figure(filename, caption)
    if not figures:
        report.paragraph("No test digit is misclassified: there is no mistake to explain.")
    return report.write(out / "report.html")


def checkpoint_metadata(
    model_name: str, splits: Splits, num_classes: int | None = None
) -> dict[str, str]:
    """What ``minicnn evaluate`` needs to rebuild the model and its test data."""
    return {
        "minicnn.model": model_name,
        "minicnn.num_classes": str(num_classes or len(splits.classes)),
        "minicnn.in_channels": str(splits.in_channels),
        "minicnn.dataset": splits.name,
        "minicnn.dataset_options": json.dumps(splits.options),
        "minicnn.classes": json.dumps(splits.classes),
    }


# --- train, evaluate, summary --------------------------------------------------------------


def train(args: argparse.Namespace) -> int:
    """Train a model of the zoo on a dataset; the best validation epoch is saved."""
    set_num_threads(args.threads)
    manual_seed(args.seed)
    splits = load_splits(args.dataset, args.image_size, args.data_dir, args.shift)
    model = set_device(
        build_model(args.model, len(splits.classes), splits.in_channels), args.device
    )
    check_model_takes(model, args.model, splits)
    out = Path(args.out)
    path = out / f"{args.model}.safetensors"
    checkpoint = ModelCheckpoint(path, metadata=checkpoint_metadata(args.model, splits))
    if args.optimizer == "adam":
        optimizer = optim.Adam(model.parameters(), lr=args.lr)
    else:
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    print(
        f"training {args.model} on {splits.name}: {len(splits.train)} training, "
        f"{len(splits.val)} validation, {len(splits.test)} test images",
        flush=True,
    )
    history = fit(
        model,
        DataLoader(splits.train, args.batch_size, shuffle=True, seed=args.seed),
        epochs=args.epochs,
        optimizer=optimizer,
        val_loader=DataLoader(splits.val, batch_size=250),
        scheduler=optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs),
        callbacks=[checkpoint],
        progress=not args.no_progress,
    )
    from . import plot

    (out / "history.json").write_text(json.dumps(history.to_dict(), indent=1))
    plot.training_curves(history, out / "curves.png")
    model.load_state_dict(load(path))
    result = evaluate(model, DataLoader(splits.test, batch_size=250))
    print(f"checkpoint: {path} (epoch {checkpoint.best_epoch})")
    print(f"test accuracy: {result.accuracy:.4f}")
    return 0


def read_checkpoint(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise UsageError(f"no checkpoint file {str(path)!r}")
    try:
        return load_metadata(path)
    except CheckpointError as error:
        raise UsageError(str(error)) from error


def load_checkpoint_model(args: argparse.Namespace) -> tuple[str, nn.Module, Splits]:
    """The model of a checkpoint of ``minicnn train`` or ``demo``, with its dataset's splits."""
    path = Path(args.checkpoint)
    info = read_checkpoint(path)
    model_name = args.model or info.get("minicnn.model")
    dataset = args.dataset or info.get("minicnn.dataset")
    if model_name is None or dataset is None:
        raise UsageError(
            f"{path} does not say which model and dataset it is for (it was not written by "
            "minicnn train or demo); give --model and --dataset"
        )
    options = json.loads(info.get("minicnn.dataset_options", "{}"))
    if args.data_dir is not None:
        options["data_dir"] = args.data_dir
    splits = load_splits(dataset, options.get("image_size", 28), options.get("data_dir"))
    model = set_device(
        build_model(model_name, len(splits.classes), splits.in_channels), args.device
    )
    try:
        model.load_state_dict(load(path))
    except (RuntimeError, CheckpointError) as error:
        details = " ".join(line.strip() for line in str(error).splitlines()[1:3])
        raise UsageError(f"{path} is not a checkpoint of model {model_name}: {details}") from error
    check_model_takes(model, model_name, splits)
    return model_name, model, splits


def evaluate_command(args: argparse.Namespace) -> int:
    """Test a checkpoint of ``minicnn train`` or ``minicnn demo`` on its dataset's test part."""
    set_num_threads(args.threads)
    model_name, model, splits = load_checkpoint_model(args)
    result = evaluate(model, DataLoader(splits.test, batch_size=250), progress=not args.no_progress)
    print(f"{model_name} on the {len(splits.test)} test images of {splits.name}")
    print(
        metrics.classification_report(
            result.targets, result.predictions, splits.classes, digits=4, zero_division=0.0
        )
    )
    print(f"test accuracy: {result.accuracy:.4f}")
    return 0


def explain_command(args: argparse.Namespace) -> int:
    """Grad-CAM at every convolutional layer for the first misclassified test images."""
    from . import explain
    from .explain.cam import FORMULAS

    if args.method not in FORMULAS:
        raise UsageError(f"unknown method {args.method!r}; the methods are: {', '.join(FORMULAS)}")
    set_num_threads(args.threads)
    model_name, model, splits = load_checkpoint_model(args)
    result = evaluate(model, DataLoader(splits.test, batch_size=250), progress=not args.no_progress)
    wrong = np.flatnonzero(result.predictions != result.targets)
    chosen = (wrong if wrong.size else np.arange(len(splits.test)))[: args.count]
    images, labels = splits.test.get_batch(chosen)[:2]
    out = Path(args.out)
    figures = explain.explain_figures(
        model, images, out, labels, class_names=splits.classes, method=args.method
    )
    kind = "misclassified" if wrong.size else "test (none misclassified)"
    print(f"{model_name}: {args.method} of {plural(len(chosen), kind + ' image')}")
    for name, caption in figures:
        print(f"{out / name}: {caption}")
    return 0


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise UsageError(f"--input must be C,H,W (three positive integers), got {text!r}")
    return shape


def summary_command(args: argparse.Namespace) -> int:
    """Print the layers of a model with their output shapes and parameter counts."""
    shape = parse_shape(args.input)
    try:
        from .summary import summary as summarize
    except ImportError as error:
        raise UsageError("this version of minicnn has no minicnn.summary yet") from error
    model = build_model(args.name, args.num_classes, shape[0])
    try:
        text = summarize(model, shape)
    except (ValueError, TypeError, RuntimeError) as error:
        message = str(error).splitlines()[0]
        raise UsageError(f"model {args.name} does not take {shape} inputs: {message}") from error
    print(text)
    return 0


# --- the parser ----------------------------------------------------------------------------


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="minicnn",
        description="minicnn: a from-scratch deep-learning framework in NumPy.",
    )
    main_parser.add_argument("--version", action="version", version=f"minicnn {__version__}")
    commands = main_parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--threads",
            type=positive,
            default=1,
            help="BLAS threads (default 1: fastest for small models)",
        )
        sub.add_argument("--device", default="cpu", help="cpu (default) or cuda")
        sub.add_argument("--no-progress", action="store_true", help="no progress bars")

    sub = commands.add_parser("demo", help="train LeNet-5 on the bundled digits, write report.html")
    sub.add_argument("--out", default="minicnn-demo", help="output folder (default ./minicnn-demo)")
    sub.add_argument("--epochs", type=positive, default=20, help="epochs (default 20)")
    sub.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    common(sub)
    sub.set_defaults(run=demo)

    sub = commands.add_parser("train", help="train a model of the zoo and save a checkpoint")
    sub.add_argument("--model", required=True, help=f"one of {', '.join(model_names())}")
    sub.add_argument(
        "--dataset", required=True, help="mnist, shapes or the path of an image folder"
    )
    sub.add_argument(
        "--data-dir", default=None, help="the official MNIST files (default: the bundled sample)"
    )
    sub.add_argument("--epochs", type=positive, default=5)
    sub.add_argument("--lr", type=float, default=1e-3)
    sub.add_argument("--batch-size", type=positive, default=64)
    sub.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    sub.add_argument(
        "--image-size",
        type=positive,
        default=28,
        help="shapes and folders: resize to this (default 28)",
    )
    sub.add_argument(
        "--shift", type=int, default=2, help="random shifts of up to this many pixels (default 2)"
    )
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument(
        "--out", default="minicnn-train", help="output folder (default ./minicnn-train)"
    )
    common(sub)
    sub.set_defaults(run=train)

    sub = commands.add_parser("evaluate", help="test a checkpoint written by train or demo")
    sub.add_argument("checkpoint", help="a .safetensors file")
    sub.add_argument("--model", default=None, help="the model (default: from the checkpoint)")
    sub.add_argument("--dataset", default=None, help="the dataset (default: from the checkpoint)")
    sub.add_argument("--data-dir", default=None)
    common(sub)
    sub.set_defaults(run=evaluate_command)

    sub = commands.add_parser(
        "explain", help="Grad-CAM at every layer for the misclassified test images of a checkpoint"
    )
    sub.add_argument("checkpoint", help="a .safetensors file")
    sub.add_argument("--out", default="minicnn-explain", help="folder for the pictures")
    sub.add_argument("--count", type=positive, default=4, help="how many images")
    sub.add_argument("--method", default="gradcam", help="gradcam, hirescam, layercam, ...")
    sub.add_argument("--model", default=None, help="the model (default: from the checkpoint)")
    sub.add_argument("--dataset", default=None, help="the dataset (default: from the checkpoint)")
    sub.add_argument("--data-dir", default=None)
    common(sub)
    sub.set_defaults(run=explain_command)

    sub = commands.add_parser("summary", help="layers, output shapes and parameters of a model")
    sub.add_argument("name", help=f"one of {', '.join(model_names())}")
    sub.add_argument("--input", required=True, help="input shape C,H,W, e.g. 1,28,28")
    sub.add_argument("--num-classes", type=positive, default=None)
    sub.set_defaults(run=summary_command)

    # parsed by minicnn.assignment's own parser (see main); listed here for --help
    commands.add_parser("assignment", help="coursework: list, make and grade assignments")
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["assignment"]:
        from .assignment import main as assignment_main

        return assignment_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"minicnn: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("minicnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
