// ParallelInference: a model replica per OpenMP thread, each running a few inputs at a time. The ops
// inside see omp_in_parallel() and stay on their thread (backend/cpu/parallel.hpp).
#include <omp.h>

#include <algorithm>
#include <exception>

#include "dltrain/nn.hpp"

namespace dltrain {

ParallelInference::ParallelInference(Model& model) : model_(model) {
  if (model.device().is_cuda()) return;  // one GPU model: the inputs are prepared on one thread
  for (int t = 1; t < std::max(1, num_threads()); ++t) {
    replicas_.push_back(parse_model(model.spec, model.input_shape()));
    copy_weights(model, 0, *replicas_.back(), 0, model.size());
  }
}

void ParallelInference::run(int64_t begin, int64_t end, const Input& input, float* out) {
  if (end <= begin) return;
  const int64_t per_in = model_.input_shape().numel(), per_out = model_.output_shape().numel();
  const int threads = int(std::min<int64_t>(this->threads(), end - begin));
  // Up to group_max inputs per forward pass, fewer when that would leave a thread without work;
  // a GPU model takes them all in one pass.
  const int64_t group = model_.device().is_cuda() ? end - begin : std::clamp<int64_t>((end - begin) / threads, 1, group_max);
  const int64_t groups = (end - begin + group - 1) / group;
  std::vector<std::exception_ptr> failed(static_cast<size_t>(groups));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    Model& m = t == 0 ? model_ : *replicas_[size_t(t - 1)];
    Tensor x, x_on_gpu, y_on_host;
#pragma omp for schedule(dynamic)
    for (int64_t g = 0; g < groups; ++g) {
      try {  // nothing may leave an OpenMP region
        const int64_t i0 = begin + g * group, n = std::min(group, end - i0);
        if (x.shape().rank() == 0 || x.shape()[0] != n) x = Tensor(m.input_shape().with_batch(n));
        for (int64_t i = 0; i < n; ++i) input(i0 + i, x.f32() + i * per_in);
        const Tensor& y = m.forward(x.on(m.device(), x_on_gpu), Context{}, Output::probabilities);
        const Tensor& host = y.on(Device::cpu, y_on_host);
        std::copy(host.f32(), host.f32() + n * per_out, out + (i0 - begin) * per_out);
      } catch (...) {
        failed[size_t(g)] = std::current_exception();
      }
    }
  }
  for (const std::exception_ptr& e : failed)
    if (e) std::rethrow_exception(e);
}

}  // namespace dltrain
