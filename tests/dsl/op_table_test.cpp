// The op lists in dsl/ir.hpp against everything that must name each op: the op table's
// rows, the category enums, the ops sweep (tests/dsl/ops_test.cpp, which holds the three
// executors to each other) and the op reference in docs/dsl.md. An op added to a list
// fails here until the sweep exercises it and the docs describe it.
#include <doctest/doctest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "dsl/op_table.hpp"

namespace {

std::string read_source(const std::string& relative) {
  std::ifstream file(std::string(PTO_SOURCE_DIR) + "/" + relative);
  REQUIRE_MESSAGE(file.good(), "cannot read " << relative);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The `code` spans of docs/dsl.md's op reference: where an op's entry names it.
std::vector<std::string> op_reference_spans() {
  const std::string docs = read_source("docs/dsl.md");
  const auto start = docs.find("## Op reference");
  REQUIRE(start != std::string::npos);
  const auto end = docs.find("\n## ", start + 1);
  const std::string section = docs.substr(start, end == std::string::npos ? std::string::npos : end - start);
  std::vector<std::string> spans;
  for (std::size_t open = section.find('`'); open != std::string::npos; open = section.find('`', open + 1)) {
    const std::size_t close = section.find('`', open + 1);
    if (close == std::string::npos) break;
    spans.push_back(section.substr(open + 1, close - open - 1));
    open = close;
  }
  return spans;
}

bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Whether some span names `word` as a whole identifier (`exp log sqrt` names log; the
// prose around the spans does not count).
bool names(const std::vector<std::string>& spans, const std::string& word) {
  for (const std::string& span : spans) {
    for (std::size_t at = span.find(word); at != std::string::npos; at = span.find(word, at + 1)) {
      const bool starts = at == 0 || !is_identifier_char(span[at - 1]);
      const bool ends = at + word.size() == span.size() || !is_identifier_char(span[at + word.size()]);
      if (starts && ends) return true;
    }
  }
  return false;
}

struct Spelling {
  std::string sweep;  // what tests/dsl/ops_test.cpp writes to build the op
  std::string docs;   // what docs/dsl.md's op reference writes
};

// Ops whose DSL spelling is not `tl::<name>(`, or whose docs entry is not `<name>`.
const std::map<std::string, Spelling>& spelled_otherwise() {
  static const std::map<std::string, Spelling> table = {
      {"param", {"k.in(", "k.in"}}, {"read_output", {"tl::read(", "read(out)"}},
      {"add", {"a + b", "add"}},    {"sub", {"a - b", "sub"}},
      {"mul", {"a * b", "mul"}},    {"yield", {"tl::carry(", "tl::carry"}},
  };
  return table;
}

}  // namespace

TEST_CASE("every op of dsl/ir.hpp is exercised by the ops sweep and described in docs/dsl.md") {
  const std::string sweep = read_source("tests/dsl/ops_test.cpp");
  const std::vector<std::string> docs = op_reference_spans();
  int ops = 0;
#define PTO_CHECK_OP(op, category)                                                                             \
  {                                                                                                            \
    ++ops;                                                                                                     \
    const std::string name = #op;                                                                              \
    const auto other = spelled_otherwise().find(name);                                                         \
    const Spelling spelling =                                                                                  \
        other != spelled_otherwise().end() ? other->second : Spelling{"tl::" + name + "(", name};              \
    CHECK_MESSAGE(sweep.find(spelling.sweep) != std::string::npos,                                             \
                  "op '" << name << "' is not exercised by tests/dsl/ops_test.cpp (no '" << spelling.sweep     \
                         << "' there): add it to the sweep, which holds the three executors to each other");   \
    CHECK_MESSAGE(names(docs, spelling.docs), "op '" << name << "' is not in docs/dsl.md's op reference (no `" \
                                                     << spelling.docs << "` there): describe it");             \
  }
  PTO_IR_OPS(PTO_CHECK_OP)
#undef PTO_CHECK_OP
  CHECK(ops > 40);
}

TEST_CASE("op table rows are consistent with the op lists"){
#define PTO_CHECK_ROW(op, op_category)                                                                            \
  {                                                                                                               \
    const pto::ir::OpInfo row = pto::ir::info(pto::ir::Op::op);                                                   \
    CHECK_MESSAGE(row.min_operands >= 0, #op);                                                                    \
    CHECK_MESSAGE((row.max_operands == pto::ir::variadic_operands || row.max_operands >= row.min_operands), #op); \
    CHECK(pto::ir::category(pto::ir::Op::op) == pto::ir::OpCategory::op_category);                                \
    CHECK(pto::ir::name(pto::ir::Op::op) == #op);                                                                 \
  }
    PTO_IR_OPS(PTO_CHECK_ROW)
#undef PTO_CHECK_ROW
}

TEST_CASE("each category enum maps to its ops and back") {
  using namespace pto::ir;
#define PTO_CHECK_UNARY(op, category) CHECK(op_of(as_unary(Op::op)) == Op::op);
  PTO_IR_UNARY_OPS(PTO_CHECK_UNARY)
#undef PTO_CHECK_UNARY
#define PTO_CHECK_REDUCE(op, category) CHECK(op_of(as_reduce(Op::op)) == Op::op);
  PTO_IR_REDUCE_OPS(PTO_CHECK_REDUCE)
#undef PTO_CHECK_REDUCE
#define PTO_CHECK_BINARY(op, category) CHECK(op_of(as_binary(Op::op)) == Op::op);
  PTO_IR_BINARY_OPS(PTO_CHECK_BINARY)
#undef PTO_CHECK_BINARY
#define PTO_CHECK_COMPARE(op, category) CHECK(op_of(as_compare(Op::op)) == Op::op);
  PTO_IR_COMPARE_OPS(PTO_CHECK_COMPARE)
#undef PTO_CHECK_COMPARE
#define PTO_CHECK_MEMORY(op, category) CHECK(op_of(as_memory(Op::op)) == Op::op);
  PTO_IR_MEMORY_OPS(PTO_CHECK_MEMORY)
#undef PTO_CHECK_MEMORY
  // An op of another category is a PTO-RT bug, not a silent wrong answer.
  CHECK_THROWS_AS(as_unary(Op::add), pto::InternalError);
  CHECK_THROWS_AS(as_reduce(Op::exp), pto::InternalError);
  CHECK(reduce_info(as_reduce(Op::colmean)).axis == ReduceAxis::cols);
  CHECK(reduce_info(as_reduce(Op::rowmax)).kind == ReduceKind::max);
  CHECK(identity(ReduceKind::min) == ReduceIdentity::highest);
}
