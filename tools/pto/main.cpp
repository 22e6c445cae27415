// `pto`: the PTO-RT command-line tool.
//
//   pto info [--json]   build options, LLVM and NVRTC versions, target arch, CUDA devices
//   pto --version
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <exception>
#include <string>
#include <vector>

#include "runtime/build_config.hpp"
#include "runtime/system_info.hpp"

namespace {
constexpr int usage_error_exit_code = 2;
}

int main(int argc, char** argv) {
  CLI::App app{"PTO-RT: task-graph runtime with a JIT kernel DSL", "pto"};
  app.set_version_flag("--version", std::string(pto::build::version));
  app.require_subcommand(0, 1);

  CLI::App* info = app.add_subcommand("info", "Show build options, LLVM/NVRTC versions and the CUDA devices found");
  bool as_json = false;
  info->add_flag("--json", as_json, "Print the report as JSON");
  // Set after add_subcommand so it is not inherited: only an unknown *command* lands in
  // remaining(), where it is named in the error below; unknown options still fail in CLI11.
  app.allow_extras();

  CLI11_PARSE(app, argc, argv);

  if (app.get_subcommands().empty()) {
    const std::vector<std::string> extras = app.remaining();
    if (extras.empty()) {
      fmt::print(stderr, "pto: no command given; available: info (see pto --help)\n");
    } else {
      fmt::print(stderr, "pto: '{}' is not a command; available: info (see pto --help)\n", extras.front());
    }
    return usage_error_exit_code;
  }

  try {
    if (info->parsed()) {
      const pto::SystemInfo report = pto::collect_system_info();
      if (as_json) {
        fmt::print("{}\n", pto::to_json(report).dump(2));
      } else {
        fmt::print("{}", pto::format_system_info(report));
      }
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "pto: {}\n", error.what());
    return 1;
  }
  return 0;
}
