#!/usr/bin/env python3
"""Reads a run folder's TensorBoard event files with tensorboard's own loader and prints
{"tags": {tag: [[step, value], ...]}, "files": N} as JSON. Exit code 3 when tensorboard is absent."""
import json
import sys

try:
    from tensorboard.backend.event_processing import event_accumulator
except ImportError:
    print("the tensorboard Python package is not installed (pip install tensorboard)", file=sys.stderr)
    sys.exit(3)

acc = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
acc.Reload()
tags = {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
print(json.dumps({"tags": tags}))
