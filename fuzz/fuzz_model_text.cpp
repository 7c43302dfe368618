// Fuzz target: the model text format (parse_model) and the summary of what it builds. The first
// byte picks the input shape (a grey image, a colour image or a vector), the rest is the text.
#include "dltrain/nn.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const dltrain::Shape shapes[] = {dltrain::Shape{28, 28, 1}, dltrain::Shape{32, 32, 3}, dltrain::Shape{10}};
  const dltrain::Shape& input = shapes[data[0] % 3];
  try {
    const auto model = dltrain::parse_model(std::string(fuzz::bytes(data + 1, size - 1)), input);
    dltrain::summary(*model);
  } catch (const dltrain::Error&) {
  }
  return 0;
}
