// The command line: main() hands everything to run(); each command lives in
// its own file under node/cli/.
#pragma once

namespace node::cli {

// Exit codes (PRODUCT.md §4): 0 success, 1 a failed check, 2 bad usage or input.
int run(int argc, char** argv);

}  // namespace node::cli
