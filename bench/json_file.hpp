// Writing a benchmark's --json file: one definition, so that every benchmark says the same
// thing when the file cannot be written.
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace pto::bench {

// Writes `out` (indented) to `path`; false, after saying so on stderr, when that fails.
inline bool write_json(const std::string& path, const nlohmann::json& out, const char* benchmark) {
  std::ofstream file(path);
  file << out.dump(2) << "\n";
  if (file) return true;
  fmt::print(stderr, "{}: could not write {}\n", benchmark, path);
  return false;
}

}  // namespace pto::bench
