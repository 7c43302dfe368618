// `dltrain cuda run FILE.cu|EXAMPLE [--arch sm_XX] [--nvcc-flags "..."] [--compile-only] [-- args]`
// and `dltrain cuda examples`: what a `%%cu` notebook cell does, natively. The program's exit
// status becomes dltrain's.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "dltrain/io.hpp"
#include "dltrain/system.hpp"
#include "dltrain/path.hpp"

namespace dltrain::cli {
namespace {

struct RunArgs {
  std::string file, arch, nvcc_flags;
  std::vector<std::string> args;
  bool compile_only = false;
};

// The source to build: a file (with a %%cu first line removed), or a built-in example by name.
std::string load_source(const std::string& what) {
  if (is_file(what)) {
    // #line keeps nvcc's messages pointing at the user's file and lines.
    return "#line 1 \"" + std::filesystem::absolute(what).string() + "\"\n" + strip_cell_magic(read_file(what));
  }
  for (const CudaExample& e : cuda_examples())
    if (e.name == what) return e.source;
  std::string names;
  for (const CudaExample& e : cuda_examples()) names += (names.empty() ? "" : ", ") + e.name;
  throw Error(what + ": no such file or built-in example", "built-in examples: " + names);
}

void run(const RunArgs& a) {
  CudaRunOptions o;
  o.arch = a.arch;
  o.compile_only = a.compile_only;
  o.args = a.args;
  std::istringstream ss(a.nvcc_flags);
  for (std::string f; ss >> f;) o.nvcc_flags.push_back(f);  // split on spaces; no shell is involved
  o.built = [&](const CudaBuild& b, const std::string& target) {
    std::fprintf(stderr, "dltrain: %s %s for %s: %s\n", b.cached ? "using the cached build of" : "compiled",
                 a.file.c_str(), target.c_str(), b.binary.c_str());
    std::fflush(stdout);
  };
  const CudaRunResult r = cuda_run(load_source(a.file), o);
  const int rc = r.status;
  if (rc > 128)
    std::fprintf(stderr, "dltrain: the program crashed (signal %d, %s)\n", rc - 128, strsignal(rc - 128));
  if (rc != 0) throw ExitWith{rc};
}

}  // namespace

void add_cuda(CLI::App& app) {
  CLI::App* cuda = app.add_subcommand("cuda", "Compile and run CUDA programs (the native %%cu notebook cell)");
  cuda->require_subcommand(1);
  auto a = std::make_shared<RunArgs>();
  CLI::App* r = cuda->add_subcommand("run", "Compile FILE.cu (or a built-in example) with nvcc, cached, and run it");
  r->add_option("file", a->file, "a .cu file or notebook cell (a first line %%cu is ignored), or an example name")
      ->required();
  r->add_option("args", a->args, "arguments for the program (after --)");
  r->add_option("--arch", a->arch, "target GPU architecture, e.g. sm_80 (default: GPU 0's; without a GPU, "
                                   "--compile-only builds for nvcc's default)");
  r->add_option("--nvcc-flags", a->nvcc_flags, "extra nvcc flags, space-separated, e.g. \"-O3 -lineinfo\"");
  r->add_flag("--compile-only", a->compile_only, "build (and cache) without running");
  r->callback([a] { run(*a); });
  CLI::App* e = cuda->add_subcommand("examples", "List the built-in CUDA examples");
  e->callback([] {
    for (const CudaExample& x : cuda_examples()) std::printf("%-14s %s\n", x.name.c_str(), x.description.c_str());
    std::printf("\nRun one with: dltrain cuda run NAME\n");
  });
}

}  // namespace dltrain::cli
