// dltrain: the command-line program. Parses the command, runs it, and turns errors into messages
// and exit codes: 0 success, 1 failure, 2 bad usage, 130 interrupted (`cuda run`: the program's).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <new>

#include "commands.hpp"
#include "dltrain/core.hpp"
#include "dltrain/path.hpp"
#include "dltrain/train.hpp"

namespace dltrain::cli {

std::string command_line;

std::string thousands(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > (v < 0 ? 1 : 0); i -= 3) s.insert(size_t(i), ",");
  return s;
}

std::string model_argument(const std::string& arg) {
  try {
    return find_model(arg);
  } catch (const Error& e) {
    throw CLI::ValidationError("MODEL", e.what());
  }
}

void require_file_argument(const std::string& path, const std::string& what) {
  try {
    require_file(path);
  } catch (const Error& e) {
    throw CLI::ValidationError(what, e.what());
  }
}

}  // namespace dltrain::cli

int main(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a.find_first_of(" '\"\\$`*?!;&|<>(){}") != std::string::npos) {
      std::string q = "'";
      for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      a = q + "'";
    }
    dltrain::cli::command_line += (i ? " " : "") + a;
  }
  CLI::App app{"dltrain: train deep-learning models on your own machine"};
  app.set_version_flag("--version", "dltrain 0.1.0");
  app.require_subcommand(1);
  dltrain::cli::add_train(app);
  dltrain::cli::add_eval(app);
  dltrain::cli::add_predict(app);
  dltrain::cli::add_export(app);
  dltrain::cli::add_summary(app);
  dltrain::cli::add_report(app);
  dltrain::cli::add_fetch(app);
  dltrain::cli::add_push(app);
  dltrain::cli::add_doctor(app);
  dltrain::cli::add_cuda(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const dltrain::Error& e) {
    std::cout.flush();
    std::cerr << "dltrain: error: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << "  hint: " << e.hint() << "\n";
    return 1;
  } catch (const dltrain::cli::ExitWith& e) {
    return e.code;
  } catch (const dltrain::cli::Interrupted& e) {
    std::cout.flush();
    std::cerr << "\ndltrain: interrupted. " << e.message << "\n";
    return 130;
  } catch (const std::filesystem::filesystem_error& e) {  // a library path that missed its check: still a clear line
    std::cout.flush();
    std::cerr << "dltrain: error: " << e.code().message() << ": " << e.path1().string()
              << (e.path2().empty() ? "" : " -> " + e.path2().string()) << " (" << e.what() << ")\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cout.flush();
    std::cerr << "dltrain: error: out of memory\n  hint: a smaller --batch, or less data, needs less\n";
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "dltrain: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
