#include "core/error.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace pto {

Error::Error(const std::string& message) : std::runtime_error(message), message_(message) {}

Error::Error(const std::string& message, SourceLocation where)
    : std::runtime_error(fmt::format("{}:{}: {}", where.file, where.line, message)), message_(message), where_(where) {}

InternalError::InternalError(const std::string& message, SourceLocation detected_at)
    : Error(fmt::format("{} (a PTO-RT bug, detected at {}:{}; please report it)", message,
                        std::filesystem::path(detected_at.file).filename().string(), detected_at.line)) {}

}  // namespace pto
