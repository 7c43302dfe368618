// system: what this machine offers for training (CPU ISA, kernels in use, NVIDIA driver, GPUs, CUDA
// libraries, nvcc), found at run time so one binary works with or without a driver; a device
// smoke test; running programs without a shell; and compiling/running CUDA files (`cuda run`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dltrain {

struct CpuInfo {
  std::string model;
  int logical = 0, physical = 0;  // hardware threads and cores
  int threads_used = 0;           // what dltrain's kernels will use
  std::vector<std::pair<std::string, bool>> isa;  // "AVX2" -> supported, in a fixed order
  bool has(const std::string& name) const;
};

// Which kernels the hot paths run. Levels are "sse2", "avx2" (with FMA) and "avx512" (F/BW/VL/DQ).
struct KernelInfo {
  std::string detected;       // the highest level CPUID and the OS allow
  std::string gemm;           // the level of the GEMM kernels in use
  std::string gemm_why;       // "detected" or "DLTRAIN_CPU_ISA=avx2"
  int gemm_mr = 0, gemm_nr = 0;  // their register tile
  std::string compiled;       // the level the other vectorised kernels were compiled for
  std::string threading;
  std::vector<std::pair<std::string, std::string>> paths;  // hot path -> kernels it runs
};

struct GpuInfo {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  uint64_t memory_bytes = 0;
  int sm_count = 0;
  std::string arch() const { return "sm_" + std::to_string(cc_major) + std::to_string(cc_minor); }
};

struct CudaInfo {
  int driver_version = 0;    // 13000 for 13.0; 0 when no driver
  std::string driver_error;  // why the driver could not be used
  int runtime_version = 0;   // of the CUDA runtime built into dltrain; 0 when not built with CUDA
  std::vector<GpuInfo> gpus;
  std::string cublas_version, cudnn_version;  // empty when not found
};

struct NvccInfo {
  std::string path;          // empty when not found
  bool on_path = false;      // found through PATH (else only in a standard install folder)
  std::string version;       // "13.0 (V13.0.88)"
};

struct SmokeResult {
  bool ran = false;
  bool passed = false;
  std::string detail;        // what ran, or why it did not
  double milliseconds = 0;
};

struct Problem {
  std::string problem, hint;
};

struct SystemReport {
  CpuInfo cpu;
  KernelInfo kernels;
  CudaInfo cuda;
  NvccInfo nvcc;
  SmokeResult smoke;
  std::vector<Problem> problems;
  std::string to_json() const;
};

CpuInfo inspect_cpu();
KernelInfo inspect_kernels();
CudaInfo inspect_cuda();   // driver API through dlopen; never fails
NvccInfo find_nvcc();
// Vector add of n floats on GPU 0, checked against the CPU, with the kernel time.
SmokeResult cuda_smoke_test(int64_t n = 1 << 24);
int cuda_runtime_version();  // 0 when dltrain was built without the CUDA toolkit
// Everything, with a hint per problem found; runs the smoke test when a GPU is present.
SystemReport inspect_system(bool smoke = true);

// Runs a program (argv[0] searched in PATH) without a shell. Returns its exit status, or
// 128 + signal number when it was killed by a signal. Throws dltrain::Error if it cannot start.
int run_program(const std::vector<std::string>& argv);
// Same, capturing standard output and error together.
int run_program(const std::vector<std::string>& argv, std::string& output);

// `cuda run`: a .cu file (or notebook cell) compiled with nvcc, cached by content.
// A first line "%%cu" (a notebook cell magic) is removed; everything else is kept.
std::string strip_cell_magic(const std::string& source);
struct CudaBuild {
  std::string binary;   // path of the compiled program in the cache
  bool cached = false;  // reused from an earlier identical build
  std::string arch;     // empty: nvcc's default architecture
};
// Compiles `source` for `arch` (e.g. "sm_80"; empty: nvcc's default) with extra nvcc flags. The
// binary is cached under <cache>/cuda/<sha256 of source, flags, arch and nvcc version>/. Compiler
// messages go to the terminal as nvcc prints them, or into *output when given; a failed compile
// throws dltrain::Error (holding the messages when they were captured).
CudaBuild build_cuda(const std::string& source, const std::string& arch, const std::vector<std::string>& nvcc_flags,
                     const NvccInfo& nvcc, std::string* output = nullptr);

// What `dltrain cuda run` and the notebook's `%%cu` do with a source: build it (cached) and, unless
// compile_only, run it with `args`. The target is `arch`, else GPU 0's; without a GPU a compile-only
// build is for nvcc's default architecture, and running is an Error with a hint.
struct CudaRunOptions {
  std::string arch;
  std::vector<std::string> nvcc_flags, args;
  bool compile_only = false;
  bool capture = false;  // collect the compiler's and the program's output in CudaRunResult::output
  // Called once built, before the program runs: (the build, its target as CudaRunResult::target).
  std::function<void(const CudaBuild&, const std::string&)> built = [](const CudaBuild&, const std::string&) {};
};
struct CudaRunResult {
  CudaBuild build;
  std::string target;    // "sm_90", or "nvcc's default architecture (no GPU found: ...)"
  bool ran = false;
  int status = 0;        // the program's exit status (128 + signal when killed)
  std::string output;    // with capture
};
CudaRunResult cuda_run(const std::string& source, const CudaRunOptions& options);

struct CudaExample {
  std::string name, description, source;
};
// The examples in examples/cuda/, built into the program.
const std::vector<CudaExample>& cuda_examples();

}  // namespace dltrain
