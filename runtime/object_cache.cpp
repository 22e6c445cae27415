#include "runtime/object_cache.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

namespace {

// The whole of a regular file of at most `limit` bytes, or nullopt. Opened non-blocking and
// checked with fstat before anything is read: a FIFO, a device or a folder at an entry's
// path is passed over, never waited on.
std::optional<std::vector<char>> read_regular_file(const std::filesystem::path& path, std::uint64_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || static_cast<std::uint64_t>(info.st_size) > limit) {
    return std::nullopt;
  }
  std::vector<char> bytes(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got <= 0) return std::nullopt;  // an error, or the file shrank under us
    done += static_cast<std::size_t>(got);
  }
  return bytes;
}

}  // namespace

std::optional<std::vector<char>> ObjectCache::load(const std::string& key) const {
  // magic, key size, key, payload size, checksum, payload; nothing after it.
  const std::uint64_t header = 8 + 8 + key.size() + 8 + 8;
  const std::optional<std::vector<char>> file = read_regular_file(path_for(key), header + (std::uint64_t{1} << 32));
  if (!file || file->size() < header) return std::nullopt;
  const char* at = file->data();
  auto read_u64 = [&at] {
    std::uint64_t value = 0;
    std::memcpy(&value, at, 8);
    at += 8;
    return value;
  };
  if (std::memcmp(at, magic, 8) != 0) return std::nullopt;
  at += 8;
  if (read_u64() != key.size() || std::memcmp(at, key.data(), key.size()) != 0) return std::nullopt;
  at += key.size();
  const std::uint64_t payload_size = read_u64(), checksum = read_u64();
  if (payload_size != file->size() - header) return std::nullopt;  // truncated, or trailing bytes: not ours
  std::vector<char> payload(at, at + payload_size);
  if (fnv1a(payload.data(), payload.size()) != checksum) return std::nullopt;
  return payload;
}

void ObjectCache::warn_unwritable(std::string_view what) const {
  std::lock_guard<std::mutex> guard(warn_mutex_);
  if (warned_) return;
  warned_ = true;
  fmt::print(stderr,
             "PTO-RT: cannot write the kernel cache in {}; {} are compiled again by every process (set "
             "PTO_CACHE_DIR to a writable folder)\n",
             folder_.string(), what);
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
