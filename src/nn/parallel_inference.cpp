// ParallelInference: a model replica per OpenMP thread, each running one input at a time. The ops
// inside see omp_in_parallel() and stay on their thread (backend/cpu/parallel.hpp).
#include <omp.h>

#include <algorithm>
#include <exception>

#include "dltrain/nn.hpp"

namespace dltrain {

ParallelInference::ParallelInference(Model& model) : model_(model) {
  for (int t = 1; t < std::max(1, num_threads()); ++t) {
    replicas_.push_back(parse_model(model.spec, model.input_shape()));
    copy_weights(model, 0, *replicas_.back(), 0, model.size());
  }
}

void ParallelInference::run(int64_t begin, int64_t end, const Input& input, float* out) {
  if (end <= begin) return;
  const int64_t per_out = model_.output_shape().numel();
  const int threads = int(std::min<int64_t>(this->threads(), end - begin));
  std::vector<std::exception_ptr> failed(size_t(end - begin));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    Model& m = t == 0 ? model_ : *replicas_[size_t(t - 1)];
    Tensor x(m.input_shape().with_batch(1));
#pragma omp for schedule(dynamic)
    for (int64_t i = begin; i < end; ++i) {
      try {  // nothing may leave an OpenMP region
        input(i, x.f32());
        const Tensor& y = m.forward(x, Context{}, Output::probabilities);
        std::copy(y.f32(), y.f32() + per_out, out + (i - begin) * per_out);
      } catch (...) {
        failed[size_t(i - begin)] = std::current_exception();
      }
    }
  }
  for (const std::exception_ptr& e : failed)
    if (e) std::rethrow_exception(e);
}

}  // namespace dltrain
