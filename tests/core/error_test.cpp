#include "core/error.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

TEST_CASE("pto::Error without a source line keeps the message as what()") {
  const pto::Error error("tile shape mismatch");
  CHECK(std::string(error.what()) == "tile shape mismatch");
  CHECK(error.message() == "tile shape mismatch");
  CHECK_FALSE(error.where().has_value());
}

TEST_CASE("pto::Error with a source line prints file:line first, like a compiler diagnostic") {
  const auto here = pto::SourceLocation::current();
  const pto::Error error("matmul: inner dimensions differ", here);
  const std::string expected =
      std::string(here.file) + ":" + std::to_string(here.line) + ": matmul: inner dimensions differ";
  CHECK(std::string(error.what()) == expected);
  CHECK(error.message() == "matmul: inner dimensions differ");
  REQUIRE(error.where().has_value());
  CHECK(error.where()->line == here.line);
}

TEST_CASE("pto::Error is a std::runtime_error, so generic handlers catch it") {
  CHECK_THROWS_AS(throw pto::Error("boom"), std::runtime_error);
}

namespace {
pto::SourceLocation caller_line(pto::SourceLocation where = pto::SourceLocation::current()) {
  return where;
}
}  // namespace

TEST_CASE("SourceLocation::current() as a default argument captures the caller's line") {
  const unsigned expected_line = __LINE__ + 1;
  const pto::SourceLocation where = caller_line();
  CHECK(where.line == expected_line);
  CHECK(std::string_view(where.file).ends_with("error_test.cpp"));
}

TEST_CASE("pto::InternalError is a pto::Error that says it is a PTO-RT bug and where it was found") {
  try {
    PTO_INTERNAL_CHECK(1 + 1 == 3, "arithmetic broke");
    FAIL("PTO_INTERNAL_CHECK did not throw");
  } catch (const pto::InternalError& error) {
    const std::string text = error.what();
    CHECK(text.find("1 + 1 == 3: arithmetic broke") != std::string::npos);
    CHECK(text.find("(a PTO-RT bug, detected at error_test.cpp:") != std::string::npos);
  }
  CHECK_THROWS_AS(throw pto::InternalError("x"), pto::Error);
  CHECK_NOTHROW(PTO_INTERNAL_CHECK(true, "never"));
}
