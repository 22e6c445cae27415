// A main() for the fuzz targets where libFuzzer is not available (g++ builds, the GPU
// machine): runs LLVMFuzzerTestOneInput once on every file named, or in the folders named,
// in name order. A finding aborts, as under libFuzzer, unless --keep-going is the first
// argument: then every input runs, and the inputs that were findings are listed at the end
// (exit code 1). ctest replays each committed seed corpus this way (tests/fuzz/CMakeLists.txt).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::filesystem::path> inputs;
  int first = 1;
  if (argc > 1 && std::string(argv[1]) == "--keep-going") {
    pto::fuzz::keep_going_after_findings() = true;
    first = 2;
  }
  for (int i = first; i < argc; ++i) {
    const std::filesystem::path path = argv[i];
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path))
        if (entry.is_regular_file()) inputs.push_back(entry.path());
    } else {
      inputs.push_back(path);
    }
  }
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s FILE_OR_FOLDER...: no inputs found\n", argv[0]);
    return 2;
  }
  std::vector<std::filesystem::path> findings;
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 2;
    }
    try {
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    } catch (const pto::fuzz::Finding&) {
      findings.push_back(path);
    }
  }
  std::printf("replayed %zu inputs\n", inputs.size());
  if (findings.empty()) return 0;
  std::printf("%zu findings:\n", findings.size());
  for (const auto& path : findings) std::printf("  %s\n", path.c_str());
  return 1;
}
