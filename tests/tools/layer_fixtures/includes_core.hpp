// A fixture for the layer check: a dsl/ file including core/ and dsl/ headers (not compiled).
#pragma once
#include "core/error.hpp"
#include "dsl/ir.hpp"
