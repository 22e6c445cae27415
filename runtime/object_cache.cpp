#include "runtime/object_cache.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

namespace pto {

namespace {

constexpr char magic[8] = {'P', 'T', 'O', 'O', 'B', 'J', '1', '\0'};

}  // namespace

std::uint64_t fnv1a(const char* data, std::size_t size) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= static_cast<unsigned char>(data[i]);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::filesystem::path ObjectCache::default_folder() {
  if (const char* dir = std::getenv("PTO_CACHE_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "pto";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "pto";
  }
  return std::filesystem::temp_directory_path() / "pto-cache";
}

ObjectCache::ObjectCache(std::filesystem::path folder) : folder_(std::move(folder)) {}

std::filesystem::path ObjectCache::path_for(const std::string& key) const {
  return folder_ / fmt::format("{:016x}.o", fnv1a(key.data(), key.size()));
}

std::optional<std::vector<char>> ObjectCache::load(const std::string& key) const {
  std::ifstream file(path_for(key), std::ios::binary);
  if (!file) return std::nullopt;
  char header_magic[8];
  std::uint64_t key_size = 0, payload_size = 0, checksum = 0;
  if (!file.read(header_magic, 8) || std::memcmp(header_magic, magic, 8) != 0) return std::nullopt;
  if (!file.read(reinterpret_cast<char*>(&key_size), 8) || key_size != key.size()) return std::nullopt;
  std::string stored_key(key_size, '\0');
  if (!file.read(stored_key.data(), static_cast<std::streamsize>(key_size)) || stored_key != key) return std::nullopt;
  if (!file.read(reinterpret_cast<char*>(&payload_size), 8) || !file.read(reinterpret_cast<char*>(&checksum), 8)) {
    return std::nullopt;
  }
  if (payload_size > (std::uint64_t{1} << 32)) return std::nullopt;
  std::vector<char> payload(payload_size);
  if (!file.read(payload.data(), static_cast<std::streamsize>(payload_size))) return std::nullopt;
  if (file.peek() != std::char_traits<char>::eof()) return std::nullopt;  // trailing bytes: not ours
  if (fnv1a(payload.data(), payload.size()) != checksum) return std::nullopt;
  return payload;
}

bool ObjectCache::store(const std::string& key, const std::vector<char>& object) const {
  std::error_code error;
  std::filesystem::create_directories(folder_, error);
  if (error) return false;
  const std::filesystem::path target = path_for(key);
  std::random_device random;
  const std::filesystem::path temporary = target.string() + fmt::format(".tmp{:08x}", random());
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    const std::uint64_t key_size = key.size(), payload_size = object.size();
    const std::uint64_t checksum = fnv1a(object.data(), object.size());
    file.write(magic, 8);
    file.write(reinterpret_cast<const char*>(&key_size), 8);
    file.write(key.data(), static_cast<std::streamsize>(key.size()));
    file.write(reinterpret_cast<const char*>(&payload_size), 8);
    file.write(reinterpret_cast<const char*>(&checksum), 8);
    file.write(object.data(), static_cast<std::streamsize>(object.size()));
    if (!file) {
      file.close();
      std::filesystem::remove(temporary, error);
      return false;
    }
  }
  std::filesystem::rename(temporary, target, error);
  if (error) {
    std::filesystem::remove(temporary, error);
    return false;
  }
  return true;
}

}  // namespace pto
