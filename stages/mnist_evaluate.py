"""Stage mnist_evaluate: test-set metrics, per-image predictions and the figures."""
import argparse
import csv
from pathlib import Path

from dllab.cli import record_timing, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--model", default="models/mnist/model.pt")
    parser.add_argument("--history", default="reports/mnist/train_history.csv")
    parser.add_argument("--out", default="reports/mnist", help="folder for metrics.json, details.json, predictions.csv, figures/")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = parser.parse_args()

    from dllab.files import atomic_dir, atomic_path, write_json
    from dllab.history import read_history
    from dllab.mnist import figures
    from dllab.mnist.evaluate import evaluate
    from dllab.runtime import machine_description, pick_device

    device = pick_device(args.device)
    r = evaluate(args.model, args.data, device)
    out = Path(args.out)
    with atomic_dir(out / "figures") as folder:
        figures.training_curves(read_history(args.history), folder / "training_curves.png")
        figures.confusion(r.details["confusion_matrix"], folder / "confusion_matrix.png")
        figures.digit_grid(r.images, r.labels, r.predictions, r.confidences,
                           figures.sample_indices(r.labels, r.predictions, 40),
                           "Test digits: true / predicted label (mistakes in red)", folder / "predictions.png")
        figures.digit_grid(r.images, r.labels, r.predictions, r.confidences,
                           figures.worst_mistakes(r.labels, r.predictions, r.confidences, 24),
                           "Most confident mistakes", folder / "worst_mistakes.png")
    with atomic_path(out / "predictions.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["actual", "predicted"])
        writer.writerows(zip(r.labels.tolist(), r.predictions.tolist()))
    write_json(out / "details.json", {**r.details, "machine": machine_description(device)})
    write_json(out / "metrics.json", r.metrics)
    record_timing(inference_images_per_second=r.inference_images_per_second)
    print(f"test accuracy {r.metrics['test_accuracy']:.4f}, test loss {r.metrics['test_loss']:.4f}, "
          f"{r.metrics['test_errors']} mistakes")


if __name__ == "__main__":
    run(main)
