#include "examples/flashinfer_decode/safetensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <optional>

#include "core/error.hpp"

namespace flashinfer {

using pto::DType;
using pto::Error;

namespace {

// dtype names of the format that this example uses.
const std::pair<const char*, DType> dtype_names[] = {
    {"F16", DType::f16}, {"BF16", DType::bf16}, {"F32", DType::f32}, {"I32", DType::i32}, {"I64", DType::i64}};

std::string name_of(DType dtype) {
  for (const auto& [name, type] : dtype_names)
    if (type == dtype) return name;
  return "?";
}

// The bytes a tensor of this shape holds, or nullopt when that does not fit 64 bits.
std::optional<std::uint64_t> byte_count(const std::vector<std::int64_t>& shape, pto::DType dtype) {
  std::uint64_t n = static_cast<std::uint64_t>(pto::size_bytes(dtype));
  for (const std::int64_t extent : shape) {
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(extent), &n)) return std::nullopt;
  }
  return n;
}

constexpr int max_header_depth = 8;

// The deepest nesting of [ and { in JSON text, outside strings (a linear scan, no parse).
int json_nesting(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  return deepest;
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(fmt::format("cannot open '{}' for reading", path));
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  unsigned char length_bytes[8] = {};
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(length_bytes), 8)) {
    throw Error(fmt::format("'{}' is not a safetensors file: shorter than its 8-byte header length", path));
  }
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
  if (header_length > file_size - 8 || header_length > (100u << 20)) {
    throw Error(fmt::format("'{}' is not a safetensors file: header length {} does not fit its {} bytes", path,
                            header_length, file_size));
  }
  std::string header(header_length, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_length));
  // A safetensors header nests three levels ({name: {shape: [...]}}); a deeper one is not one,
  // and parsing it would cost memory far beyond its size.
  if (const int depth = json_nesting(header); depth > max_header_depth) {
    throw Error(fmt::format("'{}' is not a safetensors file: its header nests {} levels deep (at most {})", path, depth,
                            max_header_depth));
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& error) {
    throw Error(fmt::format("'{}': the safetensors header is not valid JSON: {}", path, error.what()));
  }
  if (!json.is_object()) throw Error(fmt::format("'{}': the safetensors header is not a JSON object", path));
  const std::uint64_t data_size = file_size - 8 - header_length;
  SafetensorsFile file;
  for (const auto& item : json.items()) {
    // Named copies, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::string name = item.key();
    const nlohmann::json& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(fmt::format("'{}': __metadata__ is not an object of strings", path));
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw Error(fmt::format("'{}': __metadata__ '{}' is not a string", path, key));
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const auto bad = [&](const std::string& what) {
      return Error(fmt::format("'{}': tensor '{}': {}", path, name, what));
    };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw bad("needs dtype, shape and data_offsets");
    StoredTensor tensor;
    const std::string dtype = entry["dtype"].is_string() ? entry["dtype"].get<std::string>() : "";
    bool known = false;
    for (const auto& [type_name, type] : dtype_names) {
      if (dtype == type_name) {
        tensor.dtype = type;
        known = true;
      }
    }
    if (!known) throw bad(fmt::format("dtype '{}' is not one of F16, BF16, F32, I32, I64", dtype));
    if (!entry["shape"].is_array()) throw bad("shape is not an array");
    for (const auto& extent : entry["shape"]) {
      if (!extent.is_number_integer() || extent.get<std::int64_t>() < 0)
        throw bad("shape has a negative or non-integer extent");
      tensor.shape.push_back(extent.get<std::int64_t>());
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw bad("data_offsets is not [begin, end]");
    const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    const std::optional<std::uint64_t> needed = byte_count(tensor.shape, tensor.dtype);
    if (!needed)
      throw bad(fmt::format("shape [{}] holds more bytes than 64 bits count", fmt::join(tensor.shape, ", ")));
    const std::uint64_t expected = *needed;
    if (begin > end || end > data_size) {
      throw bad(fmt::format("data_offsets [{}, {}] leave the file's {} data bytes", begin, end, data_size));
    }
    if (end - begin != expected) {
      throw bad(fmt::format("data_offsets span {} bytes, but {} {} needs {}", end - begin, dtype,
                            fmt::join(tensor.shape, "x"), expected));
    }
    tensor.bytes.resize(end - begin);
    in.seekg(static_cast<std::streamoff>(8 + header_length + begin));
    if (!in.read(reinterpret_cast<char*>(tensor.bytes.data()), static_cast<std::streamsize>(tensor.bytes.size())))
      throw bad("could not read its bytes");
    file.tensors.emplace(name, std::move(tensor));
  }
  return file;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    header[name] = {{"dtype", name_of(tensor.dtype)},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
  }
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(fmt::format("cannot open '{}' for writing", path));
  unsigned char length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));
  out.write(reinterpret_cast<const char*>(length_bytes), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& [name, tensor] : file.tensors)
    out.write(reinterpret_cast<const char*>(tensor.bytes.data()), static_cast<std::streamsize>(tensor.bytes.size()));
  if (!out.flush()) throw Error(fmt::format("could not write '{}' (disk full?)", path));
}

const StoredTensor& expect_tensor(const SafetensorsFile& file, const std::string& path, const std::string& name,
                                  DType dtype, const std::vector<std::int64_t>& shape) {
  const auto found = file.tensors.find(name);
  if (found == file.tensors.end()) {
    std::vector<std::string> names;
    for (const auto& entry : file.tensors) names.push_back(entry.first);
    throw Error(fmt::format("'{}' has no tensor '{}' (it has: {}); expected {} [{}]", path, name,
                            names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")), name_of(dtype),
                            fmt::join(shape, ", ")));
  }
  const StoredTensor& tensor = found->second;
  if (tensor.dtype != dtype || tensor.shape != shape) {
    throw Error(fmt::format("'{}': tensor '{}' is {} [{}], expected {} [{}]", path, name, name_of(tensor.dtype),
                            fmt::join(tensor.shape, ", "), name_of(dtype), fmt::join(shape, ", ")));
  }
  return tensor;
}

}  // namespace flashinfer
