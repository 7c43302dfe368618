// Splitting one CSV line, shared by the readers of CSV files (image datasets' path,label[,split]
// files, a run's history.csv). Part of core.
#pragma once

#include <string>
#include <vector>

namespace dltrain {

// The fields of one line: comma-separated, optionally double-quoted ("a, b"; "" is a quote inside
// quotes), each trimmed of spaces and tabs; a trailing '\r' (CRLF files) is dropped. An empty line
// is one empty field.
std::vector<std::string> csv_fields(const std::string& line);

}  // namespace dltrain
