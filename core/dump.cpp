#include "core/dump.hpp"

#include <cstdlib>

namespace pto {

bool dump_enabled(std::string_view what) {
  const char* value = std::getenv("PTO_DUMP");
  if (value == nullptr) return false;
  std::string_view list(value);
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (list.substr(0, comma) == what) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace pto
