// The LLVM JIT's caches (memory, disk; corrupt and stale entries) and concurrent use.
#include "runtime/cpu/llvm_jit.hpp"
#include "runtime/cpu/lowering_hash.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "runtime/cpu/cpu_kernel.hpp"
#include "runtime/object_cache.hpp"
#include "tests/dsl/dsl_test_util.hpp"

using namespace pto;
using cpu::CompiledFunction;
using cpu::LlvmJit;

namespace {

std::filesystem::path fresh_folder(const std::string& name) {
  const auto folder =
      std::filesystem::temp_directory_path() / fmt::format("pto-jit-test-{}-{}", name, std::random_device{}());
  std::filesystem::remove_all(folder);
  return folder;
}

tl::KernelInstance scale_kernel(double factor) {
  return tl::kernel("scale", [factor](tl::Builder& k) {
    auto x = k.in(tl::tile(4, 32, tl::f32), "x");
    auto y = k.out(tl::tile(4, 32, tl::f32), "y");
    tl::store(y, tl::exp(x) * factor);
  });
}

}  // namespace

TEST_CASE("jit cache: compiled cold, then from memory, then from disk in a new process-like JIT") {
  const auto folder = fresh_folder("tiers");
  const auto kernel = scale_kernel(2.0);
  {
    LlvmJit jit(folder);
    const CompiledFunction cold = jit.get(kernel.ir(), kernel.hash());
    CHECK(cold.source == CompiledFunction::Source::compiled);
    CHECK((cold.function != nullptr));
    CHECK(std::filesystem::exists(jit.cache().path_for(jit.cache_key(kernel.hash()))));
    const CompiledFunction again = jit.get(kernel.ir(), kernel.hash());
    CHECK(again.source == CompiledFunction::Source::memory);
    CHECK((again.function == cold.function));
  }
  LlvmJit restarted(folder);
  const CompiledFunction warm = restarted.get(kernel.ir(), kernel.hash());
  CHECK(warm.source == CompiledFunction::Source::disk);
  // The warm function computes the same thing.
  std::vector<float> x(128), y(128);
  for (int i = 0; i < 128; ++i) x[static_cast<std::size_t>(i)] = 0.01f * static_cast<float>(i);
  ArgSlot slots[2];
  slots[0] = {x.data(), 4, 32, 32, 0, 0};
  slots[1] = {y.data(), 4, 32, 32, 0, 0};
  std::vector<unsigned char> scratch(static_cast<std::size_t>(warm.scratch_bytes) + 64);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(scratch.data()) + 63) / 64 * 64);
  KernelFault fault;
  CHECK(warm.function(slots, aligned, &fault) == 0);
  for (int i = 0; i < 128; ++i)
    CHECK(y[static_cast<std::size_t>(i)] == doctest::Approx(2.0 * std::exp(0.01 * i)).epsilon(1e-5));
  std::filesystem::remove_all(folder);
}

TEST_CASE("jit cache: a corrupt, truncated or foreign entry is never trusted and gets rebuilt") {
  const auto folder = fresh_folder("corrupt");
  const auto kernel = scale_kernel(3.0);
  std::filesystem::path entry;
  {
    LlvmJit jit(folder);
    jit.get(kernel.ir(), kernel.hash());
    entry = jit.cache().path_for(jit.cache_key(kernel.hash()));
  }
  REQUIRE(std::filesystem::exists(entry));
  const auto size = std::filesystem::file_size(entry);
  SUBCASE("a flipped byte in the object") {
    std::fstream file(entry, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size - 10));
    file.put('\x5a');
  }
  SUBCASE("a truncated file") {
    std::filesystem::resize_file(entry, size / 2);
  }
  SUBCASE("garbage") {
    std::ofstream file(entry, std::ios::binary | std::ios::trunc);
    file << "not a PTO object";
  }
  LlvmJit jit(folder);
  const CompiledFunction rebuilt = jit.get(kernel.ir(), kernel.hash());
  CHECK(rebuilt.source == CompiledFunction::Source::compiled);
  LlvmJit again(folder);
  CHECK(again.get(kernel.ir(), kernel.hash()).source == CompiledFunction::Source::disk);  // rewritten, valid
  std::filesystem::remove_all(folder);
}

TEST_CASE("jit cache: an entry holding another kernel's object is refused before it defines anything (#17.9)") {
  const auto folder = fresh_folder("foreign");
  const auto a = scale_kernel(2.0), b = scale_kernel(5.0);
  std::string key_a, key_b;
  {
    LlvmJit jit(folder);
    jit.get(a.ir(), a.hash());
    key_a = jit.cache_key(a.hash());
    key_b = jit.cache_key(b.hash());
  }
  // B's entry now holds A's object, with a valid header and checksum for B's key.
  const ObjectCache cache(folder);
  const auto object_a = cache.load(key_a);
  REQUIRE(object_a.has_value());
  REQUIRE(cache.store(key_b, *object_a));
  LlvmJit jit(folder);
  // On fb9f0f2 loading B's entry defined A's symbol and left it in the process: A's own
  // load then failed with "Duplicate definition of symbol".
  CHECK(jit.get(b.ir(), b.hash()).source == CompiledFunction::Source::compiled);
  CHECK(jit.get(a.ir(), a.hash()).source == CompiledFunction::Source::disk);
  std::vector<float> x(128, 0.5f), y(128, 0.0f);
  ArgSlot slots[2];
  slots[0] = {x.data(), 4, 32, 32, 0, 0};
  slots[1] = {y.data(), 4, 32, 32, 0, 0};
  const CompiledFunction fb = jit.get(b.ir(), b.hash());
  std::vector<unsigned char> scratch(static_cast<std::size_t>(fb.scratch_bytes) + 64);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(scratch.data()) + 63) / 64 * 64);
  KernelFault fault;
  CHECK(fb.function(slots, aligned, &fault) == 0);
  CHECK(y[0] == doctest::Approx(5.0 * std::exp(0.5)).epsilon(1e-5));  // B's code, not A's
  std::filesystem::remove_all(folder);
}

TEST_CASE("jit cache: a FIFO at an entry's path is passed over, not waited on (#17.9)") {
  const auto folder = fresh_folder("fifo");
  const auto kernel = scale_kernel(3.0);
  std::string path;
  {
    LlvmJit jit(folder);
    path = jit.cache().path_for(jit.cache_key(kernel.hash())).string();
  }
  std::filesystem::create_directories(folder);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  LlvmJit jit(folder);
  CHECK(jit.get(kernel.ir(), kernel.hash()).source == CompiledFunction::Source::compiled);  // no hang
  std::filesystem::remove_all(folder);
}

TEST_CASE("jit cache: keys differ per kernel structure and carry the LLVM version and CPU") {
  const auto folder = fresh_folder("keys");
  LlvmJit jit(folder);
  const auto a = scale_kernel(2.0), b = scale_kernel(4.0);
  CHECK(jit.cache_key(a.hash()) != jit.cache_key(b.hash()));
  CHECK(jit.cache_key(a.hash()).find("llvm-") != std::string::npos);
  CHECK(jit.cache_key(a.hash()).find(jit.host_cpu()) != std::string::npos);
  std::filesystem::remove_all(folder);
}

TEST_CASE("jit cache: keys carry a hash of the lowering's sources, not a hand-bumped version") {
  const auto folder = fresh_folder("lowering-key");
  LlvmJit jit(folder);
  const std::string lowering = PTO_LLVM_LOWERING_HASH;
  CHECK(lowering.size() == 16);
  CHECK(lowering.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(jit.cache_key(scale_kernel(2.0).hash()).find("|lowering-" + lowering + "|") != std::string::npos);
  std::filesystem::remove_all(folder);
}

TEST_CASE("a compiled kernel runs on many threads at once") {
  const auto kernel = scale_kernel(0.5);
  const cpu::CpuKernel compiled(kernel);
  CHECK(compiled.engine() == cpu::Engine::llvm);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> x(128), y(128);
      for (int i = 0; i < 128; ++i) x[static_cast<std::size_t>(i)] = 0.001f * static_cast<float>(i + t);
      for (int repeat = 0; repeat < 200; ++repeat) {
        compiled.run(KernelArgs().set("x", view(x, 4, 32)).set("y", view(y, 4, 32)));
        for (int i = 0; i < 128; ++i) {
          if (std::fabs(y[static_cast<std::size_t>(i)] - 0.5f * std::exp(x[static_cast<std::size_t>(i)])) > 1e-5f)
            wrong++;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("kernels compiled from many threads at once: each thread gets its own kernel's code") {
  // Eight threads, four distinct kernels (two threads per kernel race for the same one), one
  // JIT with a fresh disk cache: every thread runs the factor it asked for. CI runs this
  // under ThreadSanitizer.
  const auto folder = fresh_folder("concurrent");
  LlvmJit jit(folder);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const double factor = 1.0 + t % 4;
      const auto kernel = scale_kernel(factor);
      const CompiledFunction compiled = jit.get(kernel.ir(), kernel.hash());
      const cpu::CpuKernel runner(kernel);
      std::vector<float> x(128, 0.25f), y(128);
      runner.run(KernelArgs().set("x", view(x, 4, 32)).set("y", view(y, 4, 32)));
      if (compiled.function == nullptr || std::fabs(y[0] - static_cast<float>(factor) * std::exp(0.25f)) > 1e-5f)
        wrong++;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong.load() == 0);
  std::filesystem::remove_all(folder);
}

TEST_CASE("the cache folder: PTO_CACHE_DIR, else XDG_CACHE_HOME/pto, else ~/.cache/pto") {
  auto saved = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  };
  const auto pto_dir = saved("PTO_CACHE_DIR"), xdg = saved("XDG_CACHE_HOME"), home = saved("HOME");
  setenv("PTO_CACHE_DIR", "/tmp/pto-explicit", 1);
  CHECK(ObjectCache::default_folder() == "/tmp/pto-explicit");
  unsetenv("PTO_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  CHECK(ObjectCache::default_folder() == "/tmp/xdg/pto");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/tmp/home", 1);
  CHECK(ObjectCache::default_folder() == "/tmp/home/.cache/pto");
  auto restore = [](const char* name, const std::optional<std::string>& value) {
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  };
  restore("PTO_CACHE_DIR", pto_dir);
  restore("XDG_CACHE_HOME", xdg);
  restore("HOME", home);
}
