// Host tables a workload reads per task: integer arrays (ragged lengths, sparse indptr and
// indices) and work-descriptor tables (an array of a user's POD struct). Both keep a
// pointer to the user's std::vector and read it when a Program executes: refill or resize
// the vector, execute again, and the new rows are used (no kernel is recompiled). The
// vector must outlive the Program and must not change while execute() runs; a temporary
// does not compile (it would be gone by then), and a std::shared_ptr<const std::vector>
// pins the vector for as long as the table lives.
//
//   struct WorkDescriptor { int32_t tier, request, head, kv_start, kv_len; };
//   std::vector<WorkDescriptor> plan = planner.plan();
//   DescriptorTable<WorkDescriptor> work(plan, "plan");
//   w.parallel_for(DenseDyn(work), [&](Idx i) {
//     auto d = work[i];
//     Expr start = d[&WorkDescriptor::kv_start];       // an index expression
//   });
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "frontend/expr.hpp"

namespace pto {

class IntArray {
 public:
  template <typename T>
  IntArray(const std::vector<T>& values, std::string name)
      : source_(std::make_shared<VectorTable<T>>(values, std::move(name))), kind_(int_kind_of<T>()) {}
  template <typename T>
  IntArray(std::shared_ptr<const std::vector<T>> values, std::string name)
      : source_(std::make_shared<VectorTable<T>>(std::move(values), std::move(name))), kind_(int_kind_of<T>()) {}
  template <typename T>
  IntArray(std::vector<T>&& values, std::string name) = delete;  // would dangle: keep it, or pin a shared_ptr

  Expr operator[](const Expr& index) const { return Expr::field(source_, index, 0, kind_, source_->name()); }
  Expr size() const { return Expr::table_rows(source_); }
  const std::string& name() const noexcept { return source_->name(); }

 private:
  std::shared_ptr<const TableSource> source_;
  IntKind kind_;
};

template <typename T>
class DescriptorTable {
  static_assert(std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>,
                "a descriptor must be a plain struct (trivially copyable, standard layout)");

 public:
  // One row of the table, at an index expression; its fields are index expressions.
  class Row {
   public:
    Row(std::shared_ptr<const TableSource> source, Expr index) : source_(std::move(source)), index_(std::move(index)) {}
    template <typename M>
    Expr operator[](M T::*member) const {
      return Expr::field(source_, index_, offset_of(member), int_kind_of<M>(), source_->name());
    }

   private:
    template <typename M>
    static std::size_t offset_of(M T::*member) {
      // The member's distance from the start of a (value-initialised) T: offsetof for a
      // member pointer, valid for standard-layout types.
      static const T probe{};
      return static_cast<std::size_t>(reinterpret_cast<const std::byte*>(&(probe.*member)) -
                                      reinterpret_cast<const std::byte*>(&probe));
    }
    std::shared_ptr<const TableSource> source_;
    Expr index_;
  };

  DescriptorTable(const std::vector<T>& rows, std::string name)
      : source_(std::make_shared<VectorTable<T>>(rows, std::move(name))) {}
  DescriptorTable(std::shared_ptr<const std::vector<T>> rows, std::string name)
      : source_(std::make_shared<VectorTable<T>>(std::move(rows), std::move(name))) {}
  DescriptorTable(std::vector<T>&& rows, std::string name) = delete;  // would dangle: keep it, or pin a shared_ptr

  Row operator[](const Expr& index) const { return Row(source_, index); }
  Expr rows() const { return Expr::table_rows(source_); }
  const std::string& name() const noexcept { return source_->name(); }

 private:
  std::shared_ptr<const TableSource> source_;
};

}  // namespace pto
