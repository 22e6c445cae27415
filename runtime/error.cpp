#include "runtime/error.hpp"

#include <fmt/format.h>

namespace pto {

Error::Error(const std::string& message) : std::runtime_error(message), message_(message) {}

Error::Error(const std::string& message, SourceLocation where)
    : std::runtime_error(fmt::format("{}:{}: {}", where.file, where.line, message)), message_(message), where_(where) {}

}  // namespace pto
