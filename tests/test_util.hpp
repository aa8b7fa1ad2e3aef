// Helpers shared by tests: scratch directories that clean up after
// themselves, and running the real binary.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace test {

// Under qemu-user (the arm64 run) everything takes many times longer:
// timeouts a test sets, and the waits it measures against them, scale by this.
#ifdef CN_EMULATOR
inline constexpr int time_scale = 10;
#else
inline constexpr int time_scale = 1;
#endif

// A fresh directory under $TMPDIR, removed when the object dies.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

struct run_result {
  int exit_code = -1;
  std::string out, err;
};

// A TCP connection to "ip:port" (IPv4); the fd, or -1 when refused.
int tcp_connect(const std::string& addr);

// Runs argv[0] (looked up in $PATH) with stdin from /dev/null, capturing
// stdout and stderr. exit_code 127: the program could not be started.
run_result run_program(std::vector<std::string> argv);

// Runs the built credit-node binary with `args`, capturing stdout/stderr.
run_result run_cli(const std::vector<std::string>& args);

}  // namespace test
