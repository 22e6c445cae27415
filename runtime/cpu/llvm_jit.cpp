#include "runtime/cpu/llvm_jit.hpp"

#include <fmt/format.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Passes/OptimizationLevel.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/DynamicLibrary.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string_view>

#include "core/dump.hpp"
#include "core/error.hpp"
#include "dsl/hash.hpp"
#include "runtime/cpu/llvm_lowering.hpp"
#include "runtime/cpu/lowering_hash.hpp"

namespace pto::cpu {

namespace {

constexpr const char* kernel_pipeline =
    "function(sroa,early-cse<memssa>,instcombine,simplifycfg,loop-mssa(loop-rotate,licm),loop(indvars),gvn,"
    "loop-vectorize,instcombine,simplifycfg,loop-mssa(licm),instcombine)";

[[noreturn]] void fail(const std::string& what, llvm::Error error) {
  throw Error(fmt::format("LLVM JIT: {}: {}", what, llvm::toString(std::move(error))));
}

template <typename T>
T check(llvm::Expected<T> value, const std::string& what) {
  if (!value) fail(what, value.takeError());
  return std::move(*value);
}

// A cache entry is added only when its object defines exactly the kernel's function: an
// entry holding another kernel (a copied or swapped file with a valid checksum) is refused
// before it can define anything.
llvm::Error defines_only(llvm::StringRef bytes, const std::string& symbol) {
  auto object = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(bytes, symbol));
  if (!object) return object.takeError();
  std::vector<std::string> defined;
  for (const llvm::object::SymbolRef& entry : (*object)->symbols()) {
    auto flags = entry.getFlags();
    if (!flags) return flags.takeError();
    if ((*flags & llvm::object::SymbolRef::SF_Undefined) || !(*flags & llvm::object::SymbolRef::SF_Global)) continue;
    auto name = entry.getName();
    if (!name) return name.takeError();
    defined.push_back(name->str());
  }
  if (defined.size() == 1 && defined[0] == symbol) return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "the cached object defines %zu global symbol(s), "
                                 "not just %s",
                                 defined.size(), symbol.c_str());
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Code generation's loop strength reduction took 16 of the decode-attention kernel's 25 ms of
// code generation (llc -time-passes on its IR) and bought no measurable kernel speed: tile
// loops index with one induction variable already. LLVM exposes the switch only as a
// command-line option, so it is set in LLVM's option registry once per process.
void disable_loop_strength_reduction() {
  auto& options = llvm::cl::getRegisteredOptions();
  const auto found = options.find("disable-lsr");
  if (found == options.end()) return;  // not registered in this LLVM: keep its default
  if (auto* option = static_cast<llvm::cl::opt<bool>*>(found->second)) option->setValue(true);
}

}  // namespace

struct LlvmJit::State {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unique_ptr<llvm::TargetMachine> machine;
  std::string cpu;
  std::string features;
  bool vector_math = false;  // glibc's libmvec is loaded: exp/log/sin/cos vectorise
};

LlvmJit& LlvmJit::instance() {
  static LlvmJit jit(ObjectCache::default_folder());
  return jit;
}

LlvmJit::LlvmJit(std::filesystem::path cache_folder)
    : state_(std::make_unique<State>()), cache_(std::move(cache_folder)) {
  static std::once_flag targets;
  std::call_once(targets, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    disable_loop_strength_reduction();
  });
  auto builder = check(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host CPU");
  // Instruction selection and register allocation at the "Less" level: measured on the
  // decode-attention kernel, Default/Aggressive cost more compile time than they won back.
  builder.setCodeGenOptLevel(llvm::CodeGenOpt::Less);
  state_->cpu = builder.getCPU();
  state_->features = builder.getFeatures().getString();
  state_->machine = check(builder.createTargetMachine(), "creating the target machine");
  state_->jit = check(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(builder).create(), "creating the JIT");
  std::string ignored;
  state_->vector_math = !llvm::sys::DynamicLibrary::LoadLibraryPermanently("libmvec.so.1", &ignored);
  const char prefix = state_->jit->getDataLayout().getGlobalPrefix();
  state_->jit->getMainJITDylib().addGenerator(
      check(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix), "exposing libm to kernels"));
}

LlvmJit::~LlvmJit() = default;

const std::string& LlvmJit::host_cpu() const noexcept {
  return state_->cpu;
}

std::string LlvmJit::cache_key(std::uint64_t structural_hash) const {
  const char* level = std::getenv("PTO_LLVM_OPT");
  return fmt::format("{}|llvm-{}|{}|{}|lowering-{}|mvec-{}|opt-{}", ir::hash_hex(structural_hash), LLVM_VERSION_STRING,
                     state_->cpu, state_->features, PTO_LLVM_LOWERING_HASH, state_->vector_math ? 1 : 0,
                     level != nullptr && *level != '\0' ? level : "pto");
}

CompiledFunction LlvmJit::get(const ir::Kernel& kernel, std::uint64_t structural_hash, const ir::KernelIndex* index) {
  const auto start = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard(mutex_);
  if (const auto found = compiled_.find(structural_hash); found != compiled_.end()) {
    CompiledFunction hit = found->second;
    hit.source = CompiledFunction::Source::memory;
    hit.milliseconds = ms_since(start);
    return hit;
  }
  const std::string symbol = "pto_kernel_" + ir::hash_hex(structural_hash);
  const std::string key = cache_key(structural_hash);
  CompiledFunction result;
  result.scratch_bytes = scratch_bytes(kernel);

  // Adds an object through a resource tracker of its own, so that an object which fails to
  // link or to define the kernel is removed again: it never stays in the process (a foreign
  // entry's definitions would clash with the real kernel's: "Duplicate definition of symbol").
  auto add_and_lookup = [&](const std::vector<char>& object) -> llvm::Error {
    const llvm::StringRef bytes(object.data(), object.size());
    if (llvm::Error error = defines_only(bytes, symbol)) return error;
    auto tracker = state_->jit->getMainJITDylib().createResourceTracker();
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(bytes, symbol);
    llvm::Error error = state_->jit->addObjectFile(tracker, std::move(buffer));
    if (!error) {
      auto address = state_->jit->lookup(symbol);
      if (address) {
#if LLVM_VERSION_MAJOR >= 15
        result.function = address->toPtr<KernelFunction>();
#else
        result.function = reinterpret_cast<KernelFunction>(static_cast<std::uintptr_t>(address->getAddress()));
#endif
        return llvm::Error::success();
      }
      error = address.takeError();
    }
    if (llvm::Error removed = tracker->remove()) error = llvm::joinErrors(std::move(error), std::move(removed));
    return error;
  };

  bool loaded = false;
  if (auto object = cache_.load(key)) {
    // A disk entry that fails to link is ignored (and overwritten below), never trusted.
    if (llvm::Error error = add_and_lookup(*object)) {
      llvm::consumeError(std::move(error));
    } else {
      loaded = true;
      result.source = CompiledFunction::Source::disk;
    }
  }
  if (!loaded) {
    llvm::LLVMContext context;
    auto phase = std::chrono::steady_clock::now();
    std::optional<ir::KernelIndex> built;
    if (index == nullptr) index = &built.emplace(kernel);
    LoweredKernel lowered = lower_to_llvm(kernel, *index, symbol, context);
    result.lower_ms = ms_since(phase);
    phase = std::chrono::steady_clock::now();
    llvm::Module& module = *lowered.module;
    module.setDataLayout(state_->machine->createDataLayout());
    module.setTargetTriple(state_->machine->getTargetTriple().str());
    {
      llvm::LoopAnalysisManager loops;
      llvm::FunctionAnalysisManager functions;
      llvm::CGSCCAnalysisManager cgscc;
      llvm::ModuleAnalysisManager modules;
      llvm::TargetLibraryInfoImpl library(state_->machine->getTargetTriple());
      if (state_->vector_math) library.addVectorizableFunctionsFromVecLib(llvm::TargetLibraryInfoImpl::LIBMVEC_X86);
      functions.registerPass([&] { return llvm::TargetLibraryAnalysis(library); });
      // Vectorise, but do not unroll or SLP-vectorise: tile loops have static trip counts
      // that the unroller would blow up, costing compile time for little speed.
      llvm::PipelineTuningOptions tuning;
      tuning.LoopUnrolling = false;
      tuning.SLPVectorization = false;
      tuning.LoopVectorization = true;
      llvm::PassBuilder passes(state_->machine.get(), tuning);
      passes.registerModuleAnalyses(modules);
      passes.registerCGSCCAnalyses(cgscc);
      passes.registerFunctionAnalyses(functions);
      passes.registerLoopAnalyses(loops);
      passes.crossRegisterProxies(loops, functions, cgscc, modules);
      // PTO-RT's pipeline: the passes tile-loop code needs to vectorise well (scalar
      // replacement, CSE, loop rotation and invariant motion, induction variables, GVN, the
      // loop vectoriser, clean-up), about half the compile time of LLVM's O3 pipeline for the
      // same kernel speed (measured on decode attention). PTO_LLVM_OPT=O1|O2|O3 selects
      // LLVM's standard pipeline instead.
      if (const char* level = std::getenv("PTO_LLVM_OPT"); level != nullptr && *level != '\0') {
        const std::string_view chosen = level;
        if (chosen != "O1" && chosen != "O2" && chosen != "O3") {
          throw Error(fmt::format("PTO_LLVM_OPT={}: use O1, O2 or O3, or unset it for PTO-RT's pipeline", chosen));
        }
        const llvm::OptimizationLevel optimization = chosen == "O1"   ? llvm::OptimizationLevel::O1
                                                     : chosen == "O2" ? llvm::OptimizationLevel::O2
                                                                      : llvm::OptimizationLevel::O3;
        passes.buildPerModuleDefaultPipeline(optimization).run(module, modules);
      } else {
        llvm::ModulePassManager pipeline;
        if (llvm::Error error = passes.parsePassPipeline(pipeline, kernel_pipeline)) {
          fail("building the optimisation pipeline", std::move(error));
        }
        pipeline.run(module, modules);
      }
    }
    result.optimize_ms = ms_since(phase);
    if (dump_enabled("llvm")) {
      std::error_code error;
      const std::filesystem::path folder = cache_.folder() / "dumps";
      std::filesystem::create_directories(folder, error);
      const std::filesystem::path path = folder / fmt::format("{}-{}.ll", kernel.name, ir::hash_hex(structural_hash));
      llvm::raw_fd_ostream out(path.string(), error);
      if (!error) {
        module.print(out, nullptr);
        fmt::print(stderr, "PTO_DUMP=llvm: kernel '{}' -> {}\n", kernel.name, path.string());
      } else {
        fmt::print(stderr, "PTO_DUMP=llvm: cannot write {}: {}\n", path.string(), error.message());
      }
    }
    phase = std::chrono::steady_clock::now();
    llvm::SmallVector<char, 0> buffer;
    {
      llvm::raw_svector_ostream stream(buffer);
      llvm::legacy::PassManager emit;
      if (state_->machine->addPassesToEmitFile(emit, stream, nullptr, llvm::CGFT_ObjectFile)) {
        throw Error(fmt::format("LLVM JIT: the target machine cannot emit object files for kernel '{}'", kernel.name));
      }
      emit.run(module);
    }
    result.codegen_ms = ms_since(phase);
    const std::vector<char> object(buffer.begin(), buffer.end());
    if (llvm::Error error = add_and_lookup(object))
      fail(fmt::format("loading kernel '{}'", kernel.name), std::move(error));
    // Best effort: an unwritable cache only costs the next start a compile, said once.
    if (!cache_.store(key, object)) cache_.warn_unwritable("CPU kernels");
    result.source = CompiledFunction::Source::compiled;
  }
  result.milliseconds = ms_since(start);
  compiled_[structural_hash] = result;
  return result;
}

}  // namespace pto::cpu
