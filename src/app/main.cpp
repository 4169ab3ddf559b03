#include "app/cli.hpp"

int main(int argc, char** argv) { return ds::app::run_cli(argc, argv); }
