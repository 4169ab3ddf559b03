#pragma once

namespace ds::app {

// The `dataspace` command line. Returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace ds::app
