// Finding nvcc ($DLTRAIN_NVCC, else PATH, then the standard install folders) and its version.
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>

#include "dltrain/system.hpp"

namespace dltrain {

NvccInfo find_nvcc() {
  NvccInfo n;
  if (const char* forced = std::getenv("DLTRAIN_NVCC"); forced && *forced) {
    n.on_path = true;  // the user's explicit choice
    if (::access(forced, X_OK) == 0) n.path = forced;
  } else if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string dir; std::getline(ss, dir, ':');) {
      const std::string candidate = (dir.empty() ? "." : dir) + "/nvcc";
      if (::access(candidate.c_str(), X_OK) == 0) {
        n.path = candidate;
        n.on_path = true;
        break;
      }
    }
  }
  if (n.path.empty() && !std::getenv("DLTRAIN_NVCC"))
    for (const char* c : {"/usr/local/cuda/bin/nvcc", "/usr/bin/nvcc", "/opt/cuda/bin/nvcc"})
      if (::access(c, X_OK) == 0) {
        n.path = c;
        break;
      }
  if (n.path.empty()) return n;
  std::string out;
  try {
    if (run_program({n.path, "--version"}, out) == 0) {
      std::smatch m;
      if (std::regex_search(out, m, std::regex(R"(release ([0-9.]+), (V[0-9.]+))")))
        n.version = m[1].str() + " (" + m[2].str() + ")";
    }
  } catch (const std::exception&) {
  }
  return n;
}

}  // namespace dltrain
