// live_settings: what SIGHUP applies, what it only names, and that readers
// holding an older snapshot keep it whole.
#include "config/live.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

const std::string base =
    "[node]\nid = \"js\"\nrole = \"provincial\"\njurisdiction = \"320000\"\ndata_dir = \"/var/lib/cn\"\n"
    "[tls]\nca = \"/etc/cn/ca.pem\"\ncert = \"/etc/cn/node.pem\"\nkey = \"/etc/cn/node.key\"\n";

config::node_config parse(const std::string& extra) { return config::parse(base + extra, "node.toml"); }

using list = std::vector<std::string>;

}  // namespace

TEST_CASE("live_settings: policy, limits, log level and import apply, identity and listeners only need a restart") {
  config::live_settings live(parse("[api]\nrequests_per_second = 200\n"));
  auto before = live.current();
  auto r = live.apply(parse("[log]\nlevel = \"debug\"\n[api]\nrequests_per_second = 7\n"
                            "[admission]\nmin_version = \"2.0.0\"\nsuspend_after_violations = 3\n"
                            "[import]\nlegacy_codes = [\"91320100MA1XYZ0000\"]\n"));
  CHECK(r.applied == list{"log", "admission", "api", "import"});
  CHECK(r.needs_restart.empty());
  CHECK(live.requests_per_second() == 7);
  auto now = live.current();
  CHECK(now->admission.min_version == "2.0.0");
  CHECK(now->admission.suspend_after_violations == 3);
  CHECK(now->log.level == "debug");
  CHECK(now->import.legacy_codes == list{"91320100MA1XYZ0000"});
  // A reader's earlier snapshot is untouched.
  CHECK(before->admission.min_version == "0.1.0");
  CHECK(before->api.requests_per_second == 200);
}

TEST_CASE("live_settings: a changed identity, listener, TLS file, upstream or store is named and not taken") {
  config::live_settings live(parse(""));
  std::string moved = base;
  moved.replace(moved.find("320000"), 6, "330000");
  moved.replace(moved.find("/etc/cn/ca.pem"), 14, "/etc/cn/ca2.pem");
  auto fresh = config::parse(moved + "[listen]\napi = \"0.0.0.0:9443\"\n[store]\nmap_size_mb = 1024\n"
                                     "[upstream]\nurl = \"https://nat:7443\"\nnode_id = \"national\"\n[api]\nrequests_per_second = 9\n",
                             "node.toml");
  auto r = live.apply(fresh);
  CHECK(r.needs_restart == list{"node", "listen", "tls", "upstream", "store"});
  CHECK(r.applied == list{"api"});
  auto now = live.current();
  CHECK(now->node.jurisdiction == "320000");  // kept
  CHECK(now->tls.ca == "/etc/cn/ca.pem");
  CHECK(now->listen.api == "0.0.0.0:8443");
  CHECK_FALSE(now->upstream.has_value());
  CHECK(live.requests_per_second() == 9);
}

TEST_CASE("live_settings: the same config again applies nothing") {
  config::live_settings live(parse("[api]\nrequests_per_second = 50\n"));
  auto r = live.apply(parse("[api]\nrequests_per_second = 50\n"));
  CHECK(r.applied.empty());
  CHECK(r.needs_restart.empty());
}
