#include "node/cli/service_user.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace node::cli {

std::optional<service_user> service_user_of(const std::string& dir) {
  struct stat st{};
  if (::geteuid() != 0 || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid == 0) return std::nullopt;
  return service_user{st.st_uid, st.st_gid};
}

namespace {

// Best effort: a file that cannot be handed over is named by `check`.
void give(const std::string& path, const service_user& u) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0) return;
  if (::chown(path.c_str(), u.uid, u.gid) != 0) return;
}

}  // namespace

void hand_over_files_in(const std::string& dir) {
  auto u = service_user_of(dir);
  if (!u) return;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) give(e.path().string(), *u);
}

void hand_over(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path().string();
  if (auto u = service_user_of(parent.empty() ? "." : parent)) give(path, *u);
}

}  // namespace node::cli
