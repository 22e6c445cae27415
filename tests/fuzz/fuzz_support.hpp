// What every fuzz target shares: the rule that a pto::Error is a correct answer to bad
// input but a pto::InternalError (a PTO-RT bug) or any other exception is a finding, and
// a check that stops the run with a message libFuzzer saves the input for.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>

#include "core/error.hpp"

namespace pto::fuzz {

// Thrown by finding() instead of aborting when a replay keeps going (replay_main.cpp
// --keep-going). Not a std::exception, so that no handler of the code under test takes it.
struct Finding {
  std::string what;
};
inline bool& keep_going_after_findings() {
  static bool keep_going = false;
  return keep_going;
}

// Prints what was found and aborts, so that libFuzzer records the input as a crash.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  if (keep_going_after_findings()) throw Finding{what};
  std::abort();
}

#define PTO_FUZZ_CHECK(condition, what)                                                       \
  do {                                                                                        \
    if (!(condition)) ::pto::fuzz::finding(std::string(#condition ": ") + std::string(what)); \
  } while (false)

// Runs `body`; returns the pto::Error message it threw (a user error: fine), nothing when it
// returned, and aborts on an InternalError or on any exception that is not a pto::Error.
template <typename Body>
std::string expect_user_errors_only(Body&& body) {
  try {
    body();
  } catch (const InternalError& error) {
    finding(std::string("a PTO-RT bug: ") + error.what());
  } catch (const Error& error) {
    return error.what();
  } catch (const std::exception& error) {
    finding(std::string("an exception that is not a pto::Error escaped: ") + error.what());
  }
  return {};
}

}  // namespace pto::fuzz
