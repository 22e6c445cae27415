#include "core/dump.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

TEST_CASE("PTO_DUMP is a comma list matched by whole items") {
  const char* saved = std::getenv("PTO_DUMP");
  const std::string restore = saved != nullptr ? saved : "";
  unsetenv("PTO_DUMP");
  CHECK_FALSE(pto::dump_enabled("ir"));
  setenv("PTO_DUMP", "ir", 1);
  CHECK(pto::dump_enabled("ir"));
  setenv("PTO_DUMP", "llvm,ir", 1);
  CHECK(pto::dump_enabled("ir"));
  CHECK(pto::dump_enabled("llvm"));
  CHECK_FALSE(pto::dump_enabled("cuda"));
  setenv("PTO_DUMP", "irx,cuda", 1);
  CHECK_FALSE(pto::dump_enabled("ir"));
  if (saved != nullptr) {
    setenv("PTO_DUMP", restore.c_str(), 1);
  } else {
    unsetenv("PTO_DUMP");
  }
}
