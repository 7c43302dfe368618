// dltrain.Model's engine: a network (built from a preset or text, or loaded from a file) and its
// training on NumPy arrays through the library's Trainer, on a worker thread so that the GIL is
// free, progress reaches Python and Ctrl-C stops at the next batch.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "bindings.hpp"
#include "dltrain/models.hpp"
#include "dltrain/path.hpp"
#include "dltrain/train.hpp"

namespace dltrain::python {
namespace {

nb::dict epoch_dict(const EpochStats& e) {
  nb::dict d;
  d["epoch"] = e.epoch;
  d["steps"] = e.steps;
  d["loss"] = e.loss;
  d["accuracy"] = e.accuracy;
  if (e.validated) {
    d["val_loss"] = e.val_loss;
    d["val_accuracy"] = e.val_accuracy;
  }
  d["lr"] = e.lr;
  d["seconds"] = e.seconds;
  d["val_seconds"] = e.val_seconds;
  return d;
}

nb::dict step_dict(const StepStats& s) {
  nb::dict d;
  d["epoch"] = s.epoch;
  d["epochs"] = s.epochs;
  d["step"] = s.step;
  d["steps"] = s.steps;
  d["loss"] = s.loss;
  d["accuracy"] = s.accuracy;
  d["seconds"] = s.seconds;
  d["lr"] = s.lr;
  return d;
}

// What the training thread tells the Python thread. Step stats are coalesced (only the newest is
// kept, read when the Python thread looks, every 50 ms: a wake-up per step cost a training thread
// its core); epoch ends wait until Python has seen them, so a callback may stop the run there.
class Channel {
 public:
  struct EpochBegin {
    int64_t epoch, epochs, steps;
  };
  void epoch_begin(EpochBegin b) {
    std::lock_guard lk(mu_);
    begins_.push_back(b);
    cv_.notify_all();
  }
  void step(const StepStats& s) {  // no wake-up: the Python thread picks the newest up at its next look
    std::lock_guard lk(mu_);
    step_ = s;
  }
  void epoch_end(const EpochStats& e) {
    std::unique_lock lk(mu_);
    end_ = e;
    cv_.notify_all();
    cv_.wait(lk, [&] { return !end_ || stop_; });
  }
  void finish() {
    std::lock_guard lk(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void request_stop() {
    std::lock_guard lk(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  bool stop_requested() {
    std::lock_guard lk(mu_);
    return stop_;
  }
  // Waits (at most `wait`) for something to report; returns what there is.
  struct News {
    std::vector<EpochBegin> begins;
    std::optional<StepStats> step;
    std::optional<EpochStats> end;
    bool done = false;
  };
  News take(std::chrono::milliseconds wait) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, wait, [&] { return done_ || !begins_.empty() || end_; });
    News n;
    n.begins.assign(begins_.begin(), begins_.end());
    begins_.clear();
    n.step = std::exchange(step_, std::nullopt);
    n.end = end_;  // released by seen_epoch_end, after Python has run its callbacks
    n.done = done_;
    return n;
  }
  void seen_epoch_end() {
    std::lock_guard lk(mu_);
    end_.reset();
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<EpochBegin> begins_;
  std::optional<StepStats> step_;
  std::optional<EpochStats> end_;
  bool done_ = false, stop_ = false;
};

class PyModel {
 public:
  PyModel(const std::string& spec, const std::vector<int64_t>& input_shape, const std::vector<std::string>& labels,
          uint64_t seed)
      : spec_(spec) {
    if (input_shape.size() != 3) throw Error("input_shape must be (H, W, C)");
    if (labels.size() < 2) throw Error("a classifier needs at least 2 classes");
    m_.model = naming("model", [&] {
      return build_model(spec, Shape(std::span<const int64_t>(input_shape)), int64_t(labels.size()));
    });
    m_.model->init_params(seed);
    m_.info.title = m_.model->title;
    m_.info.labels = labels;
  }
  explicit PyModel(LoadedModel loaded) : m_(std::move(loaded)) {}
  // What load() returns is moved into its Python object (a fresh lock; it is not training).
  PyModel(PyModel&& o) noexcept
      : spec_(std::move(o.spec_)), m_(std::move(o.m_)), run_dir_(std::move(o.run_dir_)), epochs_done_(o.epochs_done_) {}

  static PyModel load(const std::string& what) { return PyModel(load_model(find_model(what))); }

  std::string summary() const { return dltrain::summary(*m_.model); }
  std::string spec() const { return spec_.empty() ? m_.model->spec : spec_; }
  std::vector<std::string> labels() const { return m_.info.labels; }
  std::vector<int64_t> input_shape() const {
    const auto d = m_.model->input_shape().dims();
    return {d.begin(), d.end()};
  }
  std::string run_dir() const { return run_dir_; }
  std::string dataset() const { return m_.info.dataset; }
  int64_t epochs_done() const { return epochs_done_; }

  void save(const std::string& path) {
    refuse_while_training("save");
    nb::gil_scoped_release nogil;
    std::lock_guard lk(mu_);
    save_model(path, *m_.model, m_.info);
  }

  nb::object predict(const HostArray& x, int64_t batch) {
    refuse_while_training("predict");
    Tensor images = image_tensor(x, "x");
    Tensor probs;
    {
      nb::gil_scoped_release nogil;
      std::lock_guard lk(mu_);  // the model's layers keep their activations: one caller at a time
      probs = predict_batch(*m_.model, images, m_.info.preprocessing, batch);
    }
    return to_numpy(std::move(probs));
  }

  nb::dict evaluate(const HostArray& x, const HostArray& y, int64_t batch) {
    refuse_while_training("evaluate");
    Dataset d;
    d.images = image_tensor(x, "x");
    d.labels = labels_vector(y, "y", m_.model->n_classes());
    if (d.size() != d.images.shape()[0]) throw Error("x holds " + std::to_string(d.images.shape()[0]) +
                                                     " images but y " + std::to_string(d.size()) + " labels");
    EvalResult r;
    {
      nb::gil_scoped_release nogil;
      std::lock_guard lk(mu_);
      r = dltrain::evaluate(*m_.model, d, m_.info.preprocessing, batch);
    }
    nb::dict out;
    out["loss"] = r.loss;
    out["accuracy"] = r.accuracy;
    out["samples"] = r.samples;
    return out;
  }

  nb::dict fit(const HostArray& x, const HostArray& y, const std::optional<HostArray>& x_val,
               const std::optional<HostArray>& y_val, const std::vector<std::string>& class_names, TrainConfig config,
               std::string run_dir, bool resume, Device device, nb::callable on_event);

 private:
  // While fit runs, the model object is about to be replaced by the run's: using it (from a
  // callback, or another thread) would see the weights from before fit, so it is refused.
  void refuse_while_training(const char* what) const {
    if (training_)
      throw Error(std::string("this model is training: ") + what + " waits until fit returns",
                  "in a callback, logs holds the epoch's figures; the run folder's model.safetensors is the last "
                  "finished epoch (dltrain.load(run_dir))");
  }

  std::string spec_;  // as given (a preset name stays a name); empty for a loaded model
  LoadedModel m_;
  std::string run_dir_;
  int64_t epochs_done_ = 0;
  std::mutex mu_;                   // held (without the GIL) while the network computes or is replaced
  std::atomic<bool> training_{false};
};

Dataset array_split(const HostArray& x, const HostArray& y, const char* xs, const char* ys,
                    const std::vector<std::string>& class_names) {
  Dataset d;
  d.images = image_tensor(x, xs);
  d.labels = labels_vector(y, ys, int64_t(class_names.size()));
  d.class_names = class_names;
  if (d.size() != d.images.shape()[0])
    throw Error(std::string(xs) + " holds " + std::to_string(d.images.shape()[0]) + " images but " + ys + " " +
                std::to_string(d.size()) + " labels");
  return d;
}

nb::dict PyModel::fit(const HostArray& x, const HostArray& y, const std::optional<HostArray>& x_val,
                      const std::optional<HostArray>& y_val, const std::vector<std::string>& class_names,
                      TrainConfig config, std::string run_dir, bool resume, Device device, nb::callable on_event) {
  if (x_val.has_value() != y_val.has_value()) throw Error("validation_data must be (x, y)");
  if (training_.exchange(true)) throw Error("this model is already training (fit was called again before it returned)");
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag = false; }
  } done_training{training_};
  const bool continuing = resume || (!run_dir_.empty() && (run_dir.empty() || run_dir == run_dir_));
  if (!continuing && spec_.empty())
    throw Error("this model was loaded from a file; dltrain trains a model from its definition",
                "dltrain.Model(loaded.spec) starts a new run of the same network");
  config.data = array_data_name;
  config.validate = x_val.has_value();
  if (!continuing) config.model = spec_;
  if (run_dir.empty()) run_dir = continuing ? run_dir_ : new_run_dir("runs", config);
  if (continuing && run_dir.empty()) throw Error("resume=True needs run_dir (the run folder to continue)");
  // A continued run keeps its classes (a fresh Model() resuming a folder does not know them).
  std::vector<std::string> names = class_names;
  if (continuing && is_file(run_dir + "/model.safetensors")) names = load_model(run_dir + "/model.safetensors").info.labels;
  // The arrays stay referenced by this call's arguments while the tensors below borrow them.
  DatasetSplits data;
  data.name = array_data_name;
  data.train = array_split(x, y, "x", "y", names);
  if (x_val) data.test = array_split(*x_val, *y_val, "validation x", "validation y", names);
  // Continuing this model's own run trains `epochs` more; resume=True completes the run's total.
  const int64_t total = resume ? config.epochs : epochs_done_ + config.epochs;
  if (!continuing) complete_new_run(config, true, true);

  Channel channel;
  std::vector<EpochStats> history;
  bool done = false, started = false;
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      std::unique_ptr<Trainer> t = continuing ? Trainer::resume(run_dir, std::move(data), total)
                                              : std::make_unique<Trainer>(config, std::move(data), run_dir);
      t->use_device(device);
      started = true;  // the folder is this model's run from here on
      TrainCallbacks cb;
      cb.epoch_begin = [&](int64_t e, int64_t n, int64_t steps) { channel.epoch_begin({e, n, steps}); };
      cb.step = [&](const StepStats& s) { channel.step(s); };
      cb.epoch_end = [&](const EpochStats& e) { channel.epoch_end(e); };
      cb.stop_requested = [&] { return channel.stop_requested(); };
      done = t->fit(cb);
      history = t->history();
    } catch (...) {
      failure = std::current_exception();
    }
    channel.finish();
  });

  std::optional<nb::python_error> python_failure;  // Ctrl-C, or an exception from a callback
  const auto call = [&](const char* kind, nb::object payload) {
    if (python_failure) return;
    try {
      on_event(kind, payload);
    } catch (nb::python_error& e) {
      python_failure.emplace(std::move(e));
      channel.request_stop();
    }
  };
  const auto follow = [&] {  // until the training thread ends
    for (bool finished = false; !finished;) {
      Channel::News news;
      {
        nb::gil_scoped_release nogil;
        news = channel.take(std::chrono::milliseconds(50));
      }
      if (PyErr_CheckSignals() != 0 && !python_failure) {  // KeyboardInterrupt: stop at the next batch
        python_failure.emplace();
        channel.request_stop();
      }
      for (const auto& b : news.begins) call("epoch_begin", nb::make_tuple(b.epoch, b.epochs, b.steps));
      if (news.step) call("step", step_dict(*news.step));
      if (news.end) {
        call("epoch_end", epoch_dict(*news.end));
        channel.seen_epoch_end();
      }
      finished = news.done;
    }
  };
  try {
    follow();
  } catch (...) {  // anything else going wrong here (a MemoryError): stop the training, then report it
    channel.request_stop();
    nb::gil_scoped_release nogil;
    worker.join();
    throw;
  }
  {
    nb::gil_scoped_release nogil;
    worker.join();
  }
  // Once the run started, this object stands for its last saved state, however it ended.
  if (started && is_file(run_dir + "/checkpoint.safetensors")) {
    LoadedModel saved = load_model(run_dir + "/model.safetensors");
    nb::gil_scoped_release nogil;
    std::lock_guard lk(mu_);
    m_ = std::move(saved);
    run_dir_ = run_dir;
    epochs_done_ = int64_t(read_history(run_dir).size());
  }
  if (spec_.empty()) spec_ = m_.model->spec;
  if (failure) std::rethrow_exception(failure);
  if (python_failure) throw std::move(*python_failure);
  nb::list epochs;
  for (const EpochStats& e : history) epochs.append(epoch_dict(e));
  nb::dict out;
  out["history"] = epochs;
  out["done"] = done;
  out["run_dir"] = run_dir;
  return out;
}

TrainConfig train_config(int64_t epochs, int64_t batch, int64_t grad_accum, const std::string& optim,
                         const std::string& schedule, uint64_t seed, int threads) {
  TrainConfig c;
  c.epochs = epochs;
  c.batch = batch;
  c.grad_accum = grad_accum;
  c.optim = optim;
  c.schedule = schedule;
  c.seed = seed;
  c.threads = threads;
  return c;
}

}  // namespace

void bind_model(nb::module_& m) {
  nb::class_<PyModel>(m, "Model")
      .def(nb::init<const std::string&, const std::vector<int64_t>&, const std::vector<std::string>&, uint64_t>(),
           nb::arg("spec"), nb::arg("input_shape"), nb::arg("labels"), nb::arg("seed"))
      .def_static("load", &PyModel::load, nb::arg("path"))
      .def("summary", &PyModel::summary)
      .def_prop_ro("spec", &PyModel::spec)
      .def_prop_ro("labels", &PyModel::labels)
      .def_prop_ro("input_shape", &PyModel::input_shape)
      .def_prop_ro("run_dir", &PyModel::run_dir)
      .def_prop_ro("dataset", &PyModel::dataset)
      .def_prop_ro("epochs_done", &PyModel::epochs_done)
      .def("save", &PyModel::save, nb::arg("path"))
      .def("predict", &PyModel::predict, nb::arg("x"), nb::arg("batch"))
      .def("evaluate", &PyModel::evaluate, nb::arg("x"), nb::arg("y"), nb::arg("batch"))
      .def("fit",
           [](PyModel& self, const HostArray& x, const HostArray& y, const std::optional<HostArray>& x_val,
              const std::optional<HostArray>& y_val, const std::vector<std::string>& class_names, int64_t epochs,
              int64_t batch, int64_t grad_accum, const std::string& optim, const std::string& schedule, uint64_t seed, int threads,
              const std::string& run_dir, bool resume, const std::string& device, nb::callable on_event) {
             // As `train --device`: an unusable GPU is an Error with doctor's hint.
             const Device on = resolve_device(device);
             return self.fit(x, y, x_val, y_val, class_names, train_config(epochs, batch, grad_accum, optim, schedule, seed, threads),
                             run_dir, resume, on, on_event);
           },
           nb::arg("x"), nb::arg("y"), nb::arg("x_val").none(), nb::arg("y_val").none(), nb::arg("class_names"),
           nb::arg("epochs"), nb::arg("batch"), nb::arg("grad_accum"), nb::arg("optim"), nb::arg("schedule"), nb::arg("seed"),
           nb::arg("threads"), nb::arg("run_dir"), nb::arg("resume"), nb::arg("device"), nb::arg("on_event"));
}

}  // namespace dltrain::python
