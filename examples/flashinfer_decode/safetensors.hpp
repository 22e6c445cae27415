// The .safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {"name": {"dtype": "F16", "shape": [...],
// "data_offsets": [begin, end]}, ..., "__metadata__": {string: string}}, then the tensors'
// bytes (offsets relative to the end of the header), row-major, little-endian.
// Read with every structural check the format allows; errors name the file and tensor.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "dsl/dtype.hpp"

namespace flashinfer {

struct StoredTensor {
  pto::DType dtype = pto::DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

struct SafetensorsFile {
  std::map<std::string, StoredTensor> tensors;
  std::map<std::string, std::string> metadata;
};

SafetensorsFile read_safetensors(const std::string& path);
// The same checks over a file's bytes in memory; errors name `source`.
SafetensorsFile parse_safetensors(std::span<const std::uint8_t> bytes, const std::string& source);
void write_safetensors(const std::string& path, const SafetensorsFile& file);

// The tensor `name` of `file`, checked to have `dtype` and `shape`; the error names the
// tensor, the expected and the found dtype/shape.
const StoredTensor& expect_tensor(const SafetensorsFile& file, const std::string& path, const std::string& name,
                                  pto::DType dtype, const std::vector<std::int64_t>& shape);

template <typename T>
std::vector<T> values_of(const StoredTensor& tensor) {
  std::vector<T> out(tensor.bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), tensor.bytes.data(), out.size() * sizeof(T));
  return out;
}

template <typename T>
StoredTensor stored(pto::DType dtype, std::vector<std::int64_t> shape, const std::vector<T>& values) {
  StoredTensor out{dtype, std::move(shape), std::vector<std::uint8_t>(values.size() * sizeof(T))};
  if (!values.empty()) std::memcpy(out.bytes.data(), values.data(), out.bytes.size());
  return out;
}

}  // namespace flashinfer
