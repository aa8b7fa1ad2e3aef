// credit-node: one static binary for every tier of the network. main only
// hands the command line to node/cli.
#include "node/cli/cli.hpp"

int main(int argc, char** argv) { return node::cli::run(argc, argv); }
