// API requests refused before any handler reads them: a bank's revoked
// client certificate (refused in the handshake of a new connection, and at
// the next request of a connection made before the revocation — as the
// sync listener refuses a revoked child), an unknown principal, a suspended
// bank. Each is on the enterprise's access log.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "node/net/client.hpp"
#include "store/registry.hpp"
#include "store/writer.hpp"
#include "api_node.hpp"
#include "tree.hpp"

using namespace itest;
using namespace api_fixture;
namespace json = boost::json;

TEST_CASE("api: a revoked bank certificate is refused at the next request and in the handshake, and audited") {
  api_node a;
  std::string dir = a.bank_certificate("bank-c");
  REQUIRE(test::run_cli({"admin", "bank", "add", "--id", "bank-c", "--name", "Bank C", "--cert", dir + ".pem", "-c", a.n.cfg})
              .exit_code == 0);
  // bank-c's consent for the first firm, at detail: it is served until revoked.
  auto grant = R"({"subject":")" + a.firms[0] + R"(","grantee":"bank-c","purpose":"credit_assessment","categories":["tax"],)" +
               R"("level":"detail","personal_data":false,"valid_until":")" + days_ahead(180) + R"(","evidence":")" + evidence + "\"}";
  child proc({"run", "-c", a.n.cfg});
  wait_ready(a.n, proc);
  REQUIRE(a.call("portal", "POST", "/api/v1/consents", grant).status == 201);
  auto client = [&] {
    auto tls = node::net::tls_context::make(node::net::tls_side::client, {a.net.ca + "/ca.pem", dir + ".pem", dir + ".key"});
    return node::net::http_client::make({a.net.api_addr(a.n), "js.nanjing", tls, 10s, 16u << 20});
  };
  auto target = "/api/v1/subjects/" + a.firms[0] + "/records?purpose=credit_assessment&categories=tax";
  auto kept = client();  // a connection made before the revocation, kept alive
  auto before = kept->request({"GET", target, {}, {}, {}});
  REQUIRE_MESSAGE(before.status == 200, before.body);
  CHECK(before.body.find("12000.00") != std::string::npos);

  // The network revokes it: at a local node the revocation comes down from
  // the parent (a merge into the store, as its link does).
  auto serial = std::string(json::parse(test::run_cli({"pki", "show", dir + ".pem", "--json"}).out).at("serial").as_string());
  {
    auto env = store::environment::open({a.n.dir + "/data"});
    store::registry_op op;
    op.what = store::registry_op::kind::merge_revocations;
    op.revocations.push_back({serial, "bank-c", "key leaked", "js.province", 1'800'000'000'000});
    store::write_batch b;
    b.registry.push_back(std::move(op));
    store::writer(*env).submit(std::move(b)).get();
  }

  auto after = kept->request({"GET", target, {}, {}, {}});
  CHECK_MESSAGE(after.status == 403, after.body);
  CHECK(after.body.find("certificate_revoked") != std::string::npos);
  CHECK(after.body.find("serial " + serial) != std::string::npos);
  CHECK(after.body.find("12000.00") == std::string::npos);
  try {
    auto r = client()->request({"GET", target, {}, {}, {}});
    FAIL("a new connection with a revoked certificate was answered " << r.status);
  } catch (const node::net::client_error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("the peer says: certificate revoked") != std::string::npos, e.what());
  }
  // The refusal is on the enterprise's access log, under bank-c.
  auto log = a.call("portal", "GET", "/api/v1/subjects/" + a.firms[0] + "/access-log");
  REQUIRE(log.status == 200);
  bool refused = false;
  auto entries = json::parse(log.body);
  for (const auto& e : entries.at("accesses").as_array())
    refused |= e.at("principal").as_string() == "bank-c" && e.at("status").to_number<int>() == 403;
  CHECK_MESSAGE(refused, log.body);
}

// The enterprise's access log shows who tried and was turned away before
// any consent was looked at: the subject comes from the path, or from the
// body of a verify request.
TEST_CASE("api: an unknown principal and a suspended bank are on the enterprise's access log, refused") {
  api_node a;
  REQUIRE(test::run_cli({"admin", "bank", "suspend", "--id", "bank-b", "--reason", "under review", "-c", a.n.cfg}).exit_code == 0);
  child proc({"run", "-c", a.n.cfg});
  wait_ready(a.n, proc);
  const auto& firm = a.firms[1];
  a.token["stranger"] = "not-a-token-anyone-holds";
  CHECK(a.call("stranger", "GET", a.records_target(firm)).status == 401);
  CHECK(a.call("bank-b", "GET", a.records_target(firm)).status == 403);
  CHECK(a.call("bank-b", "POST", "/api/v1/verify", a.verify_body(firm)).status == 403);
  CHECK(a.call("stranger", "GET", "/api/v1/subjects/not-a-credit-code/records?purpose=credit_assessment").status == 401);
  auto log = a.call("portal", "GET", "/api/v1/subjects/" + firm + "/access-log");
  REQUIRE(log.status == 200);
  auto v = json::parse(log.body);
  int unknown = 0, suspended_records = 0, suspended_verify = 0;
  for (const auto& e : v.at("accesses").as_array()) {
    auto status = e.at("status").to_number<int>();
    auto path = std::string(e.at("path").as_string());
    CHECK(e.at("decision").as_string() == (status < 400 ? "allowed" : "refused"));
    unknown += status == 401 && e.at("principal").as_string() == "-";
    suspended_records += status == 403 && e.at("principal").as_string() == "bank-b" && path.find("/records") != std::string::npos;
    suspended_verify += status == 403 && e.at("principal").as_string() == "bank-b" && path == "/api/v1/verify";
  }
  CHECK_MESSAGE(unknown == 1, log.body);
  CHECK_MESSAGE(suspended_records == 1, log.body);
  CHECK_MESSAGE(suspended_verify == 1, log.body);
  CHECK(a.audit_verified().at("ok").as_bool());
}

// Queries under a consent race its withdrawal: once the withdrawal is on
// the audit log, no query after it on the log was answered under that
// consent — one checked against it before, committed after, is refused.
TEST_CASE("api: no query is answered under a consent after its withdrawal, however the two interleave") {
  api_node a;
  child proc({"run", "-c", a.n.cfg});
  wait_ready(a.n, proc);
  const auto& firm = a.firms[2];
  auto id = a.consent(firm, "detail");
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> banks;
  for (int i = 0; i < 4; ++i)
    banks.emplace_back([&] {
      auto tls = node::net::tls_context::make(node::net::tls_side::client, {a.net.ca + "/ca.pem", "", ""});
      auto c = node::net::http_client::make({a.net.api_addr(a.n), "js.nanjing", tls, 10s, 16u << 20});
      node::net::http_headers h{{"Authorization", "Bearer " + a.token["bank-a"]}};
      while (!stop) answered += c->request({"GET", a.records_target(firm), {}, {}, h}).status == 200;
    });
  while (answered < 50) std::this_thread::sleep_for(5ms);
  auto gone = a.call("portal", "DELETE", "/api/v1/consents/" + id);
  std::this_thread::sleep_for(50ms);
  stop = true;
  for (auto& t : banks) t.join();
  REQUIRE_MESSAGE(gone.status == 200, gone.body);
  auto log = a.call("portal", "GET", "/api/v1/subjects/" + firm + "/access-log?limit=1000");
  auto v = json::parse(log.body);
  std::uint64_t withdrawn_at = 0;
  for (const auto& e : v.at("accesses").as_array())
    if (e.at("method").as_string() == "DELETE") withdrawn_at = e.at("seq").to_number<std::uint64_t>();
  REQUIRE_MESSAGE(withdrawn_at > 0, "total " << v.at("total") << " " << log.body.substr(0, 400));
  int after = 0, allowed_after = 0;
  for (const auto& e : v.at("accesses").as_array()) {
    if (e.at("seq").to_number<std::uint64_t>() <= withdrawn_at || e.at("method").as_string() != "GET") continue;
    ++after;
    allowed_after += e.at("status").to_number<int>() == 200;
  }
  CHECK(after > 0);
  CHECK_MESSAGE(allowed_after == 0, allowed_after << " of " << after << " queries on the log after the withdrawal were answered");
}
