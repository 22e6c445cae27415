#include "runtime/cpu/llvm_lowering.hpp"

#include <fmt/format.h>
#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <cmath>
#include <functional>

#include "core/error.hpp"
#include "core/kernel_abi.hpp"
#include "dsl/kernel_index.hpp"
#include "dsl/op_formulas.hpp"
#include "dsl/op_table.hpp"
#include "dsl/visitor.hpp"
#include "runtime/cpu/cpu_kernel.hpp"

namespace pto::cpu {

namespace {

constexpr std::int64_t tile_alignment = 64;

bool holds_tile(const ir::Type& type) {
  return type.is_tile();
}

// Scratch offset of every tile value (and of every loop-carried tile buffer, which is the
// body argument's value), laid out one after another, each 64-byte aligned.
struct ScratchLayout {
  std::vector<std::int64_t> offset;  // per ValueId, -1 for non-tiles
  std::int64_t bytes = 0;

  explicit ScratchLayout(const ir::Kernel& kernel) : offset(kernel.values.size(), -1) {
    for (std::size_t id = 0; id < kernel.values.size(); ++id) {
      const ir::Type& type = kernel.values[id].type;
      if (!holds_tile(type)) continue;
      offset[id] = bytes;
      const std::int64_t element = type.dtype == DType::i64 ? 8 : 4;
      bytes += (type.elements() * element + tile_alignment - 1) / tile_alignment * tile_alignment;
    }
  }
};

class Lowering : public ir::NodeVisitor<Lowering> {
  friend class ir::NodeVisitor<Lowering>;

 public:
  Lowering(const ir::Kernel& kernel, const ir::KernelIndex& index, llvm::LLVMContext& context, llvm::Module& module,
           const std::string& symbol)
      : kernel_(kernel),
        index_(index),
        context_(context),
        module_(module),
        b_(context),
        layout_(kernel),
        values_(kernel.values.size()) {
    i32_ = llvm::Type::getInt32Ty(context_);
    i64_ = llvm::Type::getInt64Ty(context_);
    f32_ = llvm::Type::getFloatTy(context_);
    f64_ = llvm::Type::getDoubleTy(context_);
    i8ptr_ = llvm::Type::getInt8PtrTy(context_);
    // core/kernel_abi.hpp's structs, field for field (its static_asserts pin the offsets).
    slot_type_ = llvm::StructType::create(context_, {i8ptr_, i64_, i64_, i64_, i64_, f64_}, "pto.ArgSlot");
    auto* fault_type =
        llvm::StructType::create(context_, {i32_, i32_, i64_, llvm::ArrayType::get(i64_, 4)}, "pto.KernelFault");
    fault_type_ = fault_type;
    auto* fn_type = llvm::FunctionType::get(
        i32_, {llvm::PointerType::getUnqual(slot_type_), i8ptr_, llvm::PointerType::getUnqual(fault_type)}, false);
    fn_ = llvm::Function::Create(fn_type, llvm::Function::ExternalLinkage, symbol, module_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    for (unsigned i = 0; i < 3; ++i) fn_->addParamAttr(i, llvm::Attribute::NoAlias);
    fn_->addParamAttr(1, llvm::Attribute::getWithAlignment(context_, llvm::Align(tile_alignment)));
    args_ = fn_->getArg(0);
    scratch_ = fn_->getArg(1);
    fault_ = fn_->getArg(2);
    build_tile_alias_info();
  }

  std::int64_t scratch_bytes() const { return layout_.bytes; }

  void run() {
    b_.SetInsertPoint(llvm::BasicBlock::Create(context_, "entry", fn_));
    block(kernel_.body);
    b_.CreateRet(llvm::ConstantInt::get(i32_, 0));
    std::string problems;
    llvm::raw_string_ostream stream(problems);
    if (llvm::verifyFunction(*fn_, &stream)) {
      throw InternalError(
          fmt::format("LLVM lowering of kernel '{}' produced invalid IR: {}", kernel_.name, stream.str()));
    }
  }

 private:
  // ---- types and element access -----------------------------------------------------------

  llvm::Type* compute_type(DType dtype) const { return dtype == DType::i64 ? i64_ : dtype == DType::i32 ? i32_ : f32_; }

  llvm::Value* tile_pointer(ir::ValueId id) {
    const std::int64_t offset = layout_.offset.at(static_cast<std::size_t>(id));
    const ir::Type& type = kernel_.type_of(id);
    llvm::Value* byte = b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), scratch_, static_cast<std::uint64_t>(offset));
    return b_.CreateBitCast(byte, llvm::PointerType::getUnqual(compute_type(type.dtype)));
  }

  llvm::Value* element_pointer(ir::ValueId id, llvm::Value* index) {
    return b_.CreateInBoundsGEP(compute_type(kernel_.type_of(id).dtype), tile_pointer(id), index);
  }

  llvm::Value* i64(std::int64_t v) { return llvm::ConstantInt::get(i64_, static_cast<std::uint64_t>(v), true); }

  // Element (r, c) of a value, broadcasting scalars and extent-1 dimensions, in its own
  // compute type.
  llvm::Value* element(ir::ValueId id, llvm::Value* r, llvm::Value* c) {
    const ir::Type& type = kernel_.type_of(id);
    if (type.is_scalar()) return values_[static_cast<std::size_t>(id)];
    if (index_.fused(id)) {  // computed here, in the consumer's loop
      const ir::Node& node = *index_.definition(id);
      std::vector<llvm::Value*> in;
      std::vector<DType> in_dtypes;
      for (ir::ValueId operand : node.operands) {
        in.push_back(element(operand, r, c));
        in_dtypes.push_back(kernel_.type_of(operand).dtype);
      }
      return apply(node, type, in, in_dtypes);
    }
    llvm::Value* row = type.rows == 1 ? i64(0) : r;
    llvm::Value* col = type.cols == 1 ? i64(0) : c;
    llvm::Value* index = b_.CreateAdd(b_.CreateMul(row, i64(type.cols)), col);
    return tag_tile_access(b_.CreateLoad(compute_type(type.dtype), element_pointer(id, index)), id);
  }

  void store_element(ir::ValueId id, llvm::Value* r, llvm::Value* c, llvm::Value* value) {
    const ir::Type& type = kernel_.type_of(id);
    llvm::Value* index = b_.CreateAdd(b_.CreateMul(r, i64(type.cols)), c);
    tag_tile_access(b_.CreateStore(value, element_pointer(id, index)), id);
  }

  // Tiles are disjoint regions of one scratch buffer, indexed by run-time loop counters that
  // alias analysis cannot bound: without help LLVM must assume a store to one tile may change
  // another, which kept `exp(x - rowmax(x))` from hoisting the row maximum and vectorising.
  // Each tile gets a TBAA type of its own, siblings under one root, so accesses to two tiles
  // do not alias. That costs metadata linear in the tiles; alias-scope lists (each tile's
  // naming every other) grew quadratically: 30k ops took 7.2 GB to compile.
  void build_tile_alias_info() {
    llvm::MDBuilder metadata(context_);
    llvm::MDNode* root = metadata.createTBAARoot("pto.tiles");
    tile_tbaa_.assign(kernel_.values.size(), nullptr);
    for (std::size_t id = 0; id < kernel_.values.size(); ++id) {
      if (layout_.offset[id] < 0) continue;
      llvm::MDNode* type = metadata.createTBAAScalarTypeNode(fmt::format("tile%{}", id), root);
      tile_tbaa_[id] = metadata.createTBAAStructTagNode(type, type, 0);
    }
  }

  template <typename Access>
  Access* tag_tile_access(Access* access, ir::ValueId id) {
    access->setMetadata(llvm::LLVMContext::MD_tbaa, tile_tbaa_[static_cast<std::size_t>(id)]);
    return access;
  }

  // Converts between compute types (float <-> int, int widths). `signed` integers.
  llvm::Value* convert(llvm::Value* value, DType from, DType to) {
    llvm::Type* target = compute_type(to);
    if (value->getType() == target) return is_float(to) ? round_value(value, to) : value;
    if (is_float(from) && is_float(to)) return round_value(value, to);
    if (is_integer(from) && is_float(to)) return round_value(b_.CreateSIToFP(value, f32_), to);
    if (is_float(from) && is_integer(to)) {
      // Truncate toward zero, saturate, NaN -> 0: llvm.fptosi.sat, exactly the interpreter's rule.
      return b_.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {target, f32_}, {value});
    }
    return b_.CreateSExtOrTrunc(value, target);
  }

  // A float rounded to what `dtype` holds (f16/bf16 storage), still as f32.
  llvm::Value* round_value(llvm::Value* value, DType dtype) {
    if (dtype == DType::f16) return b_.CreateFPExt(b_.CreateFPTrunc(value, b_.getHalfTy()), f32_);
    if (dtype == DType::bf16) return bf16_bits_to_float(float_to_bf16_bits(value));
    return value;
  }

  // Round to nearest even, NaN kept quiet: the interpreter's (and CUDA's) bf16 rounding.
  llvm::Value* float_to_bf16_bits(llvm::Value* value) {
    llvm::Value* bits = b_.CreateBitCast(value, i32_);
    llvm::Value* lsb = b_.CreateAnd(b_.CreateLShr(bits, 16), 1);
    llvm::Value* rounded = b_.CreateLShr(b_.CreateAdd(bits, b_.CreateAdd(lsb, b_.getInt32(0x7fff))), 16);
    llvm::Value* is_nan = b_.CreateICmpUGT(b_.CreateAnd(bits, 0x7fffffff), b_.getInt32(0x7f800000));
    llvm::Value* quiet = b_.CreateOr(b_.CreateLShr(bits, 16), 0x40);
    return b_.CreateTrunc(b_.CreateSelect(is_nan, quiet, rounded), b_.getInt16Ty());
  }

  llvm::Value* bf16_bits_to_float(llvm::Value* bits16) {
    return b_.CreateBitCast(b_.CreateShl(b_.CreateZExt(bits16, i32_), 16), f32_);
  }

  // Reads element `offset` of a tensor in memory (its storage dtype) as a compute value.
  llvm::Value* load_memory(llvm::Value* data, DType dtype, llvm::Value* offset) {
    switch (dtype) {
      case DType::f16: {
        llvm::Value* ptr = b_.CreateInBoundsGEP(
            b_.getHalfTy(), b_.CreateBitCast(data, llvm::PointerType::getUnqual(b_.getHalfTy())), offset);
        return b_.CreateFPExt(b_.CreateLoad(b_.getHalfTy(), ptr), f32_);
      }
      case DType::bf16: {
        llvm::Value* ptr = b_.CreateInBoundsGEP(
            b_.getInt16Ty(), b_.CreateBitCast(data, llvm::PointerType::getUnqual(b_.getInt16Ty())), offset);
        return bf16_bits_to_float(b_.CreateLoad(b_.getInt16Ty(), ptr));
      }
      case DType::f32:
      case DType::i32:
      case DType::i64: {
        llvm::Type* type = compute_type(dtype);
        llvm::Value* ptr =
            b_.CreateInBoundsGEP(type, b_.CreateBitCast(data, llvm::PointerType::getUnqual(type)), offset);
        return b_.CreateLoad(type, ptr);
      }
    }
    return nullptr;
  }

  void store_memory(llvm::Value* data, DType dtype, llvm::Value* offset, llvm::Value* value) {
    switch (dtype) {
      case DType::f16: {
        llvm::Value* ptr = b_.CreateInBoundsGEP(
            b_.getHalfTy(), b_.CreateBitCast(data, llvm::PointerType::getUnqual(b_.getHalfTy())), offset);
        b_.CreateStore(b_.CreateFPTrunc(value, b_.getHalfTy()), ptr);
        return;
      }
      case DType::bf16: {
        llvm::Value* ptr = b_.CreateInBoundsGEP(
            b_.getInt16Ty(), b_.CreateBitCast(data, llvm::PointerType::getUnqual(b_.getInt16Ty())), offset);
        b_.CreateStore(float_to_bf16_bits(value), ptr);
        return;
      }
      case DType::f32:
      case DType::i32:
      case DType::i64: {
        llvm::Type* type = compute_type(dtype);
        llvm::Value* ptr =
            b_.CreateInBoundsGEP(type, b_.CreateBitCast(data, llvm::PointerType::getUnqual(type)), offset);
        b_.CreateStore(value, ptr);
        return;
      }
    }
  }

  llvm::Value* slot_field(int param, ArgSlotField field) {
    const auto index = static_cast<unsigned>(field);
    llvm::Value* slot = b_.CreateInBoundsGEP(slot_type_, args_, b_.getInt64(static_cast<std::uint64_t>(param)));
    llvm::Value* ptr = b_.CreateStructGEP(slot_type_, slot, index);
    return b_.CreateLoad(slot_type_->getElementType(index), ptr);
  }

  // ---- control flow helpers -----------------------------------------------------------------

  // for (i = begin; i < end; ++i) body(i), i64.
  void loop(llvm::Value* begin, llvm::Value* end, const std::function<void(llvm::Value*)>& body) {
    // A one-trip loop (the row loop of a [1, n] tile, every loop of a [1, 1] tile) is just
    // its body: fewer loops for the optimiser to chew on, which is most of compile time.
    const auto* first = llvm::dyn_cast<llvm::ConstantInt>(begin);
    const auto* last = llvm::dyn_cast<llvm::ConstantInt>(end);
    if (first != nullptr && last != nullptr && last->getSExtValue() - first->getSExtValue() == 1) {
      body(begin);
      return;
    }
    llvm::BasicBlock* before = b_.GetInsertBlock();
    llvm::BasicBlock* header = llvm::BasicBlock::Create(context_, "loop", fn_);
    llvm::BasicBlock* inside = llvm::BasicBlock::Create(context_, "body", fn_);
    llvm::BasicBlock* after = llvm::BasicBlock::Create(context_, "done", fn_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* i = b_.CreatePHI(i64_, 2);
    i->addIncoming(begin, before);
    b_.CreateCondBr(b_.CreateICmpSLT(i, end), inside, after);
    b_.SetInsertPoint(inside);
    body(i);
    llvm::Value* next = b_.CreateAdd(i, i64(1));
    i->addIncoming(next, b_.GetInsertBlock());
    b_.CreateBr(header);
    b_.SetInsertPoint(after);
  }

  void loop2(const ir::Type& shape, const std::function<void(llvm::Value*, llvm::Value*)>& body) {
    loop(i64(0), i64(shape.rows),
         [&](llvm::Value* r) { loop(i64(0), i64(shape.cols), [&](llvm::Value* c) { body(r, c); }); });
  }

  // if (condition) { record the fault; return its code }
  llvm::Value* fault_field(KernelFaultField field) {
    return b_.CreateStructGEP(fault_type_, fault_, static_cast<unsigned>(field));
  }

  void fault_if(llvm::Value* condition, const ir::Node& node, FaultCode code,
                std::initializer_list<llvm::Value*> values) {
    llvm::BasicBlock* failed = llvm::BasicBlock::Create(context_, "fault", fn_);
    llvm::BasicBlock* fine = llvm::BasicBlock::Create(context_, "ok", fn_);
    b_.CreateCondBr(condition, failed, fine);
    b_.SetInsertPoint(failed);
    b_.CreateStore(b_.getInt32(static_cast<std::uint32_t>(code)), fault_field(KernelFaultField::code));
    b_.CreateStore(b_.getInt32(static_cast<std::uint32_t>(index_.position(node))), fault_field(KernelFaultField::node));
    unsigned i = 0;
    for (llvm::Value* value : values) {
      llvm::Value* array = fault_field(KernelFaultField::values);
      b_.CreateStore(b_.CreateSExtOrTrunc(value, i64_),
                     b_.CreateConstInBoundsGEP2_32(llvm::ArrayType::get(i64_, 4), array, 0, i++));
    }
    b_.CreateRet(b_.getInt32(static_cast<std::uint32_t>(code)));
    b_.SetInsertPoint(fine);
  }

  llvm::Value* as_i64(ir::ValueId id) { return b_.CreateSExtOrTrunc(values_[static_cast<std::size_t>(id)], i64_); }

  llvm::Value* clamp(llvm::Value* v, std::int64_t high) {
    llvm::Value* low_clamped = b_.CreateSelect(b_.CreateICmpSLT(v, i64(0)), i64(0), v);
    return b_.CreateSelect(b_.CreateICmpSGT(low_clamped, i64(high)), i64(high), low_clamped);
  }

  llvm::Value* reassoc(llvm::Value* value) {
    if (auto* instruction = llvm::dyn_cast<llvm::Instruction>(value)) {
      llvm::FastMathFlags flags;
      flags.setAllowReassoc();
      instruction->setFastMathFlags(flags);
    }
    return value;
  }

  // ---- nodes --------------------------------------------------------------------------------

  void block(const ir::Block& body) {
    for (const ir::Node& node : body.nodes) {
      if (node.op == ir::Op::yield) return;  // handled by the enclosing loop
      visit(node);
    }
  }

  // ---- nodes: NodeVisitor's handlers ----------------------------------------------------------

  void visit_param(const ir::Node& node) {
    const ir::Param& p = kernel_.params[static_cast<std::size_t>(node.param)];
    if (p.type.is_scalar()) {
      values_[static_cast<std::size_t>(p.value)] =
          is_integer(p.type.dtype)
              ? b_.CreateTrunc(slot_field(node.param, ArgSlotField::integer), compute_type(p.type.dtype))
              : b_.CreateFPTrunc(slot_field(node.param, ArgSlotField::number), f32_);
      return;
    }
    if (p.type.is_tile() && p.role != ir::ParamRole::out) copy_tile_in(node.param, p.value);
  }

  void copy_tile_in(int param, ir::ValueId into) {
    const ir::Type& type = kernel_.type_of(into);
    llvm::Value* data = slot_field(param, ArgSlotField::data);
    llvm::Value* stride = slot_field(param, ArgSlotField::stride);
    loop2(type, [&](llvm::Value* r, llvm::Value* c) {
      store_element(into, r, c, load_memory(data, type.dtype, b_.CreateAdd(b_.CreateMul(r, stride), c)));
    });
  }

  void visit_constant(const ir::Node& node) {
    const ir::ValueId id = node.results[0];
    const ir::Type& type = kernel_.type_of(id);
    auto number = [&](double x) -> llvm::Value* {
      if (is_float(type.dtype))
        return llvm::ConstantFP::get(f32_, static_cast<double>(round_to(type.dtype, static_cast<float>(x))));
      return llvm::ConstantInt::get(compute_type(type.dtype), static_cast<std::uint64_t>(static_cast<std::int64_t>(x)),
                                    true);
    };
    switch (ir::as_constant(node.op)) {
      case ir::ConstantOp::constant: values_[static_cast<std::size_t>(id)] = number(node.number); return;
      case ir::ConstantOp::full: {
        llvm::Value* value = number(node.number);
        loop2(type, [&](llvm::Value* r, llvm::Value* c) { store_element(id, r, c, value); });
        return;
      }
      case ir::ConstantOp::iota:
        loop2(type, [&](llvm::Value* r, llvm::Value* c) {
          llvm::Value* index = node.axis == 0 ? r : c;
          store_element(id, r, c,
                        is_float(type.dtype) ? b_.CreateSIToFP(index, f32_)
                                             : b_.CreateSExtOrTrunc(index, compute_type(type.dtype)));
        });
        return;
    }
  }

  void bounds_check(const ir::Node& node, int param, llvm::Value* row, llvm::Value* col, llvm::Value* vr,
                    llvm::Value* vc, FaultCode code) {
    llvm::Value* rows = slot_field(param, ArgSlotField::rows);
    llvm::Value* cols = slot_field(param, ArgSlotField::cols);
    // kernel_faults.hpp's region_outside, never forming row + vr (rows - row wraps harmlessly
    // when row < 0, which is outside already).
    llvm::Value* nonempty = b_.CreateAnd(b_.CreateICmpSGT(vr, i64(0)), b_.CreateICmpSGT(vc, i64(0)));
    llvm::Value* negative = b_.CreateOr(b_.CreateICmpSLT(row, i64(0)), b_.CreateICmpSLT(col, i64(0)));
    llvm::Value* past = b_.CreateOr(b_.CreateICmpSGT(row, rows), b_.CreateICmpSGT(col, cols));
    llvm::Value* too_long =
        b_.CreateOr(b_.CreateICmpSGT(vr, b_.CreateSub(rows, row)), b_.CreateICmpSGT(vc, b_.CreateSub(cols, col)));
    llvm::Value* outside = b_.CreateOr(negative, b_.CreateOr(past, too_long));
    fault_if(b_.CreateAnd(nonempty, outside), node, code, {row, col, vr, vc});
  }

  void visit_load(const ir::Node& node) {
    const ir::Type& type = kernel_.type_of(node.results[0]);
    llvm::Value* row = as_i64(node.operands[1]);
    llvm::Value* col = as_i64(node.operands[2]);
    llvm::Value* vr = clamp(as_i64(node.operands[3]), type.rows);
    llvm::Value* vc = clamp(as_i64(node.operands[4]), type.cols);
    bounds_check(node, node.param, row, col, vr, vc, FaultCode::load_out_of_bounds);
    fill_loaded(node, col, vr, vc, [&](llvm::Value* r) { return b_.CreateAdd(row, r); });
  }

  // Tile row r < vr is the global's row index[r / group] * group + r % group; every valid
  // row is checked, in order, before the copy (the interpreter's rule: the first row outside
  // is the fault).
  void visit_load_rows(const ir::Node& node) {
    const ir::Type& type = kernel_.type_of(node.results[0]);
    const ir::ValueId index = node.operands[1];
    llvm::Value* col = as_i64(node.operands[2]);
    llvm::Value* vr = clamp(as_i64(node.operands[3]), type.rows);
    llvm::Value* vc = clamp(as_i64(node.operands[4]), type.cols);
    const auto gathered = [&, group = i64(node.step)](llvm::Value* r) {
      // r >= 0, and an i32 entry times a group of at most a tile's rows cannot overflow.
      llvm::Value* entry = b_.CreateSExt(element(index, b_.CreateUDiv(r, group), i64(0)), i64_);
      return b_.CreateAdd(b_.CreateMul(entry, group), b_.CreateURem(r, group));
    };
    loop(i64(0), vr, [&](llvm::Value* r) {
      bounds_check(node, node.param, gathered(r), col, i64(1), vc, FaultCode::load_out_of_bounds);
    });
    fill_loaded(node, col, vr, vc, gathered);
  }

  // The loaded tile: the pad first (only when part of the tile is masked), then the valid
  // region, row r from source_row(r), with a contiguous, vectorisable inner loop.
  void fill_loaded(const ir::Node& node, llvm::Value* col, llvm::Value* vr, llvm::Value* vc,
                   const std::function<llvm::Value*(llvm::Value*)>& source_row) {
    const ir::ValueId id = node.results[0];
    const ir::Type& type = kernel_.type_of(id);
    llvm::Value* partial = b_.CreateOr(b_.CreateICmpSLT(vr, i64(type.rows)), b_.CreateICmpSLT(vc, i64(type.cols)));
    llvm::BasicBlock* pad_block = llvm::BasicBlock::Create(context_, "pad", fn_);
    llvm::BasicBlock* copy_block = llvm::BasicBlock::Create(context_, "copy", fn_);
    b_.CreateCondBr(partial, pad_block, copy_block);
    b_.SetInsertPoint(pad_block);
    llvm::Value* pad =
        is_float(type.dtype)
            ? static_cast<llvm::Value*>(llvm::ConstantFP::get(
                  f32_, static_cast<double>(round_to(type.dtype, static_cast<float>(node.number)))))
            : llvm::ConstantInt::get(compute_type(type.dtype),
                                     static_cast<std::uint64_t>(static_cast<std::int64_t>(node.number)), true);
    loop2(type, [&](llvm::Value* r, llvm::Value* c) { store_element(id, r, c, pad); });
    b_.CreateBr(copy_block);
    b_.SetInsertPoint(copy_block);
    llvm::Value* data = slot_field(node.param, ArgSlotField::data);
    llvm::Value* stride = slot_field(node.param, ArgSlotField::stride);
    loop(i64(0), vr, [&](llvm::Value* r) {
      llvm::Value* base = b_.CreateAdd(b_.CreateMul(source_row(r), stride), col);
      loop(i64(0), vc,
           [&](llvm::Value* c) { store_element(id, r, c, load_memory(data, type.dtype, b_.CreateAdd(base, c))); });
    });
  }

  void visit_load_scalar(const ir::Node& node) {
    llvm::Value* row = as_i64(node.operands[1]);
    llvm::Value* col = as_i64(node.operands[2]);
    bounds_check(node, node.param, row, col, i64(1), i64(1), FaultCode::load_out_of_bounds);
    const DType dtype = kernel_.params[static_cast<std::size_t>(node.param)].type.dtype;
    llvm::Value* offset = b_.CreateAdd(b_.CreateMul(row, slot_field(node.param, ArgSlotField::stride)), col);
    values_[static_cast<std::size_t>(node.results[0])] =
        load_memory(slot_field(node.param, ArgSlotField::data), dtype, offset);
  }

  void visit_store(const ir::Node& node) {
    const ir::Param& p = kernel_.params[static_cast<std::size_t>(node.param)];
    const ir::ValueId value = node.operands[1];
    const ir::Type& type = kernel_.type_of(value);
    llvm::Value* data = slot_field(node.param, ArgSlotField::data);
    llvm::Value* stride = slot_field(node.param, ArgSlotField::stride);
    llvm::Value* row = i64(0);
    llvm::Value* col = i64(0);
    llvm::Value* vr = i64(type.rows);
    llvm::Value* vc = i64(type.cols);
    if (p.type.is_global()) {
      row = as_i64(node.operands[2]);
      col = as_i64(node.operands[3]);
      vr = clamp(as_i64(node.operands[4]), type.rows);
      vc = clamp(as_i64(node.operands[5]), type.cols);
      bounds_check(node, node.param, row, col, vr, vc, FaultCode::store_out_of_bounds);
    }
    loop(i64(0), vr, [&](llvm::Value* r) {
      llvm::Value* base = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(row, r), stride), col);
      loop(i64(0), vc, [&](llvm::Value* c) {
        llvm::Value* x = element(value, r, c);
        store_memory(data, p.type.dtype, b_.CreateAdd(base, c), convert(x, type.dtype, p.type.dtype));
      });
    });
  }

  void visit_read_output(const ir::Node& node) { copy_tile_in(node.param, node.results[0]); }

  // One element of an elementwise op, from operand values in their compute types.
  llvm::Value* apply(const ir::Node& node, const ir::Type& result, const std::vector<llvm::Value*>& in,
                     const std::vector<DType>& in_dtypes) {
    switch (ir::category(node.op)) {
      case ir::OpCategory::cast: return convert(in[0], in_dtypes[0], result.dtype);
      case ir::OpCategory::select: {
        llvm::Value* condition = b_.CreateICmpNE(in[0], llvm::ConstantInt::get(in[0]->getType(), 0));
        return b_.CreateSelect(condition, convert(in[1], in_dtypes[1], result.dtype),
                               convert(in[2], in_dtypes[2], result.dtype));
      }
      case ir::OpCategory::unary: return unary(ir::as_unary(node.op), in[0], result.dtype);
      case ir::OpCategory::compare: {
        // Both operands in their arithmetic type.
        const DType arithmetic =
            is_float(in_dtypes[0])
                ? DType::f32
                : (in_dtypes[0] == DType::i64 || in_dtypes[1] == DType::i64 ? DType::i64 : DType::i32);
        return compare(ir::as_compare(node.op), convert(in[0], in_dtypes[0], arithmetic),
                       convert(in[1], in_dtypes[1], arithmetic), is_float(arithmetic));
      }
      case ir::OpCategory::binary:
        return binary(node, convert(in[0], in_dtypes[0], result.dtype), convert(in[1], in_dtypes[1], result.dtype),
                      is_float(result.dtype));
      case ir::OpCategory::param:
      case ir::OpCategory::constant:
      case ir::OpCategory::memory:
      case ir::OpCategory::reduce:
      case ir::OpCategory::matmul:
      case ir::OpCategory::shape:
      case ir::OpCategory::control: break;
    }
    throw InternalError(fmt::format("LLVM lowering: op {} is not elementwise", ir::name(node.op)));
  }

  llvm::Value* compare(ir::CompareOp op, llvm::Value* a, llvm::Value* c, bool floating) {
    return b_.CreateZExt(b_.CreateCmp(predicate(op, floating), a, c), i32_);
  }

  // Ordered float predicates (false with a NaN) but `ne` (true with a NaN); signed integers.
  static llvm::CmpInst::Predicate predicate(ir::CompareOp op, bool floating) {
    using P = llvm::CmpInst::Predicate;
    switch (op) {
      case ir::CompareOp::lt: return floating ? P::FCMP_OLT : P::ICMP_SLT;
      case ir::CompareOp::le: return floating ? P::FCMP_OLE : P::ICMP_SLE;
      case ir::CompareOp::gt: return floating ? P::FCMP_OGT : P::ICMP_SGT;
      case ir::CompareOp::ge: return floating ? P::FCMP_OGE : P::ICMP_SGE;
      case ir::CompareOp::eq: return floating ? P::FCMP_OEQ : P::ICMP_EQ;
      case ir::CompareOp::ne: return floating ? P::FCMP_UNE : P::ICMP_NE;
    }
    throw InternalError("LLVM lowering: compare op out of range");
  }

  llvm::Value* binary(const ir::Node& node, llvm::Value* a, llvm::Value* c, bool floating) {
    const ir::BinaryOp op = ir::as_binary(node.op);
    if (floating) {
      switch (op) {
        case ir::BinaryOp::add: return b_.CreateFAdd(a, c);
        case ir::BinaryOp::sub: return b_.CreateFSub(a, c);
        case ir::BinaryOp::mul: return b_.CreateFMul(a, c);
        case ir::BinaryOp::div: return b_.CreateFDiv(a, c);
        case ir::BinaryOp::maximum: return float_max(a, c);
        case ir::BinaryOp::minimum: return float_min(a, c);
      }
    } else {
      switch (op) {
        case ir::BinaryOp::add: return b_.CreateAdd(a, c);
        case ir::BinaryOp::sub: return b_.CreateSub(a, c);
        case ir::BinaryOp::mul: return b_.CreateMul(a, c);
        case ir::BinaryOp::div: {
          // x / 0 is a fault; MIN / -1 wraps (the interpreter's rule) instead of trapping.
          fault_if(b_.CreateICmpEQ(c, llvm::ConstantInt::get(c->getType(), 0)), node, FaultCode::division_by_zero, {});
          llvm::Value* minus_one =
              b_.CreateICmpEQ(c, llvm::ConstantInt::get(c->getType(), static_cast<std::uint64_t>(-1), true));
          llvm::Value* safe = b_.CreateSelect(minus_one, llvm::ConstantInt::get(c->getType(), 1), c);
          return b_.CreateSelect(minus_one, b_.CreateNeg(a), b_.CreateSDiv(a, safe));
        }
        case ir::BinaryOp::maximum: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a, c);
        case ir::BinaryOp::minimum: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a, c);
      }
    }
    throw InternalError("LLVM lowering: binary op out of range");
  }

  // The interpreter's max/min: NaN if either is NaN, else std::max/std::min (compare and
  // select: what x86 vectorises; LLVM 14 cannot select llvm.maximum there).
  llvm::Value* float_max(llvm::Value* a, llvm::Value* c) {
    llvm::Value* either_nan = b_.CreateFCmpUNO(a, c);
    llvm::Value* larger = b_.CreateSelect(b_.CreateFCmpOLT(a, c), c, a);
    return b_.CreateSelect(either_nan, llvm::ConstantFP::getNaN(f32_), larger);
  }
  llvm::Value* float_min(llvm::Value* a, llvm::Value* c) {
    llvm::Value* either_nan = b_.CreateFCmpUNO(a, c);
    llvm::Value* smaller = b_.CreateSelect(b_.CreateFCmpOLT(c, a), c, a);
    return b_.CreateSelect(either_nan, llvm::ConstantFP::getNaN(f32_), smaller);
  }

  llvm::Value* call_libm(const char* name, llvm::Value* x) {
    llvm::FunctionCallee callee = module_.getOrInsertFunction(name, llvm::FunctionType::get(f32_, {f32_}, false));
    if (auto* function = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
      function->setDoesNotAccessMemory();
      function->setDoesNotThrow();
    }
    return b_.CreateCall(callee, {x});
  }

  // dsl/op_formulas.hpp's arithmetic as IR.
  struct LlvmMath {
    using Value = llvm::Value*;
    Lowering& l;
    Value constant(double x) const { return llvm::ConstantFP::get(l.f32_, x); }
    Value add(Value a, Value b) const { return l.b_.CreateFAdd(a, b); }
    Value sub(Value a, Value b) const { return l.b_.CreateFSub(a, b); }
    Value mul(Value a, Value b) const { return l.b_.CreateFMul(a, b); }
    Value div(Value a, Value b) const { return l.b_.CreateFDiv(a, b); }
    Value neg(Value a) const { return l.b_.CreateFNeg(a); }
    Value exp(Value a) const { return l.b_.CreateUnaryIntrinsic(llvm::Intrinsic::exp, a); }
    Value sqrt(Value a) const { return l.b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, a); }
    Value erf(Value a) const { return l.call_libm("erff", a); }
  };

  llvm::Value* unary(ir::UnaryOp op, llvm::Value* x, DType dtype) {
    if (is_integer(dtype)) return integer_unary(op, x);
    LlvmMath m{*this};
    auto intrinsic = [&](llvm::Intrinsic::ID id, llvm::Value* v) { return b_.CreateUnaryIntrinsic(id, v); };
    switch (op) {
      case ir::UnaryOp::exp: return intrinsic(llvm::Intrinsic::exp, x);
      case ir::UnaryOp::log: return intrinsic(llvm::Intrinsic::log, x);
      case ir::UnaryOp::sqrt: return intrinsic(llvm::Intrinsic::sqrt, x);
      case ir::UnaryOp::rsqrt: return ir::formulas::rsqrt(m, x);
      case ir::UnaryOp::tanh: return call_libm("tanhf", x);
      case ir::UnaryOp::sigmoid: return ir::formulas::sigmoid(m, x);
      case ir::UnaryOp::relu:
        return b_.CreateSelect(b_.CreateFCmpOGT(x, llvm::ConstantFP::get(f32_, 0.0)), x,
                               llvm::ConstantFP::get(f32_, 0.0));
      case ir::UnaryOp::gelu: return ir::formulas::gelu(m, x);
      case ir::UnaryOp::silu: return ir::formulas::silu(m, x);
      case ir::UnaryOp::neg: return b_.CreateFNeg(x);
      case ir::UnaryOp::abs: return intrinsic(llvm::Intrinsic::fabs, x);
      case ir::UnaryOp::sin: return intrinsic(llvm::Intrinsic::sin, x);
      case ir::UnaryOp::cos: return intrinsic(llvm::Intrinsic::cos, x);
    }
    throw InternalError("LLVM lowering: unary op out of range");
  }

  // Wrapping integer neg/abs/relu; the other unary ops take floats only (the verifier's rule).
  llvm::Value* integer_unary(ir::UnaryOp op, llvm::Value* x) {
    switch (op) {
      case ir::UnaryOp::neg: return b_.CreateNeg(x);
      case ir::UnaryOp::abs: return b_.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b_.getFalse());
      case ir::UnaryOp::relu:
        return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, llvm::ConstantInt::get(x->getType(), 0));
      case ir::UnaryOp::exp:
      case ir::UnaryOp::log:
      case ir::UnaryOp::sqrt:
      case ir::UnaryOp::rsqrt:
      case ir::UnaryOp::tanh:
      case ir::UnaryOp::sigmoid:
      case ir::UnaryOp::gelu:
      case ir::UnaryOp::silu:
      case ir::UnaryOp::sin:
      case ir::UnaryOp::cos: break;
    }
    throw InternalError(
        fmt::format("LLVM lowering: {} of an integer (the verifier rejects it)", ir::name(ir::op_of(op))));
  }

  void visit_elementwise(const ir::Node& node) {
    const ir::ValueId id = node.results[0];
    if (index_.fused(id)) return;  // its consumer computes it
    const ir::Type& result = kernel_.type_of(id);
    std::vector<DType> in_dtypes;
    for (ir::ValueId operand : node.operands) in_dtypes.push_back(kernel_.type_of(operand).dtype);
    if (result.is_scalar()) {
      std::vector<llvm::Value*> in;
      for (ir::ValueId operand : node.operands) in.push_back(values_[static_cast<std::size_t>(operand)]);
      values_[static_cast<std::size_t>(id)] = apply(node, result, in, in_dtypes);
      return;
    }
    loop2(result, [&](llvm::Value* r, llvm::Value* c) {
      std::vector<llvm::Value*> in;
      for (ir::ValueId operand : node.operands) in.push_back(element(operand, r, c));
      store_element(id, r, c, apply(node, result, in, in_dtypes));
    });
  }

  void visit_reduce(const ir::Node& node) {
    const ir::ValueId input = node.operands[0];
    const ir::ValueId id = node.results[0];
    const ir::Type& in_type = kernel_.type_of(input);
    const ir::Type& result = kernel_.type_of(id);
    const ir::ReduceInfo reduction = ir::reduce_info(ir::as_reduce(node.op));
    const bool by_row = reduction.axis == ir::ReduceAxis::rows;
    const bool is_max = reduction.kind == ir::ReduceKind::max;
    const bool is_min = reduction.kind == ir::ReduceKind::min;
    const bool is_mean = reduction.kind == ir::ReduceKind::mean;
    const bool floating = is_float(in_type.dtype);
    llvm::Type* type = compute_type(result.dtype);
    llvm::Value* init = identity(ir::identity(reduction.kind), floating, type);
    auto combine = [&](llvm::Value* acc, llvm::Value* v) -> llvm::Value* {
      v = convert(v, in_type.dtype, result.dtype);
      if (floating) {
        if (is_max) return float_max(acc, v);
        if (is_min) return float_min(acc, v);
        return reassoc(b_.CreateFAdd(acc, v));
      }
      if (is_max) return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, acc, v);
      if (is_min) return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, acc, v);
      return b_.CreateAdd(acc, v);
    };
    const std::int64_t outer = by_row ? in_type.rows : in_type.cols;
    const std::int64_t inner = by_row ? in_type.cols : in_type.rows;
    if (by_row) {
      loop(i64(0), i64(outer), [&](llvm::Value* o) {
        llvm::Value* acc = accumulate(
            init, inner, [&](llvm::Value* acc_in, llvm::Value* n) { return combine(acc_in, element(input, o, n)); });
        if (is_mean) acc = b_.CreateFDiv(acc, llvm::ConstantFP::get(f32_, static_cast<double>(inner)));
        store_element(id, o, i64(0), acc);
      });
    } else {
      // Column reductions: accumulate row by row into the result row (contiguous inner loop).
      loop(i64(0), i64(outer), [&](llvm::Value* c) { store_element(id, i64(0), c, init); });
      loop(i64(0), i64(inner), [&](llvm::Value* r) {
        loop(i64(0), i64(outer), [&](llvm::Value* c) {
          store_element(id, i64(0), c, combine(element(id, i64(0), c), element(input, r, c)));
        });
      });
      if (is_mean) {
        loop(i64(0), i64(outer), [&](llvm::Value* c) {
          store_element(id, i64(0), c,
                        b_.CreateFDiv(element(id, i64(0), c), llvm::ConstantFP::get(f32_, static_cast<double>(inner))));
        });
      }
    }
  }

  // A reduction's starting value (dsl/op_table.hpp's identity) in its compute type.
  llvm::Value* identity(ir::ReduceIdentity identity, bool floating, llvm::Type* type) {
    const unsigned bits = floating ? 0 : type->getIntegerBitWidth();
    switch (identity) {
      case ir::ReduceIdentity::zero:
        return floating ? llvm::ConstantFP::get(f32_, 0.0) : llvm::ConstantInt::get(type, 0);
      case ir::ReduceIdentity::lowest:
        return floating ? llvm::ConstantFP::get(f32_, -INFINITY)
                        : llvm::ConstantInt::get(type, llvm::APInt::getSignedMinValue(bits));
      case ir::ReduceIdentity::highest:
        return floating ? llvm::ConstantFP::get(f32_, INFINITY)
                        : llvm::ConstantInt::get(type, llvm::APInt::getSignedMaxValue(bits));
    }
    throw InternalError("LLVM lowering: reduce identity out of range");
  }

  // acc = init; for n in [0, count): acc = step(acc, n); returns acc (a phi-carried loop).
  llvm::Value* accumulate(llvm::Value* init, std::int64_t count,
                          const std::function<llvm::Value*(llvm::Value*, llvm::Value*)>& step) {
    llvm::BasicBlock* before = b_.GetInsertBlock();
    llvm::BasicBlock* header = llvm::BasicBlock::Create(context_, "acc", fn_);
    llvm::BasicBlock* inside = llvm::BasicBlock::Create(context_, "acc.body", fn_);
    llvm::BasicBlock* after = llvm::BasicBlock::Create(context_, "acc.done", fn_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* n = b_.CreatePHI(i64_, 2);
    llvm::PHINode* acc = b_.CreatePHI(init->getType(), 2);
    n->addIncoming(i64(0), before);
    acc->addIncoming(init, before);
    b_.CreateCondBr(b_.CreateICmpSLT(n, i64(count)), inside, after);
    b_.SetInsertPoint(inside);
    llvm::Value* next = step(acc, n);
    n->addIncoming(b_.CreateAdd(n, i64(1)), b_.GetInsertBlock());
    acc->addIncoming(next, b_.GetInsertBlock());
    b_.CreateBr(header);
    b_.SetInsertPoint(after);
    return acc;
  }

  // The node defining a value, if it is a `trans` (matmul reads those in place).
  const ir::Node* transposed(ir::ValueId id) const {
    const ir::Node* definition = index_.definition(id);
    return definition != nullptr && definition->op == ir::Op::trans ? definition : nullptr;
  }

  void visit_matmul(const ir::Node& node) {
    const ir::ValueId id = node.results[0];
    const ir::Type& result = kernel_.type_of(id);
    const ir::ValueId a = node.operands[0];
    const ir::ValueId bv = node.operands[1];
    const std::int64_t inner = kernel_.type_of(a).cols;
    const ir::Node* a_trans = transposed(a);
    const ir::Node* b_trans = transposed(bv);
    auto a_at = [&](llvm::Value* m, llvm::Value* k) {
      return a_trans ? element(a_trans->operands[0], k, m) : element(a, m, k);
    };
    if (b_trans != nullptr) {
      // C[m][n] = acc + sum_k A[m][k] * Bt[n][k]: dot products over contiguous rows of Bt.
      const ir::ValueId bt = b_trans->operands[0];
      loop2(result, [&](llvm::Value* m, llvm::Value* n) {
        llvm::Value* dot = accumulate(llvm::ConstantFP::get(f32_, 0.0), inner, [&](llvm::Value* acc, llvm::Value* k) {
          return reassoc(b_.CreateFAdd(acc, b_.CreateFMul(a_at(m, k), element(bt, n, k))));
        });
        if (node.operands.size() == 3) dot = b_.CreateFAdd(element(node.operands[2], m, n), dot);
        store_element(id, m, n, dot);
      });
      return;
    }
    // C = acc (or 0); for m, k: C[m][:] += A[m][k] * B[k][:] (contiguous axpy inner loop).
    loop2(result, [&](llvm::Value* m, llvm::Value* n) {
      store_element(id, m, n,
                    node.operands.size() == 3 ? element(node.operands[2], m, n) : llvm::ConstantFP::get(f32_, 0.0));
    });
    loop(i64(0), i64(result.rows), [&](llvm::Value* m) {
      loop(i64(0), i64(inner), [&](llvm::Value* k) {
        llvm::Value* scale = a_at(m, k);
        loop(i64(0), i64(result.cols), [&](llvm::Value* n) {
          store_element(id, m, n, b_.CreateFAdd(element(id, m, n), b_.CreateFMul(scale, element(bv, k, n))));
        });
      });
    });
  }

  void visit_shape(const ir::Node& node) {
    const ir::ValueId id = node.results[0];
    // Only matmul reads it: matmul reads the input in place, no copy is needed.
    if (!index_.read_outside_matmul(id)) return;
    const ir::ValueId input = node.operands[0];
    loop2(kernel_.type_of(id), [&](llvm::Value* r, llvm::Value* c) { store_element(id, r, c, element(input, c, r)); });
  }

  void copy_tile(ir::ValueId from, ir::ValueId to) {
    if (from == to) return;
    const ir::Type& type = kernel_.type_of(to);
    const std::int64_t bytes = type.elements() * (type.dtype == DType::i64 ? 8 : 4);
    b_.CreateMemMove(tile_pointer(to), llvm::MaybeAlign(tile_alignment), tile_pointer(from),
                     llvm::MaybeAlign(tile_alignment), static_cast<std::uint64_t>(bytes));
  }

  void visit_for_range(const ir::Node& node) {
    const ir::Block& body = *node.body;
    const std::size_t carried = node.results.size();
    // The index counts in i64 whatever its dtype (the body sees it in its own), and steps to
    // end instead of past INT64_MAX: the interpreter's exact count (interpreter.hpp).
    llvm::Type* index_type = compute_type(kernel_.type_of(body.arguments[0]).dtype);
    llvm::Value* start = as_i64(node.operands[0]);
    llvm::Value* end = as_i64(node.operands[1]);
    // Tiles are carried in the body arguments' scratch buffers: initialise them from the inits.
    for (std::size_t i = 0; i < carried; ++i) {
      if (kernel_.type_of(body.arguments[i + 1]).is_tile()) copy_tile(node.operands[i + 2], body.arguments[i + 1]);
    }
    llvm::BasicBlock* before = b_.GetInsertBlock();
    llvm::BasicBlock* header = llvm::BasicBlock::Create(context_, "for", fn_);
    llvm::BasicBlock* inside = llvm::BasicBlock::Create(context_, "for.body", fn_);
    llvm::BasicBlock* after = llvm::BasicBlock::Create(context_, "for.done", fn_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* j = b_.CreatePHI(i64_, 2);
    j->addIncoming(start, before);
    std::vector<llvm::PHINode*> scalar_phis(carried, nullptr);
    for (std::size_t i = 0; i < carried; ++i) {
      if (!kernel_.type_of(body.arguments[i + 1]).is_scalar()) continue;
      scalar_phis[i] = b_.CreatePHI(compute_type(kernel_.type_of(body.arguments[i + 1]).dtype), 2);
      scalar_phis[i]->addIncoming(values_[static_cast<std::size_t>(node.operands[i + 2])], before);
      values_[static_cast<std::size_t>(body.arguments[i + 1])] = scalar_phis[i];
    }
    b_.CreateCondBr(b_.CreateICmpSLT(j, end), inside, after);
    b_.SetInsertPoint(inside);
    values_[static_cast<std::size_t>(body.arguments[0])] = b_.CreateTrunc(j, index_type);
    block(body);
    const ir::Node& yield = body.nodes.back();
    // Scalars first read their yielded values; tiles are then copied into the carried
    // buffers (memmove: a body may yield a carried tile unchanged).
    std::vector<llvm::Value*> next_scalars(carried, nullptr);
    for (std::size_t i = 0; i < carried; ++i) {
      if (scalar_phis[i] != nullptr) next_scalars[i] = values_[static_cast<std::size_t>(yield.operands[i])];
    }
    for (std::size_t i = 0; i < carried; ++i) {
      if (scalar_phis[i] == nullptr) copy_tile(yield.operands[i], body.arguments[i + 1]);
    }
    llvm::BasicBlock* latch = b_.GetInsertBlock();
    llvm::Value* step = i64(node.step);
    llvm::Value* more = b_.CreateICmpUGT(b_.CreateSub(end, j), step);  // end - j is exact as unsigned (j < end)
    j->addIncoming(b_.CreateSelect(more, b_.CreateAdd(j, step), end), latch);
    for (std::size_t i = 0; i < carried; ++i) {
      if (scalar_phis[i] != nullptr) scalar_phis[i]->addIncoming(next_scalars[i], latch);
    }
    b_.CreateBr(header);
    b_.SetInsertPoint(after);
    for (std::size_t i = 0; i < carried; ++i) {
      const ir::ValueId out = node.results[i];
      if (scalar_phis[i] != nullptr) {
        values_[static_cast<std::size_t>(out)] = scalar_phis[i];
      } else {
        copy_tile(body.arguments[i + 1], out);
      }
    }
  }

  void visit_yield(const ir::Node&) {}  // handled by the enclosing loop

  const ir::Kernel& kernel_;
  const ir::KernelIndex& index_;
  llvm::LLVMContext& context_;
  llvm::Module& module_;
  llvm::IRBuilder<> b_;
  ScratchLayout layout_;
  std::vector<llvm::Value*> values_;      // scalars: SSA values; tiles use the layout
  std::vector<llvm::MDNode*> tile_tbaa_;  // per ValueId: the tile's TBAA access tag (null for non-tiles)
  llvm::Type *i32_ = nullptr, *i64_ = nullptr, *f32_ = nullptr, *f64_ = nullptr, *i8ptr_ = nullptr;
  llvm::StructType* slot_type_ = nullptr;
  llvm::StructType* fault_type_ = nullptr;
  llvm::Function* fn_ = nullptr;
  llvm::Value* args_ = nullptr;
  llvm::Value* scratch_ = nullptr;
  llvm::Value* fault_ = nullptr;
};

}  // namespace

std::int64_t scratch_bytes(const ir::Kernel& kernel) {
  return ScratchLayout(kernel).bytes;
}

LoweredKernel lower_to_llvm(const ir::Kernel& kernel, const ir::KernelIndex& index, const std::string& symbol,
                            llvm::LLVMContext& context) {
  if (index.preorder().size() > max_llvm_kernel_nodes) {
    throw Error(
        fmt::format("kernel '{}' has {} nodes; the LLVM CPU backend compiles at most {} in one kernel: split "
                    "it into several kernels, or loop over blocks with tl::for_range instead of unrolling",
                    kernel.name, index.preorder().size(), max_llvm_kernel_nodes));
  }
  LoweredKernel lowered;
  lowered.module = std::make_unique<llvm::Module>(symbol, context);
  lowered.symbol = symbol;
  Lowering lowering(kernel, index, context, *lowered.module, symbol);
  lowering.run();
  lowered.scratch_bytes = lowering.scratch_bytes();
  return lowered;
}

}  // namespace pto::cpu
