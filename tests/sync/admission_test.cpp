#include <doctest/doctest.h>

#include "sync/admission.hpp"
#include "sync/wire.hpp"

using namespace replication;

namespace {

config::node_config province() {
  config::node_config c;
  c.node = {"js.province", "provincial", "320000", "/tmp/x"};
  return c;
}

const std::int64_t now = 1'800'000'000'000;

join_request nanjing() {
  return {"js.nanjing", "local", "320100", "0.1.0", now, {{"tls.validity", "PASS", "valid"}, {"tls.key_mode", "PASS", "0600"}}};
}

certified_peer cert() { return {"js.nanjing", "local", "320100", "0a1b"}; }

store::node_entry entry(store::node_state st, std::string jur = "320100") {
  store::node_entry e;
  e.node_id = "js.nanjing";
  e.role = "local";
  e.jurisdiction = std::move(jur);
  e.state = st;
  e.reason = "because";
  e.cert_serial = "0a1b";
  e.last_decision = "admitted";
  return e;
}

bool has(const join_answer& a, const std::string& text) {
  for (const auto& r : a.reasons)
    if (r.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("join: an approved, healthy child is admitted, an unknown one waits with the command that approves it") {
  auto a = decide_join(province(), cert(), nanjing(), entry(store::node_state::admitted), false, now);
  CHECK(a.decision == "admitted");
  CHECK(a.reasons.empty());
  auto p = decide_join(province(), cert(), nanjing(), std::nullopt, false, now);
  CHECK(p.decision == "pending");
  CHECK(has(p, "credit-node admin approve js.nanjing"));
}

TEST_CASE("join: every reason is given at once — version, clock, posture, identity") {
  auto cfg = province();
  cfg.admission.min_version = "0.2.0";
  cfg.admission.max_clock_skew_s = 60;
  auto req = nanjing();
  req.clock_ms = now - 3'600'000;  // an hour slow
  req.checks.push_back({"tls.key_mode", "FAIL", "key file has mode 0644"});
  req.jurisdiction = "320500";
  auto a = decide_join(cfg, cert(), req, entry(store::node_state::admitted), false, now);
  CHECK(a.decision == "refused");
  CHECK(has(a, "version: credit-node 0.1.0 is older than this parent's minimum 0.2.0"));
  CHECK(has(a, "clock: this node's clock differs from the parent's by 3600 s (limit 60 s)"));
  CHECK(has(a, "posture: check tls.key_mode failed: key file has mode 0644"));
  CHECK(has(a, "identity: the request says js.nanjing (local, 320500) but the certificate says js.nanjing (local, 320100)"));
  CHECK(a.reasons.size() == 4);
}

TEST_CASE("join: required_checks narrows which failures refuse, and a required check missing from the report refuses") {
  auto cfg = province();
  cfg.admission.required_checks = {"tls.validity", "store.integrity"};
  auto req = nanjing();
  req.checks.push_back({"listen.admin", "FAIL", "admin listener off loopback"});  // not required here
  auto a = decide_join(cfg, cert(), req, entry(store::node_state::admitted), false, now);
  CHECK(a.decision == "refused");
  CHECK(has(a, "required check store.integrity is missing"));
  CHECK_FALSE(has(a, "listen.admin"));
}

TEST_CASE("join: the registry decides — mismatch refused, suspended and revoked say so, a revoked serial is revoked") {
  auto mismatch = decide_join(province(), cert(), nanjing(), entry(store::node_state::admitted, "320500"), false, now);
  CHECK(mismatch.decision == "refused");
  CHECK(has(mismatch, "registry: js.nanjing is registered as local 320500"));
  auto sus = decide_join(province(), cert(), nanjing(), entry(store::node_state::suspended), false, now);
  CHECK(sus.decision == "suspended");
  CHECK(has(sus, "admin resume js.nanjing"));
  CHECK(decide_join(province(), cert(), nanjing(), entry(store::node_state::revoked), false, now).decision == "revoked");
  CHECK(decide_join(province(), cert(), nanjing(), std::nullopt, true, now).decision == "revoked");
  auto wrong_tier = cert();
  wrong_tier.role = "provincial";
  auto req = nanjing();
  req.role = "provincial";
  CHECK(has(decide_join(province(), wrong_tier, req, std::nullopt, false, now), "tree: a provincial node is not a child"));
}

TEST_CASE("join: sync requests are refused unless the child is admitted, with the code the child acts on") {
  CHECK_FALSE(sync_refusal(cert(), entry(store::node_state::admitted), false));
  CHECK(sync_refusal(cert(), std::nullopt, false)->code == "not_admitted");
  CHECK(sync_refusal(cert(), entry(store::node_state::pending), false)->code == "not_admitted");
  CHECK(sync_refusal(cert(), entry(store::node_state::suspended), false)->code == "suspended");
  CHECK(sync_refusal(cert(), entry(store::node_state::admitted), true)->code == "revoked");
  CHECK(sync_refusal(cert(), entry(store::node_state::admitted, "320500"), false)->code == "not_admitted");
  // Admission is per certificate and per join.
  auto other = cert();
  other.serial_hex = "0c0d";
  CHECK(sync_refusal(other, entry(store::node_state::admitted), false)->reason.find("serial 0c0d has no admitted join") != std::string::npos);
  auto refused_since = entry(store::node_state::admitted);
  refused_since.last_decision = "refused";
  CHECK(sync_refusal(cert(), refused_since, false)->reason.find("last decision: refused") != std::string::npos);
}

TEST_CASE("join: a clock at the edge of int64 is a refusal, not an overflow") {
  auto req = nanjing();
  req.clock_ms = INT64_MIN;
  auto a = decide_join(province(), cert(), req, entry(store::node_state::admitted), false, now);
  CHECK(a.decision == "refused");
  CHECK(has(a, "clock:"));
}

TEST_CASE("join: requests round-trip, and malformed ones are refused naming the field") {
  auto back = decode_join_request(encode_join_request(nanjing()));
  CHECK(back.node_id == "js.nanjing");
  CHECK(back.clock_ms == now);
  REQUIRE(back.checks.size() == 2);
  CHECK(back.checks[1].id == "tls.key_mode");
  CHECK_THROWS_WITH_AS(decode_join_request("{"), doctest::Contains("not valid JSON"), wire_error);
  CHECK_THROWS_WITH_AS(decode_join_request(R"({"node_id":"a","role":"local","jurisdiction":"320100","version":"0.1.0","checks":[]})"),
                       doctest::Contains("clock_ms"), wire_error);
  CHECK_THROWS_WITH_AS(decode_join_request(R"({"node_id":"a","role":"local","jurisdiction":"320100","version":"0.1.0","clock_ms":1,"checks":[1]})"),
                       doctest::Contains("a check must be a JSON object"), wire_error);
  CHECK_THROWS_WITH_AS(decode_join_request(R"({"node_id":")" + std::string(300, 'x') + R"("})"),
                       doctest::Contains("longer than 256"), wire_error);
  auto ans = decode_join_answer(encode_join_answer({"pending", {"wait"}}, config::admission_section{}));
  CHECK(ans.decision == "pending");
  CHECK(ans.reasons == std::vector<std::string>{"wait"});
}

TEST_CASE("config: versions compare by number, and a malformed one is refused") {
  CHECK(config::compare_versions("0.10.0", "0.9.9") > 0);
  CHECK(config::compare_versions("1.0.0", "1.0.0") == 0);
  CHECK(config::compare_versions("0.1.0", "0.2.0") < 0);
  CHECK(config::check_version("1.2").find("MAJOR.MINOR.PATCH") != std::string::npos);
  CHECK(config::check_version("1.2.x") != "");
  CHECK(config::check_version("1.2.3") == "");
}
