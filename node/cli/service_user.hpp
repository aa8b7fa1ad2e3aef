// Root running a command on a node whose files belong to its service user
// (the package's `credit-node`): the install guide's commands are typed as
// root, and a file they make in the data directory or beside the node key
// would be root's — the service could then not open its store or read its
// key, and would not start. Files made there are handed to that user.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace node::cli {

struct service_user {
  uid_t uid;
  gid_t gid;
};

// The owner of `dir` when this process runs as root and `dir` exists and
// belongs to another user; none otherwise (a node run by root, tests).
std::optional<service_user> service_user_of(const std::string& dir);

// Every root-owned file directly in `dir` goes to its owner (see above):
// the store's files after a command opened (or restored) it.
void hand_over_files_in(const std::string& dir);

// `path` goes to the owner of its directory, when root made it there.
void hand_over(const std::string& path);

}  // namespace node::cli
