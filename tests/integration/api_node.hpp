// The bank-facing API's test fixture: a real local node with tax and
// registration records of nine firms, two banks and the portal with bearer
// tokens over TLS (api_test.cpp).
#pragma once

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "node/net/client.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "store/model/record.hpp"
#include "tree.hpp"

namespace api_fixture {

using namespace itest;
namespace json = boost::json;

const std::string raw_id = "320102199001011234", masked_id = "320102********1234";
const std::string evidence = "sha256:" + std::string(64, 'a');

// YYYY-MM-DD `n` days from now (UTC); a consent may end at most a year ahead.
inline std::string days_ahead(int n) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>((system_clock::now() + days(n)).time_since_epoch()).count();
  return store::model::format_utc_ms(ms).substr(0, 10);
}

// The same day next year, as the API counts "one year ahead".
inline std::string a_year_ahead(int extra_days) {
  using namespace std::chrono;
  auto today = year_month_day(floor<days>(system_clock::now() + hours(8)));  // in China
  auto next = year_month_day(today.year() + years(1), today.month(), today.day());
  if (!next.ok()) next = year_month_day(next.year(), next.month(), day(28));  // 29 February
  auto ms = duration_cast<milliseconds>((sys_days(next) + days(extra_days)).time_since_epoch()).count();
  return store::model::format_utc_ms(ms).substr(0, 10);
}

struct api_node {
  network net;
  tree_node& n = net.add("js.nanjing", "local", "320100");
  std::vector<std::string> firms = codes("320102", 9, 77);
  std::map<std::string, std::string> token;  // principal → bearer token
  std::size_t requests = 0;

  api_node() {
    std::string tax = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
    std::string reg = "subject,record_id,event_date,source,name,legal_rep_name,legal_rep_id,phone,division\n";
    for (const auto& f : firms) {
      tax += f + ",2026-09-VAT,2026-10-15,tax bureau,2026-09,VAT,12000.00\n";
      reg += f + ",reg,2020-01-01,market regulator,某某公司," + "张三丰," + raw_id + ",13812345678,320102\n";
    }
    test::write_file(net.d / "tax.csv", tax);
    test::write_file(net.d / "reg.csv", reg);
    REQUIRE(test::run_cli({"import", "-c", n.cfg, "--category", "tax", net.d / "tax.csv"}).exit_code == 0);
    REQUIRE(test::run_cli({"import", "-c", n.cfg, "--category", "registration", net.d / "reg.csv"}).exit_code == 0);
    for (auto [kind, id] : {std::pair{"bank", "bank-a"}, {"bank", "bank-b"}, {"portal", "portal"}}) {
      auto f = net.d / (std::string(id) + ".token");
      auto r = test::run_cli({"admin", kind, "add", "--id", id, "--name", id, "--token-out", f, "-c", n.cfg});
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto t = test::read_file(f);
      token[id] = t.substr(0, t.find('\n'));
    }
  }

  node::net::http_response call(const std::string& who, const std::string& method, const std::string& target,
                                const std::string& body = "") {
    auto tls = node::net::tls_context::make(node::net::tls_side::client, {net.ca + "/ca.pem", "", ""});
    auto c = node::net::http_client::make({net.api_addr(n), "js.nanjing", tls, 10s, 16u << 20});
    node::net::http_headers h;
    if (!who.empty()) h.push_back({"Authorization", "Bearer " + token[who]});
    ++requests;
    return c->request({method, target, body, body.empty() ? "" : "application/json", h});
  }

  std::string consent(const std::string& firm, const std::string& level, bool personal = false,
                      const std::string& purpose = "credit_assessment", const std::string& cats = R"(["tax","registration"])") {
    auto body = R"({"subject":")" + firm + R"(","grantee":"bank-a","purpose":")" + purpose + R"(","categories":)" + cats +
                R"(,"level":")" + level + R"(","personal_data":)" + (personal ? "true" : "false") +
                R"(,"valid_until":")" + days_ahead(180) + R"(","evidence":")" + evidence + "\"}";
    auto r = call("portal", "POST", "/api/v1/consents", body);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return std::string(json::parse(r.body).at("id").as_string());
  }

  // `credit-node audit verify --json` on this node's store.
  json::object audit_verified() const {
    return json::parse(test::run_cli({"audit", "verify", "--json", "-c", n.cfg}).out).as_object();
  }

  // A bank's key and certificate from the network's CA (role bank), made
  // with the binary's own pki commands; returns their path without .key/.pem.
  std::string bank_certificate(const std::string& id) {
    std::string dir = net.d / id;
    auto csr = test::run_cli({"pki", "csr", "--key", dir + ".key", "--out", dir + ".csr", "--node-id", id, "--role", "bank"});
    REQUIRE_MESSAGE(csr.exit_code == 0, csr.err);
    auto sign = test::run_cli({"pki", "sign", "--ca", net.ca, "--csr", dir + ".csr", "--out", dir + ".pem", "--role", "bank",
                               "--node-id", id});
    REQUIRE_MESSAGE(sign.exit_code == 0, sign.err);
    return dir;
  }

  std::string records_target(const std::string& firm) {
    return "/api/v1/subjects/" + firm + "/records?purpose=credit_assessment&categories=tax,registration";
  }
  std::string verify_body(const std::string& firm, const std::string& value = "12000", const std::string& field = "amount_paid",
                          const std::string& op = "eq", const std::string& category = "tax", const std::string& record = "2026-09-VAT") {
    return R"({"subject":")" + firm + R"(","purpose":"credit_assessment","claims":[{"category":")" + category + R"(","record_id":")" +
           record + R"(","field":")" + field + R"(","op":")" + op + R"(","value":")" + value + "\"}]}";
  }
};

// An expired consent cannot be made through the API (valid_until must be
// ahead): it is put in the store as it would stand a year later.
inline void put_expired_consent(const tree_node& n, const std::string& firm) {
  auto env = store::environment::open({n.dir + "/data"});
  store::consent c;
  c.id = "c-expired";
  c.subject = firm;
  c.grantee = "bank-a";
  c.purpose = "credit_assessment";
  c.categories = {"tax", "registration"};
  c.level = store::consent_level::detail;
  c.valid_from_ms = 1'600'000'000'000;
  c.valid_until_ms = 1'700'000'000'000;
  c.evidence = evidence;
  store::write_batch b;
  store::access_op op;
  op.what = store::access_op::kind::put_consent;
  op.grant = c;
  b.access.push_back(std::move(op));
  store::writer(*env).submit(std::move(b)).get();
}


}  // namespace api_fixture
