// `credit-node export`: records as JSON Lines, for other systems and audits.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <iostream>

#include "node/cli/commands.hpp"
#include "store/model/category.hpp"
#include "store/model/record.hpp"
#include "store/model/uscc.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"

namespace node::cli {
namespace {

// --since takes a date (records ingested on or after it, UTC) or a change-log
// sequence number (records changed after it: what a consumer polls with).
void parse_since(const std::string& v, store::record_filter& f) {
  if (v.find('-') != std::string::npos) {
    if (auto e = store::model::check_date(v); !e.empty()) throw usage_error("--since: " + e);
    f.since_ms = store::model::utc_midnight_ms(v);
    return;
  }
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
    throw usage_error("--since takes a date YYYY-MM-DD or a change sequence number, not '" + v + "'");
  f.after_seq = whole_number("--since", v, 0, UINT64_MAX);
}

}  // namespace

namespace {

// Where the lines go: stdout, or --out FILE. The records are unmasked
// (personal data, commercial secrets): the file is made new, 0600, and
// written through the descriptor that made it (never a path opened again,
// which someone could have swapped for a link meanwhile); a failed export
// removes it, so the same command can run again.
class export_sink {
public:
  explicit export_sink(std::optional<std::string> path) : path_(std::move(path)) {
    if (!path_) return;
    fd_ = ::open(path_->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0 && errno == EEXIST)
      throw usage_error(*path_ + " exists: export never overwrites a file; choose another name, or remove it first");
    if (fd_ < 0) throw std::runtime_error("cannot write " + *path_ + ": " + std::strerror(errno));
  }
  ~export_sink() {
    if (fd_ < 0) return;
    ::close(fd_);
    if (!done_) ::unlink(path_->c_str());
  }
  export_sink(const export_sink&) = delete;
  export_sink& operator=(const export_sink&) = delete;

  bool line(const std::string& l) {
    buf_ += l;
    buf_ += '\n';
    return buf_.size() < (1 << 20) || flush();
  }
  void finish(std::uint64_t n) {
    if (!flush()) throw std::runtime_error("write failed after " + std::to_string(n) + " records" + (path_ ? ": " + why_ : ""));
    if (fd_ >= 0 && ::fsync(fd_) != 0) throw std::runtime_error("cannot flush " + *path_ + ": " + std::strerror(errno));
    done_ = true;
    if (path_) std::cerr << "exported " << n << " records to " << *path_ << "\n";
  }

private:
  bool flush() {
    if (fd_ < 0) {
      std::cout << buf_ << std::flush;
      buf_.clear();
      return static_cast<bool>(std::cout);
    }
    for (std::size_t at = 0; at < buf_.size();) {
      auto w = ::write(fd_, buf_.data() + at, buf_.size() - at);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return why_ = std::strerror(errno), false;
      at += static_cast<std::size_t>(w);
    }
    buf_.clear();
    return true;
  }
  std::optional<std::string> path_;
  int fd_ = -1;
  bool done_ = false;
  std::string buf_, why_;
};

}  // namespace

int cmd_export(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {"--category", "--subject", "--since", "--out"}, 0});
  store::record_filter f;
  f.category = a.get("--category").value_or("");
  f.subject = a.get("--subject").value_or("");
  if (!f.category.empty() && !store::model::category_registry::builtin().find(f.category))
    throw usage_error("unknown category '" + f.category + "'; known: " +
                      store::model::category_registry::builtin().names());
  if (auto s = a.get("--since")) parse_since(*s, f);
  auto cfg = load_config(a);
  store::model::uscc_policy codes(cfg.import.legacy_codes);
  if (!f.subject.empty())
    if (auto e = codes.check(f.subject); !e.empty()) throw usage_error("--subject: " + e);
  auto env = open_store(cfg);
  export_sink out(a.get("--out"));
  store::reader rd(*env);
  std::uint64_t n = 0;
  rd.for_each_record(f, [&](const store::model::record& r) {
    ++n;
    return out.line(store::model::to_json_line(r));
  });
  out.finish(n);
  return 0;
}

}  // namespace node::cli
