// A fixture for the layer check: a dsl/ file including a runtime/ header (not compiled).
#pragma once
#include "core/error.hpp"
#include "runtime/task_graph.hpp"
