// The .safetensors reader and writer: round trips, and every malformed file or unexpected
// tensor named in the error.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "examples/flashinfer_decode/safetensors.hpp"

using namespace flashinfer;
using pto::DType;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("pto_safetensors_test_" + name)).string();
}

void write_raw(const std::string& path, const std::string& header, std::size_t data_bytes) {
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(length >> (8 * i)));
  out << header << std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("safetensors: tensors and metadata round-trip with the format's layout") {
  SafetensorsFile file;
  file.tensors["o"] = stored(DType::f32, {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6.5f});
  file.tensors["q"] = stored(DType::f16, {1, 2}, std::vector<pto::f16_t>{pto::f16_t(0.5f), pto::f16_t(-2.0f)});
  file.metadata["seq_lens"] = "3,4";
  const std::string path = temp_path("round_trip");
  write_safetensors(path, file);
  // The header length is little-endian and the data starts 8-byte aligned.
  std::ifstream raw(path, std::ios::binary);
  unsigned char length_bytes[8];
  raw.read(reinterpret_cast<char*>(length_bytes), 8);
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | length_bytes[i];
  CHECK(length % 8 == 0);
  CHECK(std::filesystem::file_size(path) == 8 + length + 6 * 4 + 2 * 2);

  const SafetensorsFile back = read_safetensors(path);
  CHECK(back.metadata.at("seq_lens") == "3,4");
  CHECK(values_of<float>(expect_tensor(back, path, "o", DType::f32, {2, 3})) ==
        std::vector<float>{1, 2, 3, 4, 5, 6.5f});
  const auto q = values_of<pto::f16_t>(expect_tensor(back, path, "q", DType::f16, {1, 2}));
  CHECK(static_cast<float>(q[1]) == -2.0f);
  std::filesystem::remove(path);
}

TEST_CASE("safetensors: a tensor of the wrong shape, dtype or name is named with what was expected") {
  SafetensorsFile file;
  file.tensors["k"] = stored(DType::f16, {4, 2, 8}, std::vector<pto::f16_t>(64));
  const std::string path = temp_path("expect");
  write_safetensors(path, file);
  const SafetensorsFile back = read_safetensors(path);
  CHECK_THROWS_WITH_AS(expect_tensor(back, path, "k", DType::f16, {5, 2, 8}),
                       doctest::Contains("tensor 'k' is F16 [4, 2, 8], expected F16 [5, 2, 8]"), pto::Error);
  CHECK_THROWS_WITH_AS(expect_tensor(back, path, "k", DType::f32, {4, 2, 8}),
                       doctest::Contains("tensor 'k' is F16 [4, 2, 8], expected F32 [4, 2, 8]"), pto::Error);
  CHECK_THROWS_WITH_AS(expect_tensor(back, path, "q", DType::f16, {1, 2, 8}),
                       doctest::Contains("has no tensor 'q' (it has: k); expected F16 [1, 2, 8]"), pto::Error);
  std::filesystem::remove(path);
}

TEST_CASE("safetensors: malformed files are rejected with the reason") {
  const std::string path = temp_path("bad");
  CHECK_THROWS_WITH_AS(read_safetensors(temp_path("missing")), doctest::Contains("cannot open"), pto::Error);
  write_raw(path, "", 0);
  std::filesystem::resize_file(path, 4);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("shorter than its 8-byte header length"), pto::Error);
  write_raw(path, "{not json", 0);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("not valid JSON"), pto::Error);
  write_raw(path, R"({"x": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", 8);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("tensor 'x': dtype 'F64' is not one of"), pto::Error);
  write_raw(path, R"({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("data_offsets [0, 16] leave the file's 8 data bytes"),
                       pto::Error);
  write_raw(path, R"({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("span 8 bytes, but F32 3 needs 12"), pto::Error);
  write_raw(path, R"({"x": {"dtype": "F32", "shape": [2]}})", 8);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("needs dtype, shape and data_offsets"), pto::Error);
  std::filesystem::remove(path);
}

TEST_CASE("safetensors: shapes whose byte count overflows and headers nested too deep are rejected (#17.3, #17.7)") {
  const std::string path = temp_path("overflow");
  // [2^32, 2^32] F32 wrapped to 0 bytes (x4 = 2^66); [2^62 + 1, 4] F32 to 16 bytes.
  write_raw(path, R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", 16);
  CHECK_THROWS_WITH_AS(
      read_safetensors(path),
      doctest::Contains("tensor 'x': shape [4294967296, 4294967296] holds more bytes than 64 bits count"), pto::Error);
  write_raw(path, R"({"x":{"dtype":"F32","shape":[4611686018427387905,4],"data_offsets":[0,16]}})", 16);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("holds more bytes than 64 bits count"), pto::Error);
  // A header of a million '[' is rejected by a scan, without building a DOM of it.
  write_raw(path, std::string(1 << 20, '['), 0);
  CHECK_THROWS_WITH_AS(read_safetensors(path), doctest::Contains("its header nests 1048576 levels deep (at most 8)"),
                       pto::Error);
  // Brackets inside strings do not count.
  write_raw(path, R"({"__metadata__":{"note":"[[[[[[[[[[[[[["},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
            4);
  CHECK(read_safetensors(path).metadata.at("note") == "[[[[[[[[[[[[[[");
  std::filesystem::remove(path);
}
