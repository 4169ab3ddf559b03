#pragma once

#include <functional>

#include "core/config.hpp"
#include "http/router.hpp"

namespace ds::app {

// Hook to register extra routes after the built-in ones (used by the test server in tests/support).
using ExtraRoutes = std::function<void(http::Router&, const Config&)>;

// The `dataspace` command line. Returns the process exit code.
int run_cli(int argc, char** argv, const ExtraRoutes& extra_routes = {});

}  // namespace ds::app
