#include "frontend/axis.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace pto {

Axis Dense(std::int64_t n) {
  if (n < 0) throw Error(fmt::format("Dense({}): an axis cannot have a negative size", n));
  return Axis{Axis::Kind::dense, 0, n, std::nullopt, fmt::format("Dense({})", n)};
}

Axis DenseDyn(const std::string& size_name) {
  if (size_name.empty()) throw Error("DenseDyn(\"\"): name the size, then bind it with program.set_size(name, n)");
  return Axis{Axis::Kind::dense_dyn, 0, Expr::size(size_name), std::nullopt, fmt::format("DenseDyn({})", size_name)};
}

Axis Ragged(const Expr& outer, const IntArray& lengths) {
  return Axis{Axis::Kind::ragged, 0, lengths[outer], std::nullopt,
              fmt::format("Ragged({}, {})", outer.to_string(), lengths.name())};
}

Axis Sparse(const Expr& outer, const IntArray& indptr, const IntArray& indices) {
  return Axis{Axis::Kind::sparse, indptr[outer], indptr[outer + 1], indices,
              fmt::format("Sparse({}, {}, {})", outer.to_string(), indptr.name(), indices.name())};
}

std::string_view name(Axis::Kind kind) noexcept {
  switch (kind) {
    case Axis::Kind::dense: return "Dense";
    case Axis::Kind::dense_dyn: return "DenseDyn";
    case Axis::Kind::ragged: return "Ragged";
    case Axis::Kind::sparse: return "Sparse";
  }
  return "?";
}

}  // namespace pto
