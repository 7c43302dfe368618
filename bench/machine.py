"""What the benchmark scripts share: the CPU's name, and a run folder's epoch times."""
import csv
import os


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def epoch_seconds(run_dir):
    """history.csv's `seconds` (the training steps of each epoch, timed by the library)."""
    with open(os.path.join(run_dir, "history.csv")) as f:
        return [float(r["seconds"]) for r in csv.DictReader(f)]
