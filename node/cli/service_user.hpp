// Root running a command on a node whose data directory belongs to another
// user (the package's `credit-node`, which runs the node): a file root made
// there would be root's, and the service could not open it (the install
// guide's commands, typed as root, left a node that never started); and a
// link that user put there could point root's writes at any file. Such a
// command is refused: it is run as that user (sudo -u credit-node ...).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace node::cli {

// The owner of `dir` when this process runs as root and `dir` exists and
// belongs to another user; none otherwise (a node run by root, tests).
std::optional<uid_t> service_user_of(const std::string& dir);

}  // namespace node::cli
