// Shared by the black-box CLI tests (cli_*.cpp): a freshly initialised node
// in a scratch directory, and small readers for `status --json`, `export` and
// `import --show-quarantine --json`.
#pragma once

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace cli_test {

namespace json = boost::json;

// Firms registered in Nanjing (3201xx): the fixture node's jurisdiction.
inline const std::string A = "91320102776049653M";
inline const std::string B = "91320104MA5CJQ4N5M";
inline const std::string C = "9132010659498494X3";
inline const std::string tax_header =
    "subject,record_id,event_date,source,period,tax_type,amount_paid,arrears,credit_rating";

// One CSV data row for `tax` (no quoting: callers pass plain values).
inline std::string tax_row(const std::string& subject, const std::string& id,
                           const std::string& amount = "100.00", const std::string& rating = "A",
                           const std::string& tax_type = "VAT") {
  return subject + "," + id + ",2024-01-15,tax bureau,2024-01," + tax_type + "," + amount + ",," +
         rating;
}

// Every line of `text` must be one JSON object; returns them in order.
inline std::vector<json::object> json_lines(const std::string& text) {
  std::vector<json::object> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    REQUIRE_MESSAGE(nl != std::string::npos, "output does not end with a newline: " << text);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    json::error_code ec;
    auto v = json::parse(line, ec);
    REQUIRE_MESSAGE(!ec, "not JSON: " << line);
    REQUIRE_MESSAGE(v.is_object(), "not a JSON object: " << line);
    out.push_back(v.as_object());
  }
  return out;
}

inline std::string str(const json::value& v) { return std::string(v.as_string()); }

struct node {
  test::temp_dir tmp;
  std::string dir = tmp / "n";
  std::string cfg = dir + "/node.toml";

  node() {
    auto r = test::run_cli({"init", "--role", "local", "--node-id", "js.nanjing", "--jurisdiction",
                            "320100", "--dir", dir});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }

  // `credit-node CMD -c node.toml ARGS...`
  test::run_result run(const std::string& cmd, std::vector<std::string> args = {}) const {
    args.insert(args.begin(), {cmd, "-c", cfg});
    return test::run_cli(args);
  }

  // Writes `name` in the scratch directory; returns its path.
  std::string file(const std::string& name, const std::string& content) const {
    std::string p = tmp / name;
    test::write_file(p, content);
    return p;
  }

  test::run_result import(const std::string& category, const std::string& path) const {
    return run("import", {"--category", category, path});
  }

  json::object status() const {
    auto r = run("status", {"--json"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto lines = json_lines(r.out);
    REQUIRE(lines.size() == 1);
    return lines[0];
  }
  std::int64_t total() const { return status().at("records").at("total").to_number<std::int64_t>(); }
  std::int64_t last_seq() const { return status().at("store").at("last_seq").to_number<std::int64_t>(); }
  std::int64_t quarantined() const {
    return status().at("quarantine").at("count").to_number<std::int64_t>();
  }

  std::vector<json::object> exported(std::vector<std::string> filters = {}) const {
    auto r = run("export", std::move(filters));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return json_lines(r.out);
  }
  std::set<std::string> exported_ids(std::vector<std::string> filters = {}) const {
    std::set<std::string> ids;
    for (const auto& o : exported(std::move(filters))) ids.insert(str(o.at("record_id")));
    return ids;
  }
  // The one exported record with this record_id (fails the test otherwise).
  json::object record(const std::string& id) const {
    std::vector<json::object> hits;
    for (auto& o : exported())
      if (str(o.at("record_id")) == id) hits.push_back(o);
    REQUIRE_MESSAGE(hits.size() == 1, "record " << id << " exported " << hits.size() << " times");
    return hits[0];
  }

  std::vector<json::object> quarantine() const {
    auto r = run("import", {"--show-quarantine", "--json"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return json_lines(r.out);
  }
};

// stderr holds the line "FILE:LINE: FIELD: REASON" with `reason` in REASON.
inline void check_bad_row_printed(const std::string& err, const std::string& file, int line,
                                  const std::string& field, const std::string& reason) {
  std::string prefix = file + ":" + std::to_string(line) + ": " + field + ": ";
  auto at = err.find(prefix);
  REQUIRE_MESSAGE(at != std::string::npos, "no '" << prefix << "' in stderr:\n" << err);
  auto eol = err.find('\n', at);
  std::string rest = err.substr(at + prefix.size(), eol - at - prefix.size());
  CHECK_MESSAGE(rest.find(reason) != std::string::npos,
                prefix << " reason '" << rest << "' lacks '" << reason << "'");
}

// The quarantine (`--show-quarantine --json`) has an entry for file:line with
// this field and a reason containing `reason`.
inline void check_quarantined(const std::vector<json::object>& q, const std::string& file, int line,
                              const std::string& field, const std::string& reason) {
  for (const auto& e : q) {
    if (str(e.at("file")) != file || e.at("line").to_number<int>() != line) continue;
    CHECK(str(e.at("field")) == field);
    CHECK_MESSAGE(str(e.at("reason")).find(reason) != std::string::npos, str(e.at("reason")));
    return;
  }
  FAIL("no quarantine entry for " << file << ":" << line);
}

}  // namespace cli_test
