// credit-node: one static binary for every tier of the network. main only
// tunes the allocator and hands the command line to node/cli.
#include <string_view>

#include "node/cli/allocator.hpp"
#include "node/cli/cli.hpp"

int main(int argc, char** argv) {
  // Only the commands that hold much memory, the node and an import: the
  // second start costs every other command ~2.6 ms (8.7 against 6.1 ms for
  // `version`), for nothing.
  std::string_view cmd = argc > 1 ? argv[1] : "";
  if (cmd == "run" || cmd == "import") node::cli::ask_for_huge_pages(argv);  // returns in the second start, or if it cannot
  node::cli::tune_allocator();
  return node::cli::run(argc, argv);
}
