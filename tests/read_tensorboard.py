#!/usr/bin/env python3
"""Reads a run folder's TensorBoard event files with tensorboard's own loader and prints
{"tags": {tag: [[step, value], ...]}, "files": N, "session_starts": [step, ...]} as JSON: the
scalars EventAccumulator keeps (after its purges), how many events.out.tfevents.* files there are,
and the steps of SessionLog START events in the raw records. Exit code 3 when tensorboard is absent."""
import glob
import json
import os
import sys

try:
    from tensorboard.backend.event_processing import event_accumulator, event_file_loader
except ImportError:
    print("the tensorboard Python package is not installed (pip install tensorboard)", file=sys.stderr)
    sys.exit(3)

acc = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
acc.Reload()
tags = {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
files = sorted(glob.glob(os.path.join(sys.argv[1], "events.out.tfevents.*")))
starts = []
for f in files:
    for event in event_file_loader.EventFileLoader(f).Load():
        if event.HasField("session_log") and event.session_log.status == event.session_log.START:
            starts.append(event.step)
print(json.dumps({"tags": tags, "files": len(files), "session_starts": starts}))
