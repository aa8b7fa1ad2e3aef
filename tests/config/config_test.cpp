// config: every refusal names the key, the line and what was expected.
#include "config/config.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <string>

namespace {

namespace fs = std::filesystem;

// Self-contained scratch directory, so this file builds without the rest of
// the test support (which needs the built binary).
class scratch {
public:
  scratch() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("cn-config-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

void write(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
}

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::string node_part =
    "[node]\n"
    "id = \"js.nanjing\"\n"
    "role = \"local\"\n"
    "jurisdiction = \"320100\"\n"
    "data_dir = \"/var/lib/credit-node\"\n";
const std::string tls_part =
    "[tls]\n"
    "ca = \"/etc/cn/ca.pem\"\n"
    "cert = \"/etc/cn/node.pem\"\n"
    "key = \"/etc/cn/node.key\"\n";
const std::string minimal = node_part + tls_part;  // tls header on line 6

// Issues parse() reports for `text`; empty when it accepts it.
std::vector<config::issue> issues_of(const std::string& text) {
  try {
    config::parse(text, "node.toml");
  } catch (const config::config_error& e) {
    return e.issues();
  }
  return {};
}

// The single issue for `text`; fails the test when there is not exactly one.
config::issue one_issue(const std::string& text) {
  auto issues = issues_of(text);
  REQUIRE_MESSAGE(issues.size() == 1, "issues: ", issues.size());
  return issues[0];
}

std::string what_of(const std::string& text) {
  try {
    config::parse(text, "node.toml");
  } catch (const config::config_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a minimal config parses and gets the documented defaults") {
  auto cfg = config::parse(minimal, "node.toml");
  CHECK(cfg.source_path == "node.toml");
  CHECK(cfg.node.id == "js.nanjing");
  CHECK(cfg.node.role == "local");
  CHECK(cfg.node.jurisdiction == "320100");
  CHECK(cfg.node.data_dir == "/var/lib/credit-node");
  CHECK(cfg.tls.key == "/etc/cn/node.key");
  CHECK(cfg.listen.sync == "0.0.0.0:7443");
  CHECK(cfg.listen.api == "0.0.0.0:8443");
  CHECK(cfg.listen.admin == "127.0.0.1:9090");
  CHECK_FALSE(cfg.upstream.has_value());
  CHECK(cfg.store.map_size_mb == 65536);
  CHECK(cfg.import.max_record_bytes == 1048576);
  CHECK(cfg.import.batch_rows == 100000);
  CHECK(cfg.import.legacy_codes.empty());
  CHECK(cfg.log.level == "info");
}

TEST_CASE("every key is read when given") {
  auto cfg = config::parse(minimal +
                               "[listen]\nsync = \"[::]:17443\"\napi = \"api.js.example:443\"\nadmin = \"127.0.0.1:1\"\n"
                               "[upstream]\nurl = \"https://sync.js.example:7443\"\nnode_id = \"js.province\"\n"
                               "[store]\nmap_size_mb = 64\n"
                               "[import]\nmax_record_bytes = 1024\nbatch_rows = 1000000\n"
                               "legacy_codes = [\"91320100MA1XXXXX0X\"]\n"
                               "[log]\nlevel = \"debug\"\n",
                           "node.toml");
  CHECK(cfg.listen.sync == "[::]:17443");
  CHECK(cfg.listen.api == "api.js.example:443");
  CHECK(cfg.listen.admin == "127.0.0.1:1");
  REQUIRE(cfg.upstream.has_value());
  CHECK(cfg.upstream->url == "https://sync.js.example:7443");
  CHECK(cfg.upstream->node_id == "js.province");
  CHECK(cfg.store.map_size_mb == 64);
  CHECK(cfg.import.max_record_bytes == 1024);
  CHECK(cfg.import.batch_rows == 1000000);
  CHECK(cfg.import.legacy_codes == std::vector<std::string>{"91320100MA1XXXXX0X"});
  CHECK(cfg.log.level == "debug");
}

TEST_CASE("a typo'd key is named with its line, the allowed keys and a suggestion") {
  std::string text = "[node]\nid = \"a\"\nrol = \"local\"\njurisdiction = \"320100\"\ndata_dir = \"/d\"\n" + tls_part;
  // One mistake, one issue: the suggestion covers role being missing.
  auto i = one_issue(text);
  CHECK(i.where == "node.toml:3:1");
  CHECK(i.key == "node.rol");
  CHECK(i.message == "unknown key; expected one of: id, role, jurisdiction, data_dir; did you mean 'role'?");
  CHECK(what_of(text) ==
        "node.toml:3:1: node.rol: unknown key; expected one of: id, role, jurisdiction, data_dir; did you mean 'role'?");

  auto both = one_issue(minimal + "kye = \"k2\"\n");  // key is set: "kye" is not a typo of it
  CHECK(both.message == "unknown key; expected one of: ca, cert, key");

  auto table = one_issue(node_part + "[tsl]\nca = \"a\"\ncert = \"c\"\nkey = \"k\"\n");
  CHECK(table.key == "tsl");
  CHECK(table.message.find("did you mean 'tls'?") != std::string::npos);
}

TEST_CASE("an unrelated unknown key does not hide a missing one") {
  auto issues = issues_of("[node]\nid = \"a\"\nposition = \"local\"\njurisdiction = \"320100\"\ndata_dir = \"/d\"\n" + tls_part);
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].key == "node.role");
  CHECK(issues[0].where == "node.toml:1:1");
  CHECK(issues[0].message == "required key is missing (expected a string)");
  CHECK(issues[1].key == "node.position");
  CHECK(issues[1].message.find("did you mean") == std::string::npos);
}

TEST_CASE("an unknown key far from any allowed one gets no suggestion") {
  auto i = one_issue(minimal + "colour = \"blue\"\n");
  CHECK(i.key == "tls.colour");
  CHECK(i.where == "node.toml:10:1");
  CHECK(i.message == "unknown key; expected one of: ca, cert, key");
}

TEST_CASE("an unknown table is refused as a whole") {
  auto i = one_issue(minimal + "[stor]\nmap_size_mb = 64\nwhatever = 1\n");
  CHECK(i.key == "stor");
  CHECK(i.where == "node.toml:10:2");
  CHECK(i.message.find("unknown table") == 0);
  CHECK(i.message.find("node, listen, tls, upstream, store, import, admission, api, log") != std::string::npos);
  CHECK(i.message.find("did you mean 'store'?") != std::string::npos);

  auto nested = one_issue(minimal + "[listen.extra]\nx = 1\n");
  CHECK(nested.key == "listen.extra");
  CHECK(nested.message.find("unknown table; expected one of: sync, api, admin") == 0);
}

TEST_CASE("a wrong type names the key, the line, what was expected and what was found") {
  auto i = one_issue(minimal + "[store]\nmap_size_mb = \"65536\"\n");
  CHECK(i.key == "store.map_size_mb");
  CHECK(i.where == "node.toml:11:15");
  CHECK(i.message == "expected an integer, found a string \"65536\"");

  auto f = one_issue(minimal + "[import]\nbatch_rows = 10.5\n");
  CHECK(f.key == "import.batch_rows");
  CHECK(f.message.find("expected an integer, found a float") == 0);

  auto s = one_issue(node_part + "[tls]\nca = 1\ncert = \"c\"\nkey = \"k\"\n");
  CHECK(s.key == "tls.ca");
  CHECK(s.where == "node.toml:7:6");
  CHECK(s.message == "expected a string, found an integer 1");

  auto t = one_issue("log = \"debug\"\n" + minimal);
  CHECK(t.key == "log");
  CHECK(t.message == "expected a table, found a string \"debug\"");
}

TEST_CASE("a missing required key points at its table") {
  auto i = one_issue(node_part + "[tls]\nca = \"a\"\ncert = \"c\"\n");
  CHECK(i.key == "tls.key");
  CHECK(i.where == "node.toml:6:1");
  CHECK(i.message == "required key is missing (expected a string)");

  auto t = one_issue(node_part);
  CHECK(t.key == "tls");
  CHECK(t.where == "node.toml");
  CHECK(t.message == "required table [tls] is missing");

  auto empty = issues_of("");
  REQUIRE(empty.size() == 2);
  CHECK(empty[0].key == "node");
  CHECK(empty[1].key == "tls");
  CHECK(what_of("") == "node.toml: node: required table [node] is missing\nnode.toml: tls: required table [tls] is missing");
}

TEST_CASE("bad role, division and node id are refused with the reason") {
  auto role = one_issue("[node]\nid = \"a\"\nrole = \"regional\"\njurisdiction = \"320100\"\ndata_dir = \"/d\"\n" + tls_part);
  CHECK(role.key == "node.role");
  CHECK(role.where == "node.toml:3:8");
  CHECK(role.message == "expected one of local, provincial, national; found \"regional\"");

  for (std::string code : {"32010", "3201000", "32o100", "000000", ""}) {
    CAPTURE(code);
    auto div = one_issue("[node]\nid = \"a\"\nrole = \"local\"\njurisdiction = \"" + code + "\"\ndata_dir = \"/d\"\n" + tls_part);
    CHECK(div.key == "node.jurisdiction");
    CHECK(div.where == "node.toml:4:16");
    CHECK(div.message == config::check_division(code));
  }

  auto id = one_issue("[node]\nid = \"JS.Nanjing\"\nrole = \"local\"\njurisdiction = \"320100\"\ndata_dir = \"/d\"\n" + tls_part);
  CHECK(id.key == "node.id");
  CHECK(id.where == "node.toml:2:6");
  CHECK(id.message.find("\"J\" at position 1") != std::string::npos);
}

TEST_CASE("check_node_id") {
  CHECK(config::check_node_id("js.nanjing") == "");
  CHECK(config::check_node_id("0a_b-c.d") == "");
  CHECK(config::check_node_id(std::string(64, 'a')) == "");
  CHECK(config::check_node_id("").find("must not be empty") == 0);
  CHECK(config::check_node_id(std::string(65, 'a')).find("is 65 characters long") == 0);
  CHECK(config::check_node_id("-abc").find("starts with \"-\"") != std::string::npos);
  CHECK(config::check_node_id(".abc") != "");
  CHECK(config::check_node_id("ab c").find("\" \" at position 3") != std::string::npos);
  CHECK(config::check_node_id("ab/c") != "");
  CHECK(config::check_node_id("ab\nc").find("\\x0a") != std::string::npos);
  CHECK(config::check_node_id("x").find("expected") == std::string::npos);
  CHECK(config::check_node_id("X").find("expected 1..64 characters") != std::string::npos);
}

TEST_CASE("check_role and check_division") {
  for (auto r : {"local", "provincial", "national"}) CHECK(config::check_role(r) == "");
  CHECK(config::check_role("Local") != "");
  CHECK(config::check_role("").find("local, provincial, national") != std::string::npos);
  CHECK(config::check_division("320100") == "");
  CHECK(config::check_division("110000") == "");
  CHECK(config::check_division("000000").find("not a division") != std::string::npos);
  CHECK(config::check_division("３２０１００").find("6-digit") != std::string::npos);  // full-width digits
  CHECK(config::check_division(" 320100") != "");
}

TEST_CASE("listen addresses must be HOST:PORT with a numeric port") {
  for (std::string good : {"0.0.0.0:1", "localhost:65535", "[::1]:7443", "[::]:80", "node-1.js.example:8443"}) {
    CAPTURE(good);
    CHECK(issues_of(minimal + "[listen]\napi = \"" + good + "\"\n").empty());
  }
  struct bad_case {
    std::string value, reason;
  };
  for (const auto& [value, reason] : std::vector<bad_case>{
           {"8443", "no ':PORT'"},
           {"0.0.0.0:", "no port after ':'"},
           {"0.0.0.0:0", "outside 1..65535"},
           {"0.0.0.0:65536", "outside 1..65535"},
           {"0.0.0.0:https", "is not a number"},
           {":8443", "no host"},
           {"::1:8443", "needs brackets"},
           {"[::1]8443", "no ':PORT' after"},
           {"[zz]:8443", "not an IPv6 address"},
           {"bad host:1", "has characters"},
           {"", "empty"}}) {
    CAPTURE(value);
    auto i = one_issue(minimal + "[listen]\nsync = \"x:1\"\napi = \"" + value + "\"\n");
    CHECK(i.key == "listen.api");
    CHECK(i.where == "node.toml:12:7");
    CHECK(i.message.find("expected HOST:PORT") == 0);
    CHECK(i.message.find(reason) != std::string::npos);
  }
}

// Two listeners on one socket: `run` would fail to bind the second and
// blame another process.
TEST_CASE("listen: two listeners on one port of one address, or of every address, are refused by check") {
  auto same = one_issue(minimal + "[listen]\nsync = \"127.0.0.1:7443\"\napi = \"127.0.0.1:7443\"\n");
  CHECK(same.key == "listen.api");
  CHECK(same.message == "127.0.0.1:7443 is where listen.sync (127.0.0.1:7443) listens too: give each listener its own port");
  auto wildcard = one_issue(minimal + "[listen]\nsync = \"0.0.0.0:9090\"\n");  // the admin listener's default port
  CHECK(wildcard.key == "listen.admin");
  CHECK(wildcard.message.find("listen.sync (0.0.0.0:9090)") != std::string::npos);
  CHECK(issues_of(minimal + "[listen]\nsync = \"127.0.0.1:7443\"\napi = \"127.0.0.2:7443\"\n").empty());
}

TEST_CASE("upstream: both keys, an https URL with a port, and never on the national node") {
  std::string national = "[node]\nid = \"cn\"\nrole = \"national\"\njurisdiction = \"100000\"\ndata_dir = \"/d\"\n" + tls_part;
  CHECK(issues_of(national).empty());
  auto i = one_issue(national + "[upstream]\nurl = \"https://x:1\"\nnode_id = \"y\"\n");
  CHECK(i.key == "upstream");
  CHECK(i.where == "node.toml:10:1");
  CHECK(i.message.find("must be absent when node.role = \"national\"") == 0);

  auto missing = one_issue(minimal + "[upstream]\nurl = \"https://sync.js.example:7443\"\n");
  CHECK(missing.key == "upstream.node_id");
  CHECK(missing.where == "node.toml:10:1");

  for (std::string url : {"http://sync.js.example:7443", "https://sync.js.example", "https://sync.js.example:7443/sync",
                          "sync.js.example:7443", "https://:7443"}) {
    CAPTURE(url);
    auto u = one_issue(minimal + "[upstream]\nurl = \"" + url + "\"\nnode_id = \"js.province\"\n");
    CHECK(u.key == "upstream.url");
    CHECK(u.where == "node.toml:11:7");
    CHECK(u.message.find("expected \"https://HOST:PORT\"") == 0);
  }
  CHECK(issues_of(minimal + "[upstream]\nurl = \"https://[fd00::1]:7443/\"\nnode_id = \"p\"\n").empty());

  auto id = one_issue(minimal + "[upstream]\nurl = \"https://p:7443\"\nnode_id = \"P!\"\n");
  CHECK(id.key == "upstream.node_id");
}

TEST_CASE("store, import and log values are range-checked") {
  auto small = one_issue(minimal + "[store]\nmap_size_mb = 63\n");
  CHECK(small.key == "store.map_size_mb");
  CHECK(small.message.find("must be between 64 and") == 0);
  CHECK(small.message.find("found 63") != std::string::npos);

  auto rec = one_issue(minimal + "[import]\nmax_record_bytes = 268435457\n");
  CHECK(rec.message == "must be between 1024 and 268435456, found 268435457");
  auto rows = one_issue(minimal + "[import]\nbatch_rows = 0\n");
  CHECK(rows.message == "must be between 1 and 1000000, found 0");

  auto codes = issues_of(minimal + "[import]\nlegacy_codes = [\"91320100MA1XXXXX0X\", \"short\", 7]\n");
  REQUIRE(codes.size() == 2);
  CHECK(codes[0].key == "import.legacy_codes[1]");
  CHECK(codes[0].where == "node.toml:11:39");
  CHECK(codes[0].message == "expected an 18-character USCC, found \"short\" (5 characters)");
  CHECK(codes[1].key == "import.legacy_codes[2]");
  CHECK(codes[1].message.find("found an integer 7") != std::string::npos);
  // 18 characters, but not a code's shape: lower case, full-width digits, a space, letters in the division.
  auto shapes = issues_of(minimal + "[import]\nlegacy_codes = [\"91350200100000008t\", \"９１350200100000008T\", "
                                    "\"913502 0 100000 8T\", \"91AB0200100000008T\", \"91320100MA1XXXXX0X\"]\n");
  REQUIRE(shapes.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(shapes[i].key == "import.legacy_codes[" + std::to_string(i) + "]");
    CHECK_MESSAGE(shapes[i].message.find("check characters alone may be wrong") != std::string::npos, shapes[i].message);
  }

  auto lvl = one_issue(minimal + "[log]\nlevel = \"verbose\"\n");
  CHECK(lvl.key == "log.level");
  CHECK(lvl.message == "expected one of debug, info, warn, error; found \"verbose\"");
}

TEST_CASE("a TOML syntax error is one issue with its position and toml++'s description") {
  auto i = one_issue("[node]\nid = \"a\"\nrole = local\n");
  CHECK(i.where.find("node.toml:3:") == 0);
  CHECK(i.key.empty());
  CHECK(i.message.find("TOML syntax error: ") == 0);
  CHECK(i.message.size() > std::string("TOML syntax error: ").size());

  auto dup = one_issue(minimal + "[node]\n");
  CHECK(dup.where.find("node.toml:10:") == 0);
}

TEST_CASE("every issue is reported at once, in file order") {
  std::string text =
      "[node]\n"
      "id = \"-bad\"\n"            // 2: bad id
      "role = \"local\"\n"
      "jurisdiction = 320100\n"    // 4: wrong type
      "[tls]\n"                    // 5: key missing
      "ca = \"a\"\n"
      "cert = \"c\"\n"
      "[listen]\n"
      "api = \"8443\"\n"           // 9: bad address
      "[logs]\n"                   // 10: unknown table
      "level = \"info\"\n";       // data_dir missing → node table, line 1
  auto issues = issues_of(text);
  REQUIRE(issues.size() == 6);
  CHECK(issues[0].key == "node.data_dir");
  CHECK(issues[0].where == "node.toml:1:1");
  CHECK(issues[1].key == "node.id");
  CHECK(issues[2].key == "node.jurisdiction");
  CHECK(issues[2].message == "expected a string, found an integer 320100");
  CHECK(issues[3].key == "tls.key");
  CHECK(issues[3].where == "node.toml:5:1");
  CHECK(issues[4].key == "listen.api");
  CHECK(issues[5].key == "logs");
  CHECK(issues[5].message.find("did you mean 'log'?") != std::string::npos);

  std::string what = what_of(text);
  CHECK(std::count(what.begin(), what.end(), '\n') == 5);
  CHECK(what.find("node.toml:4:16: node.jurisdiction: expected a string") != std::string::npos);
}

TEST_CASE("load() of a missing file says which file, why and what to do") {
  scratch dir;
  std::string path = (dir.path() / "absent.toml").string();
  try {
    config::load(path);
    FAIL("load() accepted a missing file");
  } catch (const config::config_error&) {
    FAIL("a missing file is not a config_error");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    CHECK(what.find(path) != std::string::npos);
    CHECK(what.find("No such file or directory") != std::string::npos);
    CHECK(what.find("credit-node init") != std::string::npos);
    CHECK(what.find("-c FILE") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(config::load(dir.path().string()), doctest::Contains("Is a directory"), std::runtime_error);
  // A device, or anything past a megabyte, is not a node.toml (-c /dev/zero grew without end).
  CHECK_THROWS_WITH_AS(config::load("/dev/zero"), doctest::Contains("larger than 1 MiB: not a node.toml"), std::runtime_error);
}

TEST_CASE("load() resolves relative paths against the config file's directory") {
  scratch dir;
  fs::create_directories(dir.path() / "etc");
  std::string path = (dir.path() / "etc" / "node.toml").string();
  write(path,
        "[node]\nid = \"a\"\nrole = \"local\"\njurisdiction = \"320100\"\ndata_dir = \"../data\"\n"
        "[tls]\nca = \"tls/ca.pem\"\ncert = \"/abs/node.pem\"\nkey = \"./tls/node.key\"\n");
  auto cfg = config::load(path);
  CHECK(cfg.source_path == path);
  CHECK(cfg.node.data_dir == (dir.path() / "data").string());
  CHECK(cfg.tls.ca == (dir.path() / "etc" / "tls" / "ca.pem").string());
  CHECK(cfg.tls.cert == "/abs/node.pem");
  CHECK(cfg.tls.key == (dir.path() / "etc" / "tls" / "node.key").string());

  // parse() has no file to be relative to: paths stay as written.
  CHECK(config::parse(read(path), "x").node.data_dir == "../data");
}

TEST_CASE("load() reports issues with the file's path") {
  scratch dir;
  std::string path = (dir.path() / "node.toml").string();
  write(path, minimal + "[log]\nlevel = \"loud\"\n");
  CHECK_THROWS_WITH_AS(config::load(path), doctest::Contains((path + ":11:9: log.level: ").c_str()), config::config_error);
}

TEST_CASE("render_initial round-trips through parse() for every role") {
  for (std::string role : {"local", "provincial", "national"}) {
    CAPTURE(role);
    config::init_params p{role, "js.node-1", "320100", "/srv/cn"};
    std::string text = config::render_initial(p);
    auto cfg = config::parse(text, "init.toml");
    CHECK(cfg.node.id == "js.node-1");
    CHECK(cfg.node.role == role);
    CHECK(cfg.node.jurisdiction == "320100");
    CHECK(cfg.node.data_dir == "/srv/cn/data");
    CHECK(cfg.tls.ca == "/srv/cn/tls/ca.pem");
    CHECK(cfg.tls.cert == "/srv/cn/tls/node.pem");
    CHECK(cfg.tls.key == "/srv/cn/tls/node.key");
    CHECK(cfg.listen.sync == "0.0.0.0:7443");
    CHECK(cfg.listen.admin == "127.0.0.1:9090");
    CHECK(cfg.store.map_size_mb == 65536);
    CHECK(cfg.import.batch_rows == 100000);
    CHECK(cfg.log.level == "info");
    CHECK_FALSE(cfg.upstream.has_value());
    for (auto section : {"[node]", "[listen]", "[tls]", "[store]", "[import]", "[log]"})
      CHECK(text.find(std::string("\n") + section + "\n") != std::string::npos);
    CHECK((text.find("# [upstream]") != std::string::npos) == (role != "national"));
    CHECK(text.find("\n[upstream]") == std::string::npos);
  }
}

TEST_CASE("render_initial's commented upstream becomes valid when uncommented") {
  std::string text = config::render_initial({"local", "a", "320100", "/srv/cn"});
  for (std::string line : {"[upstream]", "url = ", "node_id = "}) {
    auto at = text.find("# " + line);
    REQUIRE(at != std::string::npos);
    text.erase(at, 2);
  }
  auto cfg = config::parse(text, "init.toml");
  REQUIRE(cfg.upstream.has_value());
  CHECK(cfg.upstream->url.find("https://") == 0);
}

TEST_CASE("render_initial escapes awkward directory names") {
  std::string dir = "/srv/we\"ird\\dir\tx";
  auto cfg = config::parse(config::render_initial({"provincial", "js.province", "320000", dir}), "init.toml");
  CHECK(cfg.node.data_dir == dir + "/data");
  CHECK(cfg.tls.key == dir + "/tls/node.key");
}

TEST_CASE("render_initial makes a relative directory absolute") {
  auto cfg = config::parse(config::render_initial({"local", "a", "320100", "rel/dir"}), "init.toml");
  CHECK(fs::path(cfg.node.data_dir).is_absolute());
  CHECK(cfg.node.data_dir == (fs::current_path() / "rel" / "dir" / "data").string());
}

TEST_CASE("the [admission] policy is read, and each bad value is named with its line") {
  auto cfg = config::parse(minimal + "[admission]\nmin_version = \"0.3.1\"\nmax_clock_skew_s = 30\n"
                                     "required_checks = [\"tls.validity\", \"store.integrity\"]\nsuspend_after_violations = 0\n",
                           "node.toml");
  CHECK(cfg.admission.min_version == "0.3.1");
  CHECK(cfg.admission.max_clock_skew_s == 30);
  CHECK(cfg.admission.required_checks == std::vector<std::string>{"tls.validity", "store.integrity"});
  CHECK(cfg.admission.suspend_after_violations == 0);
  auto defaults = config::parse(minimal, "node.toml").admission;
  CHECK(defaults.max_clock_skew_s == 300);
  CHECK(defaults.suspend_after_violations == 100);
  auto issues = issues_of(minimal + "[admission]\nmin_version = \"1.2\"\nmax_clock_skew_s = 0\nrequired_checks = [\"\", 3]\nsuspend_after_violation = 5\n");
  REQUIRE(issues.size() == 5);
  CHECK(issues[0].where == "node.toml:11:15");
  CHECK(issues[0].message.find("MAJOR.MINOR.PATCH") != std::string::npos);
  CHECK(issues[1].key == "admission.max_clock_skew_s");
  CHECK(issues[2].key == "admission.required_checks[0]");
  CHECK(issues[3].key == "admission.required_checks[1]");
  CHECK(issues[4].message.find("did you mean 'suspend_after_violations'?") != std::string::npos);
  // A check id no `credit-node check` reports would refuse every child at
  // its next join, telling the child to upgrade: refused here instead.
  auto typo = issues_of(minimal + "[admission]\nrequired_checks = [\"tls.validity\", \"tls.validty\", \"firewall\"]\n");
  REQUIRE(typo.size() == 2);
  CHECK(typo[0].key == "admission.required_checks[1]");
  CHECK(typo[0].where == "node.toml:11:36");  // the quote opening "tls.validty"
  CHECK_MESSAGE(typo[0].message.rfind("unknown check id \"tls.validty\"; did you mean 'tls.validity'? (known: config, tls.ca_validity, ", 0) == 0,
                typo[0].message);
  CHECK(typo[1].message.rfind("unknown check id \"firewall\" (known: ", 0) == 0);
  // Reported only when it warns (a node without a parent): a healthy child
  // never reports it, so requiring it would refuse them all.
  auto sometimes = issues_of(minimal + "[admission]\nrequired_checks = [\"upstream\"]\n");
  REQUIRE(sometimes.size() == 1);
  CHECK(sometimes[0].message.rfind("unknown check id \"upstream\"", 0) == 0);
}
