// PTO_DUMP: which intermediate forms to log. A comma-separated list of names ("ir",
// later "llvm", "cuda"); docs/environment.md lists them.
#pragma once

#include <string_view>

namespace pto {

// True when $PTO_DUMP names `what` (as a whole item of its comma list). Read on each call,
// so tests and tools may change it at run time.
bool dump_enabled(std::string_view what);

}  // namespace pto
