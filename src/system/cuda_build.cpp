// `cuda run` support: notebook-cell stripping, and nvcc builds cached by a SHA-256 of everything
// that determines the binary.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "dltrain/data.hpp"
#include "dltrain/io.hpp"
#include "dltrain/system.hpp"

namespace fs = std::filesystem;

namespace dltrain {
std::string strip_cell_magic(const std::string& source) {
  const size_t start = source.find_first_not_of(" \t");
  if (start == std::string::npos || source.compare(start, 4, "%%cu") != 0) return source;
  const size_t after = start + 4;
  if (after < source.size() && source[after] != '\n' && source[after] != '\r' && source[after] != ' ' &&
      source[after] != '\t')
    return source;  // "%%cuda..." is some other magic
  const size_t eol = source.find('\n');
  // Keep the line break so compiler messages keep the file's line numbers.
  return eol == std::string::npos ? std::string() : source.substr(eol);
}

CudaBuild build_cuda(const std::string& source, const std::string& arch, const std::vector<std::string>& nvcc_flags,
                     const NvccInfo& nvcc, std::string* output) {
  if (nvcc.path.empty())
    throw Error(std::getenv("DLTRAIN_NVCC") ? std::string("DLTRAIN_NVCC does not name an executable nvcc")
                                            : std::string("nvcc not found (looked in PATH and /usr/local/cuda/bin)"),
                "install the CUDA toolkit, or point DLTRAIN_NVCC at nvcc");
  std::ostringstream key;
  key << source << '\0' << arch << '\0' << nvcc.path << '\0' << nvcc.version;
  for (const std::string& f : nvcc_flags) key << '\0' << f;
  const std::string dir = cache_dir() + "/cuda/" + sha256_hex(key.str());
  CudaBuild b;
  b.arch = arch;
  b.binary = dir + "/program";
  if (::access(b.binary.c_str(), X_OK) == 0) {
    b.cached = true;
    return b;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create " + dir + ": " + ec.message(), "check that the dltrain cache is writable");
  const std::string cu = dir + "/program.cu", partial = dir + "/program.partial";
  write_file_atomic(cu, source);
  std::vector<std::string> argv = {nvcc.path};
  if (!arch.empty()) argv.push_back("-arch=" + arch);
  argv.insert(argv.end(), nvcc_flags.begin(), nvcc_flags.end());
  argv.insert(argv.end(), {"-o", partial, cu});
  // nvcc's messages reach the terminal as it prints them, or the caller's string.
  const int rc = output ? run_program(argv, *output) : run_program(argv);
  if (rc != 0) {
    fs::remove(partial, ec);
    if (output) throw Error("nvcc failed (exit status " + std::to_string(rc) + "):\n" + *output);
    throw Error("nvcc failed (exit status " + std::to_string(rc) + ")", "the compiler's messages are above");
  }
  fs::rename(partial, b.binary, ec);
  if (ec) throw Error("cannot store the compiled program in " + dir + ": " + ec.message());
  return b;
}

CudaRunResult cuda_run(const std::string& source, const CudaRunOptions& o) {
  const NvccInfo nvcc = find_nvcc();
  const CudaInfo cuda = inspect_cuda();
  CudaRunResult r;
  std::string arch = o.arch;
  if (arch.empty() && !cuda.gpus.empty()) arch = cuda.gpus[0].arch();
  if (arch.empty() && !o.compile_only)
    throw Error("no NVIDIA GPU to compile for and run on (" + cuda.driver_error + ")",
                "add --compile-only to only build (for nvcc's default architecture), or --arch sm_XX to choose one");
  r.target = arch.empty() ? "nvcc's default architecture (no GPU found: " + cuda.driver_error + ")" : arch;
  r.build = build_cuda(source, arch, o.nvcc_flags, nvcc, o.capture ? &r.output : nullptr);
  o.built(r.build, r.target);
  if (o.compile_only) return r;
  if (cuda.gpus.empty())
    throw Error("compiled, but there is no NVIDIA GPU to run on (" + cuda.driver_error + ")",
                "use --compile-only to only build");
  std::vector<std::string> argv = {r.build.binary};
  argv.insert(argv.end(), o.args.begin(), o.args.end());
  std::string program_output;
  r.status = o.capture ? run_program(argv, program_output) : run_program(argv);
  r.output += program_output;
  r.ran = true;
  return r;
}

}  // namespace dltrain
