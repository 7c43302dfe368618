// dltrain::Error and the DLT_CHECK failure path.
#include "dltrain/core.hpp"

namespace dltrain {

Error::Error(std::string message, std::string hint, std::source_location where)
    : std::runtime_error(std::move(message)), hint_(std::move(hint)), where_(where) {}

namespace detail {
void check_failed(const char* condition, const std::string& message, const std::string& hint,
                  std::source_location where) {
  throw Error(message.empty() ? std::string("check failed: ") + condition : message, hint, where);
}
}  // namespace detail

}  // namespace dltrain
