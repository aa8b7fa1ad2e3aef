// `credit-node export`: records as JSON Lines, for other systems and audits.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
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
  std::ofstream file;
  if (auto out = a.get("--out")) {
    // The records are unmasked (personal data, commercial secrets): the file
    // is the operator's alone (0600), and never replaces another file.
    int fd = ::open(out->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
      throw usage_error(*out + " exists: export never overwrites a file; choose another name, or remove it first");
    if (fd < 0) throw std::runtime_error("cannot write " + *out + ": " + std::strerror(errno));
    ::close(fd);
    file.open(*out, std::ios::trunc);
    if (!file) throw std::runtime_error("cannot write " + *out);
  }
  std::ostream& os = file.is_open() ? file : std::cout;
  store::reader rd(*env);
  std::uint64_t n = 0;
  rd.for_each_record(f, [&](const store::model::record& r) {
    os << store::model::to_json_line(r) << '\n';
    ++n;
    return static_cast<bool>(os);
  });
  os.flush();
  if (!os) throw std::runtime_error("write failed after " + std::to_string(n) + " records");
  if (file.is_open()) std::cerr << "exported " << n << " records to " << *a.get("--out") << "\n";
  return 0;
}

}  // namespace node::cli
