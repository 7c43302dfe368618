// The subcommands of the dltrain program. Each registers its flags on the app; its callback does
// the work through libdltrain and prints. Library errors propagate to main(), which maps them to
// messages and exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace dltrain::cli {

void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_predict(CLI::App& app);
void add_summary(CLI::App& app);
void add_doctor(CLI::App& app);
void add_fetch(CLI::App& app);
void add_push(CLI::App& app);
void add_cuda(CLI::App& app);
void add_report(CLI::App& app);  // report and show
void add_export(CLI::App& app);

// Thrown by a command that stopped on the user's request (Ctrl-C); main() exits with 130.
struct Interrupted {
  std::string message;
};

// Thrown by a command whose exit status is another program's (`cuda run`).
struct ExitWith {
  int code;
};

// The command line as typed (shell-quoted for display), saved in run folders as command.txt.
extern std::string command_line;

// The model file a MODEL argument means (find_model), or a usage error (exit 2) naming it.
std::string model_argument(const std::string& arg);
// A usage error (exit 2) about argument `what` unless `path` is a regular file.
void require_file_argument(const std::string& path, const std::string& what);

// "1,234,567"
std::string thousands(int64_t v);

}  // namespace dltrain::cli
