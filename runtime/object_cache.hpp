// The on-disk cache of compiled kernel objects.
//
// Folder: $PTO_CACHE_DIR, else $XDG_CACHE_HOME/pto, else ~/.cache/pto. One file per key
// (the kernel's structural hash, the LLVM version, the host CPU and its features, and a
// hash of the lowering's sources), holding a header {magic, key, payload size, FNV-1a
// checksum} and the object file. A file whose header, key, size or checksum does not match,
// or which is not a regular file, is treated as absent (and rewritten by the next compile):
// a corrupt or stale entry is never trusted. (The JIT also checks what an object defines
// before adding it: llvm_jit.cpp.)
// Writes go to a temporary file renamed into place, so readers never see half a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pto {

// 64-bit FNV-1a: the cache's checksum, and a content hash for keys.
std::uint64_t fnv1a(const char* data, std::size_t size);

class ObjectCache {
 public:
  // The folder from the environment (not created until something is stored).
  static std::filesystem::path default_folder();

  explicit ObjectCache(std::filesystem::path folder);

  // The entry's object, or nullopt when there is none, or it is not a regular file, or its
  // header, key, size or checksum does not match.
  std::optional<std::vector<char>> load(const std::string& key) const;
  // Returns false (and leaves no partial file) when the folder cannot be written.
  bool store(const std::string& key, const std::vector<char>& object) const;
  // Says on stderr, once per cache, that stores fail (`what`: which kernels lose their cache).
  void warn_unwritable(std::string_view what) const;

  std::filesystem::path path_for(const std::string& key) const;
  const std::filesystem::path& folder() const noexcept { return folder_; }

 private:
  std::filesystem::path folder_;
  mutable std::mutex warn_mutex_;
  mutable bool warned_ = false;
};

}  // namespace pto
