#include "runtime/cuda/nvrtc_compiler.hpp"

#include <fmt/format.h>
#include <nvrtc.h>

#include <chrono>
#include <regex>
#include <sstream>

#include "core/dump.hpp"
#include "core/error.hpp"
#include "runtime/cuda/support_header.hpp"

namespace pto::cuda {

namespace {

void check_nvrtc(nvrtcResult result, const char* call) {
  if (result != NVRTC_SUCCESS) throw Error(fmt::format("{} failed: {}", call, nvrtcGetErrorString(result)));
}

// NVRTC's log with, after it, each generated line an error points at ("kernel.cu(42): error").
std::string explain_log(const std::string& log, const std::string& source, const std::string& file) {
  std::vector<std::string> lines;
  std::istringstream stream(source);
  for (std::string text; std::getline(stream, text);) lines.push_back(text);
  std::string out = log;
  const std::regex located(std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                           R"(\((\d+)\): error)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), located); it != std::sregex_iterator(); ++it) {
    const std::size_t number = std::stoul((*it)[1].str());
    if (number >= 1 && number <= lines.size()) {
      out += fmt::format("\n  generated line {}: {}", number, lines[number - 1]);
    }
  }
  return out;
}

}  // namespace

NvrtcCompiler& NvrtcCompiler::instance() {
  static NvrtcCompiler compiler(ObjectCache::default_folder() / "cuda");
  return compiler;
}

NvrtcCompiler::NvrtcCompiler(std::filesystem::path cache_folder) : cache_(std::move(cache_folder)) {
  int major = 0, minor = 0;
  check_nvrtc(nvrtcVersion(&major, &minor), "nvrtcVersion");
  nvrtc_version_ = fmt::format("{}.{}", major, minor);
}

std::string NvrtcCompiler::cache_key(const std::string& source, int arch) const {
  const std::string_view header = support_header_source();
  return fmt::format("cuda|{:016x}-{}|header-{:016x}|sm_{}|nvrtc-{}", fnv1a(source.data(), source.size()),
                     source.size(), fnv1a(header.data(), header.size()), arch, nvrtc_version_);
}

Cubin NvrtcCompiler::compile(const GeneratedKernel& kernel, const std::string& kernel_name, int arch) {
  const auto start = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard(mutex_);
  if (dump_enabled("cuda")) {
    std::error_code error;
    const std::filesystem::path folder = cache_.folder() / "dumps";
    std::filesystem::create_directories(folder, error);
    const std::filesystem::path path = folder / fmt::format("{}-{}.cu", kernel_name, kernel.symbol);
    if (std::FILE* file = std::fopen(path.string().c_str(), "w")) {
      std::fwrite(kernel.source.data(), 1, kernel.source.size(), file);
      std::fclose(file);
      fmt::print(stderr, "PTO_DUMP=cuda: kernel '{}' -> {}\n", kernel_name, path.string());
    } else {
      fmt::print(stderr, "PTO_DUMP=cuda: cannot write {}\n", path.string());
    }
  }
  Cubin cubin;
  cubin.arch = arch;
  const std::string key = cache_key(kernel.source, arch);
  auto finish = [&] {
    cubin.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return cubin;
  };
  if (auto cached = cache_.load(key)) {
    cubin.image = std::move(*cached);
    cubin.from_cache = true;
    return finish();
  }
  const std::string file = kernel_name + ".cu";
  const std::string header(support_header_source());
  const char* headers[] = {header.c_str()};
  const std::string header_name(support_header_name);
  const char* header_names[] = {header_name.c_str()};
  nvrtcProgram program = nullptr;
  check_nvrtc(nvrtcCreateProgram(&program, kernel.source.c_str(), file.c_str(), 1, headers, header_names),
              "nvrtcCreateProgram");
  struct Destroy {
    nvrtcProgram* program;
    ~Destroy() { nvrtcDestroyProgram(program); }
  } destroy{&program};
  const std::string arch_option = fmt::format("--gpu-architecture=sm_{}", arch);
  const char* options[] = {arch_option.c_str(), "--std=c++17", "-fmad=false"};
  const nvrtcResult result = nvrtcCompileProgram(program, 3, options);
  std::size_t log_size = 0;
  nvrtcGetProgramLogSize(program, &log_size);
  std::string log(log_size, '\0');
  if (log_size > 0) nvrtcGetProgramLog(program, log.data());
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  if (result != NVRTC_SUCCESS) {
    throw Error(fmt::format("NVRTC could not compile kernel '{}' for sm_{} ({}): {}\n{}", kernel_name, arch,
                            nvrtcGetErrorString(result), explain_log(log, kernel.source, file),
                            "set PTO_DUMP=cuda to write the generated source"));
  }
  std::size_t size = 0;
  check_nvrtc(nvrtcGetCUBINSize(program, &size), "nvrtcGetCUBINSize");
  cubin.image.resize(size);
  check_nvrtc(nvrtcGetCUBIN(program, cubin.image.data()), "nvrtcGetCUBIN");
  // Best effort: an unwritable cache costs the next start a compile, said once.
  if (!cache_.store(key, cubin.image)) cache_.warn_unwritable("CUDA kernels");
  return finish();
}

}  // namespace pto::cuda
