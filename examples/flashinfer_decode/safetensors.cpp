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

// The header length the first 8 bytes give, checked against the source's size and the
// format's 100 MB cap.
std::uint64_t header_length_of(const unsigned char (&length_bytes)[8], std::uint64_t source_size,
                               const std::string& source) {
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | length_bytes[i];
  if (header_length > source_size - 8 || header_length > (100u << 20)) {
    throw Error(fmt::format("'{}' is not a safetensors file: header length {} does not fit its {} bytes", source,
                            header_length, source_size));
  }
  return header_length;
}

// One tensor the header declares: its dtype and shape, and where its bytes lie in the data.
struct DeclaredTensor {
  std::string name;
  StoredTensor tensor;  // bytes not yet read
  std::uint64_t begin = 0, end = 0;
};

struct Header {
  std::vector<DeclaredTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Every structural check of the header against `data_size` bytes of tensor data.
Header parse_header(const std::string& header, std::uint64_t data_size, const std::string& source) {
  // A safetensors header nests three levels ({name: {shape: [...]}}); a deeper one is not one,
  // and parsing it would cost memory far beyond its size.
  if (const int depth = json_nesting(header); depth > max_header_depth) {
    throw Error(fmt::format("'{}' is not a safetensors file: its header nests {} levels deep (at most {})", source,
                            depth, max_header_depth));
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& error) {
    throw Error(fmt::format("'{}': the safetensors header is not valid JSON: {}", source, error.what()));
  }
  if (!json.is_object()) throw Error(fmt::format("'{}': the safetensors header is not a JSON object", source));
  Header out;
  for (const auto& item : json.items()) {
    // Named copies, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::string name = item.key();
    const nlohmann::json& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(fmt::format("'{}': __metadata__ is not an object of strings", source));
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw Error(fmt::format("'{}': __metadata__ '{}' is not a string", source, key));
        out.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const auto bad = [&](const std::string& what) {
      return Error(fmt::format("'{}': tensor '{}': {}", source, name, what));
    };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw bad("needs dtype, shape and data_offsets");
    DeclaredTensor declared;
    declared.name = name;
    StoredTensor& tensor = declared.tensor;
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
      // is_number_unsigned: JSON integers past INT64_MAX are stored unsigned and must not
      // be read back as negative int64s.
      if (!extent.is_number_unsigned() || extent.get<std::uint64_t>() > std::uint64_t{INT64_MAX})
        throw bad("shape has a negative, non-integer or too large extent");
      tensor.shape.push_back(extent.get<std::int64_t>());
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw bad("data_offsets is not [begin, end]");
    declared.begin = offsets[0].get<std::uint64_t>();
    declared.end = offsets[1].get<std::uint64_t>();
    const std::optional<std::uint64_t> needed = byte_count(tensor.shape, tensor.dtype);
    if (!needed)
      throw bad(fmt::format("shape [{}] holds more bytes than 64 bits count", fmt::join(tensor.shape, ", ")));
    if (declared.begin > declared.end || declared.end > data_size) {
      throw bad(
          fmt::format("data_offsets [{}, {}] leave the file's {} data bytes", declared.begin, declared.end, data_size));
    }
    if (declared.end - declared.begin != *needed) {
      throw bad(fmt::format("data_offsets span {} bytes, but {} {} needs {}", declared.end - declared.begin, dtype,
                            fmt::join(tensor.shape, "x"), *needed));
    }
    out.tensors.push_back(std::move(declared));
  }
  return out;
}

// Reads each declared tensor's bytes with `read(offset into the data, destination, count)`.
template <typename Read>
SafetensorsFile read_tensors(Header header, const std::string& source, Read&& read) {
  SafetensorsFile file;
  file.metadata = std::move(header.metadata);
  for (DeclaredTensor& declared : header.tensors) {
    StoredTensor& tensor = declared.tensor;
    try {
      tensor.bytes.resize(declared.end - declared.begin);
    } catch (const std::bad_alloc&) {
      throw Error(fmt::format("'{}': tensor '{}': no memory for its {} bytes", source, declared.name,
                              declared.end - declared.begin));
    }
    if (!read(declared.begin, tensor.bytes.data(), tensor.bytes.size()))
      throw Error(fmt::format("'{}': tensor '{}': could not read its bytes", source, declared.name));
    file.tensors.emplace(std::move(declared.name), std::move(tensor));
  }
  return file;
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
  const std::uint64_t header_length = header_length_of(length_bytes, file_size, path);
  std::string header(header_length, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_length)))
    throw Error(fmt::format("'{}': could not read its {}-byte header", path, header_length));
  const std::uint64_t data_start = 8 + header_length;
  return read_tensors(
      parse_header(header, file_size - data_start, path), path,
      [&](std::uint64_t offset, std::uint8_t* destination, std::size_t count) {
        in.seekg(static_cast<std::streamoff>(data_start + offset));
        return static_cast<bool>(in.read(reinterpret_cast<char*>(destination), static_cast<std::streamsize>(count)));
      });
}

SafetensorsFile parse_safetensors(std::span<const std::uint8_t> bytes, const std::string& source) {
  if (bytes.size() < 8)
    throw Error(fmt::format("'{}' is not a safetensors file: shorter than its 8-byte header length", source));
  unsigned char length_bytes[8];
  std::memcpy(length_bytes, bytes.data(), 8);
  const std::uint64_t header_length = header_length_of(length_bytes, bytes.size(), source);
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8, header_length);
  const std::span<const std::uint8_t> data = bytes.subspan(8 + header_length);
  return read_tensors(parse_header(header, data.size(), source), source,
                      [&](std::uint64_t offset, std::uint8_t* destination, std::size_t count) {
                        if (count > 0) std::memcpy(destination, data.data() + offset, count);
                        return true;
                      });
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
