#include "node/cli/service_user.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace node::cli {

std::optional<uid_t> service_user_of(const std::string& dir) {
  struct stat st{};
  if (::geteuid() != 0 || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid == 0) return std::nullopt;
  return st.st_uid;
}

}  // namespace node::cli
