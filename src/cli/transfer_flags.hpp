// What `fetch` and `push` share on the command line: the S3 and transfer flags, rates and sizes as
// people write them, and the progress lines of a transfer.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <string>

#include "dltrain/fetch.hpp"

namespace dltrain::cli {

// "12.3 MB"
std::string human_bytes(double bytes);

// Registers --endpoint, --region, --profile, --insecure, --part-size, --concurrency, --retries,
// --limit-rate (into `limit_rate`, for apply_transfer_flags) and --stall-timeout. `part_help`
// says what a part is for this command; `min_part` is its smallest.
void add_transfer_flags(CLI::App* cmd, FetchOptions& o, std::string& limit_rate, const std::string& part_help, int64_t min_part);

// After parsing: the rate cap, the progress printer (nothing when `quiet`) and warnings to stderr.
void apply_transfer_flags(FetchOptions& o, const std::string& limit_rate, bool quiet);

}  // namespace dltrain::cli
