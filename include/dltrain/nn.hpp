// nn: the layer contract, the layers, the model graph (a DAG, so residual blocks work), the text
// format for networks, initializers and the Keras-style summary. Layers call ops:: only; they never
// see which device their tensors live on.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dltrain/core.hpp"
#include "dltrain/ops.hpp"

namespace dltrain {

enum class Mode : uint8_t { train, infer };

// What a forward pass needs besides its inputs. `seed` and `step` key per-step randomness
// (dropout), so a resumed run draws exactly what an uninterrupted one would.
struct Context {
  Mode mode = Mode::infer;
  uint64_t seed = 0;
  uint64_t step = 0;
};

enum class Init : uint8_t { zeros, ones, he_uniform, glorot_uniform };
// Keras's definitions: limit = sqrt(6 / fan_in) (he) or sqrt(6 / (fan_in + fan_out)) (glorot).
void initialize(Tensor& t, Init init, int64_t fan_in, int64_t fan_out, Rng& rng);
const char* init_name(Init init);

struct Param {
  std::string name;      // "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"
  Tensor value;
  Tensor grad;           // empty for non-trainable state such as moving statistics
  bool trainable = true;
};

// The layer contract.
// - build(in): given per-sample input shapes (no batch dimension), checks them, creates parameters
//   and returns the per-sample output shape. Called once.
// - forward(xs, ctx): computes y from batch-first inputs into the layer's own output tensor (reused
//   across steps of the same batch size) and returns it; a layer that only reshapes returns a view
//   of its input instead (reshapes_only()). The inputs must stay alive and unchanged until
//   backward.
// - backward(dy, dxs): for the most recent forward in Mode::train, given dL/dy, OVERWRITES the grad
//   of each trainable parameter with dL/dparam and writes dL/dx_i into *dxs[i] for every non-null
//   entry (null: the caller needs no input gradient, which saves work for the first layer).
// The most parameters (weights and state of all layers together) one model may have: 2^26, 256 MiB
// of float32 (README, "Models"). A layer checks its own before allocating them and Model::add the
// total, so a hostile model text or file cannot make dltrain allocate much more.
constexpr int64_t max_model_parameters = int64_t(1) << 26;

class Layer {
 public:
  virtual ~Layer() = default;
  virtual const char* type() const = 0;   // Keras class name, e.g. "Conv2D"
  virtual std::string spec() const = 0;   // this layer in the text format, e.g. "conv:32x3x3,relu"
  virtual int n_inputs() const { return 1; }
  virtual void init_params(Rng&) {}

  // Fusion for speed: a layer may offer an executor that runs it together with `next`, the only
  // consumer of its output. The executor owns no parameters (it updates this layer's) and
  // produces `next`'s output. Null when there is no such fast path.
  virtual std::unique_ptr<Layer> fuse_with(Layer& next);
  // A layer whose output is its input's elements in the same order under another shape (Flatten):
  // its forward output is a view of its input, and the model hands its gradient back to the
  // input's node without a copy where that node takes no other gradient.
  virtual bool reshapes_only() const { return false; }
  // Pooling layers describe their window so that producers can fuse with them.
  struct PoolDesc {
    bool max = false;
    int64_t k = 0, stride = 0;
    Padding padding = Padding::valid;
  };
  virtual PoolDesc pool_desc() const { return {}; }
  // Depthwise convolutions describe theirs (k == 0: not one).
  struct DepthwiseDesc {
    int64_t kh = 0, kw = 0, stride = 0;
    Padding padding = Padding::valid;
    Act act = Act::none;
  };
  virtual DepthwiseDesc depthwise_desc() const { return {}; }
  // Convolutions describe their stride, padding and fused activation (stride == 0: not one).
  struct ConvDesc {
    int64_t stride = 0;
    Padding padding = Padding::valid;
    Act act = Act::none;
  };
  virtual ConvDesc conv_desc() const { return {}; }
  // Batch normalization's epsilon (0: not a batch normalization).
  virtual float batchnorm_eps() const { return 0; }

  Shape build(std::span<const Shape> in);
  const Tensor& forward(std::span<const Tensor* const> xs, const Context& ctx);
  void backward(const Tensor& dy, std::span<Tensor* const> dxs);

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }
  const Shape& output_shape() const { return out_shape_; }
  const Tensor& output() const { return y_; }

 protected:
  virtual Shape build_impl(std::span<const Shape> in) = 0;
  virtual void forward_impl(std::span<const Tensor* const> xs, const Context& ctx, Tensor& y) = 0;
  virtual void backward_impl(std::span<const Tensor* const> xs, const Tensor& y, const Tensor& dy,
                             std::span<Tensor* const> dxs) = 0;
  Param& add_param(std::string name, Shape shape, bool trainable = true);
  Param& param(size_t i) { return params_[i]; }
  const std::vector<Shape>& input_shapes() const { return in_shapes_; }

 private:
  std::string name_;
  std::vector<Param> params_;
  std::vector<Shape> in_shapes_;
  Shape out_shape_;
  Tensor y_;
  std::vector<const Tensor*> xs_;
  bool built_ = false;
};

// Layer constructors. `act` is fused into conv and dense (Keras's `activation=`).
std::unique_ptr<Layer> make_dense(int64_t units, Act act = Act::none, Init init = Init::glorot_uniform);
std::unique_ptr<Layer> make_conv2d(int64_t filters, int64_t kh, int64_t kw, int64_t stride = 1,
                                   Padding padding = Padding::valid, Act act = Act::none,
                                   Init init = Init::glorot_uniform);
// One KHxKW filter per channel (MobileNet's depthwise convolution); output channels = input channels.
std::unique_ptr<Layer> make_depthwise_conv2d(int64_t kh, int64_t kw, int64_t stride = 1,
                                             Padding padding = Padding::valid, Act act = Act::none);
std::unique_ptr<Layer> make_maxpool(int64_t k, int64_t stride = 0, Padding padding = Padding::valid);
std::unique_ptr<Layer> make_avgpool(int64_t k, int64_t stride = 0, Padding padding = Padding::valid);
std::unique_ptr<Layer> make_global_avgpool();
std::unique_ptr<Layer> make_flatten();
std::unique_ptr<Layer> make_activation(Act act);
std::unique_ptr<Layer> make_softmax();
std::unique_ptr<Layer> make_dropout(float rate);
std::unique_ptr<Layer> make_batchnorm(float eps = 1e-3f, float momentum = 0.99f);
std::unique_ptr<Layer> make_add();

// What the model returns: with a softmax head, training wants the logits (the loss fuses softmax).
enum class Output : uint8_t { probabilities, logits };

// A DAG of layers over one input. Nodes are added in topological order; input id -1 is the model
// input. Node outputs that feed several nodes have their gradients summed.
class Model {
 public:
  static constexpr int input = -1;
  // The most layers one model may have (README, "Models"): parse_model checks a text against it
  // before building anything, and add() refuses the layer after it.
  static constexpr size_t max_layers = 10'000;
  explicit Model(Shape input_shape);
  int add(std::unique_ptr<Layer> layer);                          // fed by the previous node
  int add(std::unique_ptr<Layer> layer, std::vector<int> inputs);
  int last() const { return int(nodes_.size()) - 1; }

  void init_params(uint64_t seed);
  // Moves every parameter, gradient and piece of layer state to `device` (explicit copies; the
  // flat gradient buffer and the fusion plan are made again there on next use). Activations follow
  // the input: forward takes x on the model's device.
  void to(Device device);
  Device device() const { return device_; }
  // x: (N, input_shape...) float32
  const Tensor& forward(const Tensor& x, const Context& ctx, Output out = Output::probabilities);
  // dL/d(output of the last forward) -> parameter gradients. `ready`, when set, is called with
  // each layer's parameters as soon as their gradients are final (backward runs last layer
  // first), so an optimizer can update them while they are still in cache.
  using GradsReady = std::function<void(const std::vector<Param*>&)>;
  void backward(const Tensor& dout, const GradsReady& ready = {});

  const Shape& input_shape() const { return input_shape_; }
  Shape output_shape() const;
  int64_t n_classes() const;
  std::vector<Param*> params();              // every parameter and state tensor, in order
  std::vector<Param*> trainable_params();
  // Every trainable parameter's gradient in one buffer on their device, in trainable_params()
  // order, each starting on a 64-byte boundary (the gaps stay zero), then `spare` floats
  // for the caller (the trainer sends its stop flag with the gradients). Made on the first call,
  // when the gradients become views into it, and kept; made again (the gradients copied over) when
  // `spare` or the trainable parameters differ. One all-reduce, one optimizer pass, one transfer.
  std::span<float> flat_gradients(int64_t spare = 0);
  std::string param_key(const Layer& l, const Param& p) const { return l.name() + "/" + p.name; }
  size_t size() const { return nodes_.size(); }
  Layer& layer(size_t i) { return *nodes_[i].layer; }
  const Layer& layer(size_t i) const { return *nodes_[i].layer; }
  const std::vector<int>& inputs_of(size_t i) const { return nodes_[i].inputs; }
  bool has_softmax_head() const;

  std::string spec;  // the text form this model was built from
  std::string title = "model";

 private:
  struct Node {
    std::unique_ptr<Layer> layer;
    std::vector<int> inputs;
    Tensor grad;       // dL/d(output)
    bool has_grad = false;
  };
  // What forward runs: one step per node, or one fused executor for a node and its sole consumer.
  struct Step {
    Layer* layer;
    std::vector<int> inputs;
    int node;   // the node whose output this step produces
    int first;  // the first node it runs (node itself unless layers are fused)
  };
  int end_node(Output out) const;
  void plan();
  std::vector<Node> nodes_;
  std::map<std::string, int> name_counts_;  // layers per snake_case type, for Keras-style names
  int64_t parameters_ = 0;                  // in all layers, at most max_model_parameters
  std::vector<Step> plan_;
  std::vector<std::unique_ptr<Layer>> fused_;
  std::vector<const Tensor*> outputs_;
  Shape input_shape_;
  const Tensor* x_ = nullptr;
  int end_ = 0;
  std::vector<Tensor> scratch_;  // input gradients that are added to an existing one
  std::vector<Param*> ready_;
  std::shared_ptr<Tensor> flat_grads_;      // see flat_gradients(); each gradient view holds it too
  std::vector<const float*> flat_views_;    // where each trainable gradient starts in it
  int64_t flat_spare_ = 0, flat_size_ = 0;
  Device device_ = Device::cpu;
};

// Copies the parameters of src's nodes [src_from, src_from + count) into dst's nodes from dst_from
// (same layer kinds and shapes).
void copy_weights(const Model& src, size_t src_from, Model& dst, size_t dst_from, size_t count);

// The text format: layers separated by spaces, each `kind[:arg][,option...]`, and `res{ ... }` for
// a residual block (output = input + block(input)). For example
//   conv:32x3x3,relu,he_uniform maxpool:2 flatten dense:100,relu,he_uniform dense:10,softmax
// Throws dltrain::Error naming the token on a mistake.
std::unique_ptr<Model> parse_model(const std::string& text, const Shape& input_shape);
// Inference on many inputs, a few (up to group_max) at a time per thread, each thread on its own
// replica of a model (weights copied once, when this is made): a few inputs' activations stay in
// the core's caches, where a whole batch's would stream through memory layer by layer, each
// layer's weights are read once for the group, and no layer waits for the other threads. Each
// output equals the model's own output for that input alone, bit for bit. The replicas read the
// model's weights as they are when this is made. A model on a GPU gets no replicas: one thread
// prepares the inputs and each run() is one forward pass.
class ParallelInference {
 public:
  explicit ParallelInference(Model& model);
  // For i in [begin, end): input(i, x) fills x (one input, model.input_shape()), then the model's
  // output (probabilities) goes to out + (i - begin) * output numel. An exception from input or
  // the model is rethrown here, the one of the lowest i first, after every thread has stopped.
  using Input = std::function<void(int64_t i, float* x)>;
  void run(int64_t begin, int64_t end, const Input& input, float* out);
  int threads() const { return int(replicas_.size()) + 1; }
  static constexpr int64_t group_max = 4;  // MobileNetV2 features: 2-33% faster than one at a time

 private:
  Model& model_;
  std::vector<std::unique_ptr<Model>> replicas_;  // for threads 1..N-1; thread 0 runs model_
};

// The format's reference, for --help.
std::string model_format_help();

// Keras-style table: layer (type), output shape, parameter count, then totals.
std::string summary(const Model& m);
int64_t count_params(const Model& m, bool trainable_only);

}  // namespace dltrain
