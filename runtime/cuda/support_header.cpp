#include "runtime/cuda/support_header.hpp"

#include <fmt/format.h>

#include "core/kernel_abi.hpp"
#include "dsl/op_formulas.hpp"
#include "runtime/cuda/cuda_math.hpp"

namespace pto::cuda {

namespace {

// The unary ops dsl/op_formulas.hpp defines, as device functions rendered from it.
std::string unary_formulas() {
  CudaMath m;
  const std::string x = "x";
  std::string out;
  auto function = [&](const char* name, const std::string& body) {
    out += fmt::format("__device__ __forceinline__ float {}(float x) {{ return {}; }}\n", name, body);
  };
  function("sigmoid", ir::formulas::sigmoid(m, x));
  function("silu", ir::formulas::silu(m, x));
  function("gelu", ir::formulas::gelu(m, x));
  return out;
}

}  // namespace

const std::string& support_header_source() {
  // The ABI's structs and fault codes come from core/kernel_abi.hpp, rendered from the same
  // lists the host uses; the rest is written here.
  static const std::string source = std::string(R"PTO(#pragma once
namespace pto {

)PTO") + render_abi_declarations() + R"PTO(
__device__ __forceinline__ void record_fault(Fault* fault, long long task, int code, int node, long long v0 = 0,
                                             long long v1 = 0, long long v2 = 0, long long v3 = 0) {
  if (atomicCAS(&fault->code, 0, code) == 0) {
    fault->node = node;
    fault->task = task;
    fault->values[0] = v0;
    fault->values[1] = v1;
    fault->values[2] = v2;
    fault->values[3] = v3;
  }
}

// A valid region [row, row + vr) x [col, col + vc) must lie inside a rows x cols tensor
// (an empty region always does): the interpreter's rule.
__device__ __forceinline__ bool out_of_bounds(long long row, long long col, long long vr, long long vc, long long rows,
                                              long long cols) {
  if (vr == 0 || vc == 0) return false;
  return row < 0 || col < 0 || row > rows || col > cols || vr > rows - row || vc > cols - col;  // never forms row + vr
}

// The index after j in for (j = start; j < end; j += step), or `end` when that reaches or
// passes end: an exact count, where j + step itself may not fit (the interpreter's rule).
__device__ __forceinline__ long long next_index(long long j, long long end, long long step) {
  return (unsigned long long)end - (unsigned long long)j > (unsigned long long)step ? j + step : end;
}

__device__ __forceinline__ long long clamp_extent(long long v, long long limit) {
  return v < 0 ? 0 : (v > limit ? limit : v);
}

// ---- f16 / bf16 storage ---------------------------------------------------------------------
__device__ __forceinline__ float f16_to_f32(unsigned short h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ unsigned short f32_to_f16(float f) {
  unsigned short h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
__device__ __forceinline__ float bf16_to_f32(unsigned short b) { return __int_as_float(((unsigned)b) << 16); }
// Round to nearest even, NaN kept quiet: the interpreter's rule.
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
  const unsigned bits = __float_as_uint(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((bits >> 16) | 0x40u);
  return (unsigned short)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ float round_f16(float f) { return f16_to_f32(f32_to_f16(f)); }
__device__ __forceinline__ float round_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

// ---- arithmetic with the interpreter's semantics ----------------------------------------------
__device__ __forceinline__ float max_nan(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fmaxf(a, b); }
__device__ __forceinline__ float min_nan(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fminf(a, b); }
template <typename T> __device__ __forceinline__ T max_int(T a, T b) { return a > b ? a : b; }
template <typename T> __device__ __forceinline__ T min_int(T a, T b) { return a < b ? a : b; }
// float -> integer: truncate toward zero, saturate, NaN -> 0. cvt.rzi.s32 gives 0 for NaN,
// but cvt.rzi.s64 gives INT64_MIN, so NaN is tested first.
__device__ __forceinline__ int to_i32(float x) { return x != x ? 0 : __float2int_rz(x); }
__device__ __forceinline__ long long to_i64(float x) { return x != x ? 0LL : __float2ll_rz(x); }
// Wrapping (two's complement) integer arithmetic, as the interpreter's.
__device__ __forceinline__ int add_wrap(int a, int b) { return (int)((unsigned)a + (unsigned)b); }
__device__ __forceinline__ int sub_wrap(int a, int b) { return (int)((unsigned)a - (unsigned)b); }
__device__ __forceinline__ int mul_wrap(int a, int b) { return (int)((unsigned)a * (unsigned)b); }
__device__ __forceinline__ long long add_wrap(long long a, long long b) { return (long long)((unsigned long long)a + (unsigned long long)b); }
__device__ __forceinline__ long long sub_wrap(long long a, long long b) { return (long long)((unsigned long long)a - (unsigned long long)b); }
__device__ __forceinline__ long long mul_wrap(long long a, long long b) { return (long long)((unsigned long long)a * (unsigned long long)b); }
// Truncating division; MIN / -1 wraps; division by zero sets `zero` and gives 0.
template <typename T> __device__ __forceinline__ T div_checked(T a, T b, bool& zero) {
  if (b == 0) { zero = true; return 0; }
  if (b == -1) return (T)(0 - (unsigned long long)a);
  return a / b;
}
)PTO" + unary_formulas() + R"PTO(__device__ __forceinline__ float relu(float x) { return x > 0.0f ? x : 0.0f; }

// ---- tensor cores ------------------------------------------------------------------------------
__device__ __forceinline__ unsigned pack_halves(unsigned short low, unsigned short high) {
  return (unsigned)low | ((unsigned)high << 16);
}
// d += a * b for one 16x8 fragment (a 16x16 row-major, b 16x8 column-major, f32 accumulators),
// in the register layout of PTX's mma.sync.aligned.m16n8k16.
__device__ __forceinline__ void mma_m16n8k16_f16(float* d, unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                                 unsigned b0, unsigned b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma_m16n8k16_bf16(float* d, unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                                  unsigned b0, unsigned b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// ---- asynchronous copies global -> shared (cp.async, sm_80+) -----------------------------------
// A loop's next blocks land in shared memory while it computes (cuda_codegen's prefetch).
__device__ __forceinline__ unsigned shared_address(const void* pointer) {
  return (unsigned)__cvta_generic_to_shared(pointer);
}
template <int Bytes> __device__ __forceinline__ void cp_async(unsigned shared, const void* global) {
  if (Bytes == 16) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared), "l"(global) : "memory");
  } else {
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2;" ::"r"(shared), "l"(global), "n"(Bytes) : "memory");
  }
}
// A group: the copies a thread issued since its last commit. Waiting for all but the
// `Pending` newest groups completes this thread's older copies; a barrier after it
// publishes everyone's.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int Pending> __device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;" ::: "memory"); }

// ---- vector reads of tile rows -----------------------------------------------------------------
// `Words` 32-bit words at p (aligned to their total size: 4, 8 or 16 bytes) in one load.
template <int Words> __device__ __forceinline__ void load_words(const void* p, unsigned* w) {
  if constexpr (Words == 4) {
    const uint4 v = *(const uint4*)p;
    w[0] = v.x; w[1] = v.y; w[2] = v.z; w[3] = v.w;
  } else if constexpr (Words == 2) {
    const uint2 v = *(const uint2*)p;
    w[0] = v.x; w[1] = v.y;
  } else {
    static_assert(Words == 1, "a vector read is 4, 8 or 16 bytes");
    w[0] = *(const unsigned*)p;
  }
}
// `Count` consecutive elements of a tile row, read as one vector, widened to f32.
template <int Count> __device__ __forceinline__ void read_f16s(const void* p, float* out) {
  unsigned w[Count / 2];
  load_words<Count / 2>(p, w);
  for (int i = 0; i < Count / 2; ++i) {
    out[2 * i] = f16_to_f32((unsigned short)(w[i] & 0xffffu));
    out[2 * i + 1] = f16_to_f32((unsigned short)(w[i] >> 16));
  }
}
template <int Count> __device__ __forceinline__ void read_bf16s(const void* p, float* out) {
  unsigned w[Count / 2];
  load_words<Count / 2>(p, w);
  for (int i = 0; i < Count / 2; ++i) {
    out[2 * i] = __uint_as_float(w[i] << 16);
    out[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}
template <int Count> __device__ __forceinline__ void read_f32s(const void* p, float* out) {
  unsigned w[Count];
  load_words<Count>(p, w);
  for (int i = 0; i < Count; ++i) out[i] = __uint_as_float(w[i]);
}

// ---- warp reductions (every lane gets the result) -------------------------------------------
template <typename T> __device__ __forceinline__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = v + __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
__device__ __forceinline__ int warp_sum(int v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = add_wrap(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
__device__ __forceinline__ long long warp_sum(long long v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = add_wrap(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = max_nan(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
__device__ __forceinline__ float warp_min(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = min_nan(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
// The sum over each aligned group of `Lanes` lanes (a power of two, at most 32), in every
// lane of the group; every lane of the warp takes part.
template <int Lanes> __device__ __forceinline__ float group_sum(float v) {
  for (int offset = Lanes / 2; offset > 0; offset >>= 1) v = v + __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
template <typename T> __device__ __forceinline__ T warp_max(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = max_int(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
template <typename T> __device__ __forceinline__ T warp_min(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = min_int(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

}  // namespace pto
)PTO";
  return source;
}

}  // namespace pto::cuda
