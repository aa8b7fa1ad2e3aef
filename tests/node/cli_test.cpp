// Black-box tests of the `credit-node` command line (PRODUCT.md §4, §5):
// init, config errors, usage errors, status --json and export. Import has
// its own file, cli_import_test.cpp.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "node/cli_support.hpp"

using namespace cli_test;

namespace {

int mode_of(const std::string& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 07777);
}

std::string utc_date(std::chrono::system_clock::time_point t) {
  std::chrono::year_month_day d{std::chrono::floor<std::chrono::days>(t)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

test::run_result init(const std::string& dir, const std::string& role = "local",
                      const std::string& id = "js.nanjing", const std::string& division = "320100") {
  return test::run_cli({"init", "--role", role, "--node-id", id, "--jurisdiction", division, "--dir", dir});
}

// The 1-based line of the first line of `text` that starts with `prefix`.
int line_of(const std::string& text, const std::string& prefix) {
  int line = 1;
  for (std::size_t pos = 0; pos < text.size(); ++line) {
    if (text.compare(pos, prefix.size(), prefix) == 0) return line;
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  FAIL("no line starts with " << prefix);
  return 0;
}

}  // namespace

TEST_CASE("cli: init writes the config and a private data dir — a second init changes nothing") {
  test::temp_dir tmp;
  std::string dir = tmp / "n";
  auto r = init(dir);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto toml = test::read_file(dir + "/node.toml");
  CHECK(toml.find("\nid = \"js.nanjing\"\n") != std::string::npos);
  CHECK(toml.find("\nrole = \"local\"\n") != std::string::npos);
  CHECK(toml.find("\njurisdiction = \"320100\"\n") != std::string::npos);
  CHECK(toml.find("\ndata_dir = \"" + dir + "/data\"\n") != std::string::npos);
  CHECK(toml.find("\n# ") != std::string::npos);  // commented
  REQUIRE(std::filesystem::is_directory(dir + "/data"));
  CHECK(mode_of(dir + "/data") == 0700);
  CHECK((mode_of(dir + "/node.toml") & 077 & ~040) == 0);  // not world- or group-writable

  auto again = init(dir, "provincial", "js.province", "320000");
  CHECK(again.exit_code == 2);
  CHECK(again.err.find(dir + "/node.toml already exists") != std::string::npos);
  CHECK(test::read_file(dir + "/node.toml") == toml);
  auto st = test::run_cli({"status", "-c", dir + "/node.toml", "--json"});
  CHECK(st.exit_code == 0);
  CHECK(str(json_lines(st.out).at(0).at("node").at("role")) == "local");
}

TEST_CASE("cli: init refuses a bad --role, --node-id or --jurisdiction and writes nothing") {
  test::temp_dir tmp;
  struct bad { std::string role, id, division, option; };
  for (const auto& b : std::vector<bad>{{"mayor", "js.nanjing", "320100", "--role"},
                                        {"", "js.nanjing", "320100", "--role"},
                                        {"local", "JS Nanjing", "320100", "--node-id"},
                                        {"local", "", "320100", "--node-id"},
                                        {"local", "js.nanjing", "32010", "--jurisdiction"},
                                        {"local", "js.nanjing", "32010A", "--jurisdiction"}}) {
    CAPTURE(b.option);
    std::string dir = tmp / ("n" + b.role + b.id + b.division);
    auto r = init(dir, b.role, b.id, b.division);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("credit-node init: " + b.option + ": ") != std::string::npos);
    CHECK(!std::filesystem::exists(dir + "/node.toml"));
  }
  auto r = test::run_cli({"init", "--role", "local", "--node-id", "js.nanjing", "--dir", tmp / "m"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("missing --jurisdiction") != std::string::npos);
  CHECK(!std::filesystem::exists(tmp / "m/node.toml"));
  // A directory whose name is not UTF-8: its config would not read back (it
  // was written, and then the next init said "already exists").
  std::string latin1 = tmp / "caf\xE9";
  r = init(latin1, "local", "js.nanjing", "320100");
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("would not read back") != std::string::npos, r.err);
  CHECK(!std::filesystem::exists(latin1 + "/node.toml"));
}

TEST_CASE("cli: a typo'd config key stops every command with the key, the line and a suggestion") {
  node n;
  auto toml = test::read_file(n.cfg);
  auto at = toml.find("\nrole = ");
  REQUIRE(at != std::string::npos);
  toml.replace(at, 5, "\nrol");
  test::write_file(n.cfg, toml);
  int line = line_of(toml, "rol = ");
  for (const auto& cmd : std::vector<std::vector<std::string>>{
           {"status"}, {"status", "--json"}, {"export"}, {"import", "--show-quarantine"},
           {"import", "--category", "tax", n.file("t.csv", tax_header + "\n" + tax_row(A, "x") + "\n")}}) {
    CAPTURE(cmd[0]);
    auto r = n.run(cmd[0], std::vector<std::string>(cmd.begin() + 1, cmd.end()));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(n.cfg + ":" + std::to_string(line) + ":") != std::string::npos);
    CHECK(r.err.find("node.rol: unknown key") != std::string::npos);
    CHECK(r.err.find("did you mean 'role'?") != std::string::npos);
    CHECK(r.out.empty());
  }
  toml.replace(at, 6, "\nrole =");
  test::write_file(n.cfg, toml);
  CHECK(n.total() == 0);  // the refused import left nothing behind
}

TEST_CASE("cli: unknown commands and options are usage errors (exit 2)") {
  node n;
  auto r = test::run_cli({"frobnicate"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(test::run_cli({}).exit_code == 2);
  for (const auto& cmd : {"status", "export", "import"}) {
    CAPTURE(cmd);
    r = n.run(cmd, {"--bogus"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("unknown option --bogus") != std::string::npos);
  }
  r = test::run_cli({"init", "--role", "local", "--bogus", "x"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown option --bogus") != std::string::npos);
  r = n.run("import", {"--category"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--category needs a value") != std::string::npos);
  r = n.run("import", {"--category", "tax"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("needs exactly one FILE") != std::string::npos);
  r = n.run("import", {"a.csv"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("missing --category") != std::string::npos);
  r = n.run("status", {"extra"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unexpected argument 'extra'") != std::string::npos);
  r = test::run_cli({"status", "-c", n.tmp / "missing.toml"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(n.tmp / "missing.toml") != std::string::npos);
  // Numbers are numbers, an option is given once, and an option that does
  // not apply is refused rather than ignored.
  test::write_file(n.tmp / "a.csv", "subject,record_id,event_date,source,period,tax_type,amount_paid\n");
  for (auto [args, says] : std::initializer_list<std::pair<std::vector<std::string>, std::string>>{
           {{"--show-quarantine", "--limit", "abc"}, "--limit takes a whole number from 1 to 18446744073709551615, not 'abc'"},
           {{"--show-quarantine", "--limit", "-1"}, "not '-1'"},
           {{"--show-quarantine", "--limit", "10x"}, "not '10x'"},
           {{"--show-quarantine", "--limit", "0"}, "not '0'"},
           {{"--category", "tax", "--category", "loan", n.tmp / "a.csv"}, "--category is given twice ('tax' and 'loan'): give it once"},
           {{"--category", "tax", "--limit", "100", n.tmp / "a.csv"}, "--limit goes with --show-quarantine"},
           {{"--clear-quarantine", "--limit", "5"}, "--limit does not go with --clear-quarantine"},
           {{"--show-quarantine", "--category", "tax"}, "--category does not go with --show-quarantine"},
           {{"--show-quarantine", n.tmp / "a.csv"}, "--show-quarantine takes no FILE"}}) {
    r = n.run("import", args);
    CHECK_MESSAGE(r.exit_code == 2, says);
    CHECK_MESSAGE(r.err.find(says) != std::string::npos, r.err);
  }
  r = n.run("export", {"--since", "123456789012345678901"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("--since takes a whole number from 0 to 18446744073709551615, not '123456789012345678901'") !=
                    std::string::npos, r.err);
  CHECK(n.run("export", {"--since", "18446744073709551615"}).exit_code == 0);
  CHECK(n.run("import", {"--show-quarantine", "--limit", "5"}).exit_code == 0);
}

TEST_CASE("cli: --help after a command prints that command's usage and exits 0") {
  auto r = test::run_cli({"import", "--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("import --category C FILE") != std::string::npos);
  CHECK(r.out.find("import --clear-quarantine") != std::string::npos);
  CHECK(r.out.find("pki sign") == std::string::npos);  // only import's lines
  auto pki = test::run_cli({"pki", "sign", "-h"});
  CHECK(pki.exit_code == 0);
  CHECK(pki.out.find("issue a certificate; R: local|provincial|national|bank|portal") != std::string::npos);  // a continued line
  CHECK(test::run_cli({"nope", "--help"}).exit_code == 2);
}

TEST_CASE("cli: status --json names the node, its upstream, children and record counts") {
  node n;
  auto s = n.status();
  CHECK(str(s.at("node").at("id")) == "js.nanjing");
  CHECK(str(s.at("node").at("role")) == "local");
  CHECK(str(s.at("node").at("jurisdiction")) == "320100");
  CHECK(!str(s.at("upstream").at("state")).empty());
  REQUIRE(s.at("upstream").at("reasons").is_array());
  CHECK(!s.at("upstream").at("reasons").as_array().empty());
  REQUIRE(s.at("children").is_array());
  CHECK(s.at("children").as_array().empty());
  CHECK(s.at("records").at("total").to_number<int>() == 0);
  CHECK(s.at("records").at("by_category").as_object().empty());

  REQUIRE(n.import("tax", n.file("t.csv", tax_header + "\n" + tax_row(A, "t1") + "\n" + tax_row(B, "t2") + "\n"))
              .exit_code == 0);
  auto env = R"({"subject":")" + C +
             R"(","record_id":"e1","event_date":"2024-03-01","source":"epb","fields":{"kind":"rating","issuer":"EPB","result":"A"}})";
  REQUIRE(n.import("environment", n.file("e.jsonl", env + "\n")).exit_code == 0);
  s = n.status();
  CHECK(s.at("records").at("total").to_number<int>() == 3);
  const auto& by = s.at("records").at("by_category").as_object();
  CHECK(by.size() == 2);
  CHECK(by.at("tax").to_number<int>() == 2);
  CHECK(by.at("environment").to_number<int>() == 1);

  // With a parent configured the state is one PRODUCT.md names.
  test::write_file(n.cfg, test::read_file(n.cfg) +
                              "\n[upstream]\nurl = \"https://sync.js.example:7443\"\nnode_id = \"js.province\"\n");
  s = n.status();
  auto state = str(s.at("upstream").at("state"));
  CHECK(std::set<std::string>{"admitted", "pending", "refused", "suspended", "revoked", "unreachable"}.count(state) == 1);
  CHECK(!s.at("upstream").at("reasons").as_array().empty());
  auto text = n.run("status");
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("js.nanjing") != std::string::npos);
  // After an [upstream] edit, until the restart, the running link (here as
  // a running node would have written it) is the old parent: status says
  // which is which instead of the new id beside the old address.
  test::write_file(n.dir + "/data/link-state.json",
                   R"({"parent":"cn.national","url":"https://sync.national.example:7443","state":"admitted","reasons":[]})");
  s = n.status();
  CHECK(str(s.at("upstream").at("node_id")) == "cn.national");
  CHECK(str(s.at("upstream").at("url")) == "https://sync.national.example:7443");
  CHECK(str(s.at("upstream").at("config_upstream").at("node_id")) == "js.province");
  CHECK(n.run("status").out.find("config names        js.province at https://sync.js.example:7443 (taken at the next restart)") !=
        std::string::npos);
}

TEST_CASE("cli: export filters by category, subject and since — output is JSON Lines") {
  node n;
  REQUIRE(n.import("tax", n.file("t.csv", tax_header + "\n" + tax_row(A, "t1") + "\n" + tax_row(A, "t2") +
                                              "\n" + tax_row(B, "t3") + "\n"))
              .exit_code == 0);
  auto seq = n.last_seq();
  CHECK(seq == 3);
  auto env = [](const std::string& subject, const std::string& id) {
    return R"({"subject":")" + subject + R"(","record_id":")" + id +
           R"(","event_date":"2024-03-01","source":"epb","fields":{"kind":"permit","issuer":"EPB","result":"ok"}})" + "\n";
  };
  REQUIRE(n.import("environment", n.file("e.jsonl", env(C, "e1") + env(A, "e2"))).exit_code == 0);

  auto all = n.exported();
  CHECK(all.size() == 5);
  for (const auto& o : all) {
    for (const char* k : {"category", "subject", "record_id", "origin", "version", "event_date", "source",
                          "ingested_at", "deleted", "fields"})
      CHECK_MESSAGE(o.contains(k), k);
    CHECK(o.at("deleted").as_bool() == false);
  }
  CHECK(n.exported_ids({"--category", "tax"}) == std::set<std::string>{"t1", "t2", "t3"});
  CHECK(n.exported_ids({"--category", "environment"}) == std::set<std::string>{"e1", "e2"});
  CHECK(n.exported({"--category", "loan"}).empty());
  CHECK(n.exported_ids({"--subject", A}) == std::set<std::string>{"t1", "t2", "e2"});
  CHECK(n.exported_ids({"--subject", A, "--category", "tax"}) == std::set<std::string>{"t1", "t2"});
  CHECK(n.exported_ids({"--subject", C}) == std::set<std::string>{"e1"});

  CHECK(n.exported({"--since", "0"}).size() == 5);
  CHECK(n.exported_ids({"--since", std::to_string(seq)}) == std::set<std::string>{"e1", "e2"});
  CHECK(n.exported_ids({"--since", std::to_string(seq), "--category", "tax"}).empty());
  CHECK(n.exported({"--since", std::to_string(n.last_seq())}).empty());
  auto now = std::chrono::system_clock::now();
  CHECK(n.exported({"--since", utc_date(now)}).size() == 5);
  CHECK(n.exported({"--since", utc_date(now + std::chrono::hours(48))}).empty());

  auto out = n.tmp / "out.jsonl";
  auto r = n.run("export", {"--category", "tax", "--out", out});
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());
  CHECK(json_lines(test::read_file(out)).size() == 3);

  for (const auto& bad : std::vector<std::vector<std::string>>{{"--category", "weather"},
                                                               {"--subject", "91350200776049653B"},
                                                               {"--since", "2024-02-30"},
                                                               {"--since", "yesterday"}}) {
    CAPTURE(bad[0]);
    r = n.run("export", bad);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(bad[0] == "--category" ? "unknown category 'weather'" : bad[0]) != std::string::npos);
  }
}

// Records leave unmasked (personal data): the file is 0600 and never
// replaces another.
TEST_CASE("cli: export --out writes a file only its owner reads, and never overwrites one") {
  node n;
  REQUIRE(n.import("tax", n.file("t.csv", "subject,record_id,event_date,source,period,tax_type,amount_paid\n"
                                          "91320102776049653M,r1,2026-10-01,tax,2026-09,VAT,1.00\n")).exit_code == 0);
  std::string out = n.tmp / "out.jsonl";
  auto r = n.run("export", {"--out", out});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK((std::filesystem::status(out).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(test::read_file(out).find("\"record_id\":\"r1\"") != std::string::npos);
  std::string kept = n.file("kept.txt", "someone's notes\n");
  r = n.run("export", {"--out", kept});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find(kept + " exists: export never overwrites a file") != std::string::npos, r.err);
  CHECK(test::read_file(kept) == "someone's notes\n");
}

// A misspelt data_dir is not a new empty node: commands that read the store
// refuse, naming the key, and create nothing there.
TEST_CASE("cli: a data_dir that does not exist is refused by status, backup and export, and nothing is made there") {
  node n;
  auto text = test::read_file(n.cfg);
  auto at = text.find("data_dir = \"");
  REQUIRE(at != std::string::npos);
  auto end = text.find('"', at + 12);
  auto wrong = text.substr(at + 12, end - at - 12) + "-typo";
  text.replace(at + 12, end - at - 12, wrong);
  test::write_file(n.cfg, text);
  for (std::vector<std::string> cmd : {std::vector<std::string>{"status"}, {"export"}, {"backup", "--out", n.tmp / "b.mdb"}}) {
    auto name = cmd[0];
    cmd.erase(cmd.begin());
    auto r = n.run(name, cmd);
    CHECK_MESSAGE(r.exit_code == 1, name);
    CHECK_MESSAGE(r.err.find("the data directory " + wrong + " does not exist: check [node] data_dir") != std::string::npos, r.err);
  }
  CHECK_FALSE(std::filesystem::exists(wrong));
  auto run = n.run("run");  // not a new, empty node either
  CHECK(run.exit_code == 1);
  CHECK_MESSAGE(run.err.find("the data directory " + wrong + " does not exist") != std::string::npos, run.err);
  CHECK_FALSE(std::filesystem::exists(wrong));
  auto c = n.run("check");
  CHECK(c.out.find("FAIL  data_dir.mode: the data directory " + wrong + " is missing") != std::string::npos);
  CHECK(c.out.find("fix: check [node] data_dir") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(wrong));
}

// init documents every key (the packaged node.toml says so): [api] too,
// commented out with its default. A config that cannot be read at all is
// unreadable input for check as for every command (exit 2), not a failed
// check of a node.
TEST_CASE("cli: init writes the [api] rate commented out, and check of a missing config exits 2") {
  node n;
  auto text = test::read_file(n.cfg);
  CHECK(text.find("# [api]\n") != std::string::npos);
  CHECK(text.find("# requests_per_second = 200\n") != std::string::npos);
  auto r = test::run_cli({"check", "-c", n.tmp / "nope.toml"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot read config file " + n.tmp / "nope.toml") != std::string::npos);
}

// check FAILs a plain-HTTP admin listener off loopback; run refuses to
// start with one (under systemd check runs first, by hand it did not).
TEST_CASE("cli: run refuses an admin listener off loopback, naming the key and what to set") {
  node n;
  auto text = test::read_file(n.cfg);
  auto at = text.find("\nadmin = \"");
  REQUIRE(at != std::string::npos);
  text.replace(at + 1, text.find('\n', at + 1) - at - 1, "admin = \"0.0.0.0:9090\"");
  test::write_file(n.cfg, text);
  auto r = n.run("run");
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find("[listen] admin = \"0.0.0.0:9090\" is off loopback, and the admin listener speaks plain HTTP: "
                           "set it to \"127.0.0.1:9090\"") != std::string::npos, r.err);
}

// Who may use the API, as an operator checks it: id, name, how it
// authenticates (never the token itself), suspended or not.
TEST_CASE("cli: admin bank list and portal list name each principal, its way in and its state, never a token") {
  node n;
  auto none = n.run("admin", {"bank", "list"});
  CHECK(none.exit_code == 0);
  CHECK(none.out.find("no bank registered") != std::string::npos);
  std::string tok = n.tmp / "bank.token";
  REQUIRE(n.run("admin", {"bank", "add", "--id", "bank-a", "--name", "Bank A", "--token-out", tok}).exit_code == 0);
  REQUIRE(n.run("admin", {"portal", "add", "--id", "portal", "--token-out", n.tmp / "portal.token"}).exit_code == 0);
  REQUIRE(n.run("admin", {"bank", "suspend", "--id", "bank-a", "--reason", "audit finding"}).exit_code == 0);
  auto banks = n.run("admin", {"bank", "list"});
  CHECK(banks.exit_code == 0);
  CHECK(banks.out.find("bank-a  Bank A\n    token (sha256 ") != std::string::npos);
  CHECK(banks.out.find("suspended: audit finding") != std::string::npos);
  CHECK(banks.out.find("portal") == std::string::npos);
  auto token = test::read_file(tok);
  token.pop_back();  // the newline
  CHECK(banks.out.find(token) == std::string::npos);
  auto portals = boost::json::parse(n.run("admin", {"portal", "list", "--json"}).out).as_array();
  REQUIRE(portals.size() == 1);
  CHECK(portals[0].at("id").as_string() == "portal");
  CHECK(portals[0].at("auth").as_string() == "token");
  CHECK_FALSE(portals[0].at("suspended").as_bool());
}
