#include "runtime/system_info.hpp"

#include <doctest/doctest.h>

#include <string>

#include "runtime/build_config.hpp"

TEST_CASE("system info reports this build's version and backends") {
  const pto::SystemInfo info = pto::collect_system_info("/nonexistent/libcuda.so.1");
  CHECK(info.build.version == std::string(pto::build::version));
  CHECK(info.build.llvm == static_cast<bool>(PTO_HAVE_LLVM));
  CHECK(info.build.cuda == static_cast<bool>(PTO_HAVE_CUDA));
  CHECK(info.llvm.has_value() == static_cast<bool>(PTO_HAVE_LLVM));
  CHECK(info.nvrtc.has_value() == static_cast<bool>(PTO_HAVE_CUDA));
  if (info.llvm) {
    const int major = std::stoi(info.llvm->version);  // "14.0.6" -> 14
    CHECK(major >= 14);
    CHECK(major <= 19);
    CHECK(!info.llvm->host_triple.empty());
    CHECK(info.llvm->native_target_ready);
  }
}

TEST_CASE("system info without a driver reports the reason instead of throwing") {
  const pto::SystemInfo info = pto::collect_system_info("/nonexistent/libcuda.so.1");
  CHECK(info.devices.empty());
#if PTO_HAVE_CUDA
  CHECK(info.cuda_status == "no_driver");
  CHECK(info.cuda_reason.find("no CUDA driver") != std::string::npos);
  CHECK(info.cuda_reason.find("/nonexistent/libcuda.so.1") != std::string::npos);
  REQUIRE(info.nvrtc.has_value());
  CHECK(info.nvrtc->target_arch == 90);
  CHECK(info.nvrtc->target_reason == "default: no device");
#else
  CHECK(info.cuda_status == "not_built");
#endif
  const std::string text = pto::format_system_info(info);
  CHECK(text.find("PTO-RT " + std::string(pto::build::version)) == 0);
  CHECK(text.find(info.cuda_reason) != std::string::npos);
}

TEST_CASE("system info as JSON carries the same facts as the text") {
  const pto::SystemInfo info = pto::collect_system_info("/nonexistent/libcuda.so.1");
  const nlohmann::json json = pto::to_json(info);
  CHECK(json.at("version") == info.build.version);
  CHECK(json.at("build").at("llvm") == info.build.llvm);
  CHECK(json.at("cuda").at("status") == info.cuda_status);
  CHECK(json.at("cuda").at("reason") == info.cuda_reason);
  CHECK(json.at("cuda").at("devices").empty());
  if (info.nvrtc) CHECK(json.at("nvrtc").at("target_arch") == info.nvrtc->target_arch);
}
