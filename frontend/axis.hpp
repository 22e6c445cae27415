// Axes a workload's P loops iterate over.
//
//   Dense(n)                        0 .. n-1, n fixed when the workload is built
//   DenseDyn("name")                0 .. n-1, n bound at execute time (Program::set_size)
//   DenseDyn(table)                 one iteration per row of a descriptor table
//   Ragged(b, lengths)              0 .. lengths[b]-1 for an outer index b (variable-length
//                                   sequences: the tokens of request b)
//   Sparse(i, indptr, indices)      indices[indptr[i]] .. indices[indptr[i+1]-1] (CSR row i)
//
// parallel_for and for_each take any axis but Sparse; select takes Sparse only.
#pragma once

#include <optional>
#include <string>

#include "frontend/expr.hpp"
#include "frontend/tables.hpp"

namespace pto {

struct Axis {
  enum class Kind { dense, dense_dyn, ragged, sparse };
  Kind kind = Kind::dense;
  Expr begin = 0;  // positions [begin, end)
  Expr end = 0;
  std::optional<IntArray> indices;  // sparse: the index a position stands for
  std::string description;          // for messages: "Ragged(b, seq_lens)"
};

Axis Dense(std::int64_t n);
Axis DenseDyn(const std::string& size_name);
template <typename T>
Axis DenseDyn(const DescriptorTable<T>& table) {
  return Axis{Axis::Kind::dense_dyn, 0, table.rows(), std::nullopt, "DenseDyn(" + table.name() + ")"};
}
Axis Ragged(const Expr& outer, const IntArray& lengths);
Axis Sparse(const Expr& outer, const IntArray& indptr, const IntArray& indices);

std::string_view name(Axis::Kind kind) noexcept;

}  // namespace pto
