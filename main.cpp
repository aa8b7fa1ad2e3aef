// credit-node: one static binary for every tier of the network. main only
// tunes the allocator and hands the command line to node/cli.
#include "node/cli/allocator.hpp"
#include "node/cli/cli.hpp"

int main(int argc, char** argv) {
  node::cli::ask_for_huge_pages(argv);  // returns only in the second start, or if it cannot
  node::cli::tune_allocator();
  return node::cli::run(argc, argv);
}
