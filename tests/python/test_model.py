"""dltrain.Model against the library's own CLI and against itself: fit, predict, evaluate, save,
load, seeds, the run folder, and Ctrl-C."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dltrain
from conftest import assert_same_weights, tensors


def test_fit_predict_evaluate_save_load(fashion, tmp_path):
    x, y, xt, yt, info = fashion
    model = dltrain.Model("cnn", labels=info["class_names"])
    hist = model.fit(x[:3000], y[:3000], epochs=2, validation_data=(xt[:1000], yt[:1000]), run_dir=tmp_path / "run",
                     verbose=0, threads=2)
    assert len(hist.history["val_accuracy"]) == 2 and hist.epoch == [0, 1]
    assert hist.history["val_accuracy"][-1] > 0.6, hist.history  # chance is 0.1
    assert (tmp_path / "run" / "checkpoint.safetensors").exists() and (tmp_path / "run" / "history.csv").exists()
    probs = model.predict(xt[:100])
    assert probs.shape == (100, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    loss, accuracy = model.evaluate(xt[:1000], yt[:1000])
    assert accuracy == pytest.approx(hist.history["val_accuracy"][-1])  # the same images, the same model
    assert accuracy == pytest.approx(float((probs.argmax(1) == yt[:100]).mean()), abs=0.15)
    model.save(tmp_path / "m.safetensors")
    again = dltrain.load(tmp_path / "m.safetensors")
    assert again.labels == info["class_names"] and again.input_shape == (28, 28, 1)
    assert again.predict(xt[:100]).tobytes() == probs.tobytes()
    # A run folder loads as the CLI's predict finds it; float input is the model's input as it is.
    from_run = dltrain.load(tmp_path / "run")
    floats = (xt[:100].astype(np.float32) / np.float32(255))
    np.testing.assert_allclose(from_run.predict(floats), probs, atol=1e-6)
    with pytest.raises(dltrain.Error, match="NumPy arrays"):
        dltrain.report(tmp_path / "run")
    page = dltrain.report(tmp_path / "run", data=(xt[:500], yt[:500]))
    assert page.endswith("report.html") and (tmp_path / "run" / "confusion.svg").exists()


def test_second_fit_continues_the_run(fashion, tmp_path):
    x, y, *_ = fashion
    model = dltrain.Model("mlp", seed=3)
    model.fit(x[:1000], y[:1000], epochs=1, run_dir=tmp_path / "run", verbose=0)
    hist = model.fit(x[:1000], y[:1000], epochs=2, verbose=0)
    assert hist.epoch == [1, 2] and model.run_dir == str(tmp_path / "run")
    lines = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(lines) == 1 + 3


def test_same_seed_same_weights_as_the_cli(fashion, cli, tmp_path):
    x, y, *_ = fashion
    cli("train", "--model", "cnn", "--data", "fashion-mnist", "--limit", 1500, "--epochs", 2, "--batch", 32,
        "--seed", 7, "--threads", 1, "--no-validation", "--no-report", "-q", "--run-dir", tmp_path / "cli")
    model = dltrain.Model("cnn", seed=7)
    model.fit(x[:1500], y[:1500], epochs=2, batch_size=32, threads=1, run_dir=tmp_path / "py", verbose=0)
    assert_same_weights(tmp_path / "cli" / "model.safetensors", tmp_path / "py" / "model.safetensors")
    # and a second Python run with that seed is the same again
    dltrain.Model("cnn", seed=7).fit(x[:1500], y[:1500], epochs=2, threads=1, run_dir=tmp_path / "py2", verbose=0)
    assert_same_weights(tmp_path / "py" / "model.safetensors", tmp_path / "py2" / "model.safetensors")
    # the CLI evaluates and predicts with the Python-trained model file
    r = cli("eval", tmp_path / "py" / "model.safetensors", "--data", "fashion-mnist")
    assert "accuracy" in r.stdout.lower()


def test_keyboard_interrupt_leaves_a_resumable_run(fashion, tmp_path):
    x, y, *_ = fashion
    x, y = x[:2000], y[:2000]
    dltrain.Model("cnn", seed=5).fit(x, y, epochs=3, threads=1, run_dir=tmp_path / "whole", verbose=0)

    def interrupt(epoch, logs):
        if epoch == 0:
            raise KeyboardInterrupt

    model = dltrain.Model("cnn", seed=5)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, threads=1, run_dir=tmp_path / "cut", verbose=0, callbacks=[interrupt])
    assert model.run_dir == str(tmp_path / "cut")
    assert len((tmp_path / "cut" / "history.csv").read_text().splitlines()) == 2  # header + epoch 1
    # A new process would do the same: a fresh Model resumes the folder.
    hist = dltrain.Model("cnn").fit(x, y, epochs=3, threads=1, run_dir=tmp_path / "cut", resume=True, verbose=0)
    assert hist.epoch == [0, 1, 2] and hist.done
    assert_same_weights(tmp_path / "whole" / "checkpoint.safetensors", tmp_path / "cut" / "checkpoint.safetensors")


def test_ctrl_c_stops_at_the_next_batch(fashion, tmp_path):
    """A real SIGINT, delivered while the C++ training runs: KeyboardInterrupt in Python, the
    finished epoch saved, and the process ends at once rather than after the epoch."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(f"""
        import sys, dltrain
        (x, y), _ = dltrain.datasets.load("fashion-mnist")
        def first(epoch, logs):
            print("epoch", epoch, flush=True)
        try:
            dltrain.Model("mlp").fit(x, y, epochs=50, threads=1, run_dir={str(tmp_path / 'run')!r}, verbose=0,
                                     callbacks=[first])
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
            sys.exit(3)
    """))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "epoch 0"
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 3 and "KeyboardInterrupt" in out
    lines = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert 2 <= len(lines) <= 3  # epoch 1, perhaps 2 if the signal came as it ended; never all 50


def test_fit_leaves_the_callers_threads_alone(fashion, tmp_path):
    x, y, *_ = fashion
    before = dltrain._core._omp_threads()
    dltrain.Model("mlp").fit(x[:500], y[:500], epochs=1, threads=1, run_dir=tmp_path / "r", verbose=0)
    assert dltrain._core._omp_threads() == before


def test_callbacks_and_progress(fashion, tmp_path, capsys):
    x, y, *_ = fashion
    seen = []

    class Keeper:
        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, sorted(logs)))

    dltrain.Model("mlp").fit(x[:640], y[:640], epochs=2, run_dir=tmp_path / "r", callbacks=[Keeper()])
    assert seen == [(0, ["accuracy", "loss", "lr"]), (1, ["accuracy", "loss", "lr"])]
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "\r" in out and "20/20" in out
    dltrain.Model("mlp").fit(x[:640], y[:640], epochs=1, run_dir=tmp_path / "q", verbose=0)
    assert capsys.readouterr().out == ""


def test_doctor_matches_the_cli(cli):
    import json

    d = dltrain.doctor(smoke=False)
    c = json.loads(cli("doctor", "--json", "--no-smoke").stdout)
    assert d["cpu"]["model"] == c["cpu"]["model"]
    assert d["kernels"]["gemm"] == c["kernels"]["gemm"] in ("sse2", "avx2", "avx512")
    assert isinstance(d["cuda"]["gpus"], list)


def test_a_fresh_model_resumes_a_folder_with_its_classes(fashion, tmp_path):
    x, y, *_ = fashion
    three = y < 3  # a 3-class run: a fresh Model() (10 default labels) must take the folder's 3
    xs, ys = x[three][:600], y[three][:600]
    dltrain.Model("mlp", labels=["a", "b", "c"]).fit(xs, ys, epochs=1, run_dir=tmp_path / "r", verbose=0)
    model = dltrain.Model("mlp")
    model.fit(xs, ys, epochs=2, run_dir=tmp_path / "r", resume=True, verbose=0)
    assert model.labels == ["a", "b", "c"] and model.predict(xs[:2]).shape == (2, 3)


def test_grad_accum_is_the_larger_batch(fashion, tmp_path):
    x, y, *_ = fashion
    a = dltrain.Model("mlp", seed=2)
    a.fit(x[:640], y[:640], epochs=1, batch_size=32, threads=1, run_dir=tmp_path / "a", verbose=0)
    b = dltrain.Model("mlp", seed=2)
    b.fit(x[:640], y[:640], epochs=1, batch_size=16, grad_accum=2, threads=1, run_dir=tmp_path / "b", verbose=0)
    ta, tb = tensors(tmp_path / "a" / "model.safetensors"), tensors(tmp_path / "b" / "model.safetensors")
    assert max(float(np.abs(ta[k] - tb[k]).max()) for k in ta) < 1e-5


def test_the_model_is_not_used_while_it_trains(fashion, tmp_path):
    x, y, xt, *_ = fashion
    model = dltrain.Model("mlp")
    seen = []

    def peek(epoch, logs):
        with pytest.raises(dltrain.Error, match="is training"):
            model.predict(xt[:2])
        with pytest.raises(dltrain.Error, match="already training"):
            model.fit(x[:64], y[:64], verbose=0)
        seen.append(epoch)

    model.fit(x[:256], y[:256], epochs=2, run_dir=tmp_path / "r", verbose=0, callbacks=[peek])
    assert seen == [0, 1] and model.predict(xt[:2]).shape == (2, 10)


def test_threads_predicting_on_one_model_get_its_answers(fashion, tmp_path):
    import threading

    x, y, xt, *_ = fashion
    model = dltrain.Model("mlp")
    model.fit(x[:256], y[:256], epochs=1, run_dir=tmp_path / "r", verbose=0)
    want = [model.predict(xt[i * 500:(i + 1) * 500]) for i in range(4)]
    got = [None] * 4

    def work(i):
        got[i] = model.predict(xt[i * 500:(i + 1) * 500])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(g.tobytes() == w.tobytes() for g, w in zip(got, want))


def test_a_refused_fit_leaves_other_runs_alone(fashion, tmp_path):
    x, y, *_ = fashion
    dltrain.Model("mlp").fit(x[:64], y[:64], epochs=1, run_dir=tmp_path / "taken", verbose=0)
    other = dltrain.Model("cnn")
    with pytest.raises(dltrain.Error, match="already holds a run"):
        other.fit(x[:64], y[:64], epochs=1, run_dir=tmp_path / "taken", verbose=0)
    assert other.run_dir is None and other.spec == "cnn"
    # The model's own folder again (a notebook cell run twice) continues its run.
    mine = dltrain.Model("mlp")
    mine.fit(x[:64], y[:64], epochs=1, run_dir=tmp_path / "mine", verbose=0)
    mine.fit(x[:64], y[:64], epochs=1, run_dir=tmp_path / "mine", verbose=0)
    assert len((tmp_path / "mine" / "history.csv").read_text().splitlines()) == 3


def test_label_mistakes_are_caught_before_any_work(fashion):
    x, *_ = fashion
    with pytest.raises(ValueError, match="classes=N"):
        dltrain.Model("mlp").fit(x[:4], np.array([0, 1, 2, 2**31 - 1]), verbose=0)
    with pytest.raises(ValueError, match="beyond any model"):
        dltrain.Model("mlp").fit(x[:2], np.array([0, 2**63], dtype=np.uint64), verbose=0)
    with pytest.raises(ValueError, match="distinct"):
        dltrain.Model("mlp", labels=["a", "a"])
    with pytest.raises(ValueError, match="validation x holds images of"):
        dltrain.Model("mlp").fit(x[:4], np.arange(4) % 2, validation_data=(np.zeros((2, 32, 32, 3), np.uint8), [0, 1]))
    big_endian = (np.arange(4) % 2).astype(">i4")
    assert dltrain.Model("mlp").evaluate(x[:4], big_endian)[1] >= 0
