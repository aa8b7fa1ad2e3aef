// Admission end to end (PRODUCT.md §7): real nodes, real certificates from
// the binary's own CA, the registry changed by `credit-node admin` while
// the nodes run.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "store/model/category.hpp"
#include "store/model/validate.hpp"
#include "store/writer.hpp"
#include "tree.hpp"

using namespace itest;
namespace json = boost::json;

namespace {

// Every reason the child shows, joined: what an operator reads.
std::string reasons_of(const tree_node& n) {
  std::string all;
  auto up = upstream_of(n);
  for (const auto& r : up.at("reasons").as_array()) all += std::string(r.as_string()) + "\n";
  return all;
}

// A child as its parent's `status --json` shows it.
json::object child_of(const tree_node& parent, const std::string& id) {
  auto st = json::parse(test::run_cli({"status", "--json", "-c", parent.cfg}).out);
  for (const auto& c : st.at("children").as_array())
    if (c.at("node_id").as_string() == id) return c.as_object();
  FAIL("no child " << id << " in " << json::serialize(st));
  return {};
}

test::run_result admin(const tree_node& at, std::vector<std::string> args) {
  args.insert(args.begin(), "admin");
  args.insert(args.end(), {"-c", at.cfg});
  return test::run_cli(args);
}

void append_config(const tree_node& n, const std::string& text) {
  test::write_file(n.cfg, test::read_file(n.cfg) + text);
}

void import_tax(network& net, const tree_node& n, const std::vector<std::string>& firms, const std::string& prefix) {
  auto f = net.d / (n.id + "-" + prefix + ".csv");
  test::write_file(f, csv(firms, prefix, "1.00"));
  auto r = test::run_cli({"import", "-c", n.cfg, "--category", "tax", f});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

// What a tampered or faulty child would push: records about firms outside
// its jurisdiction, written to its store behind the importer's back (the
// importer refuses them).
void put_foreign_tax(const tree_node& n, const std::vector<std::string>& firms, const std::string& prefix) {
  auto env = store::environment::open({n.dir + "/data"});
  const auto& tax = *store::model::category_registry::builtin().find("tax");
  store::write_batch b;
  b.origin = n.id;
  int i = 0;
  for (const auto& f : firms) {
    using store::model::raw_value;
    std::string id = prefix + std::to_string(i++);  // the row holds views: it must outlive them
    store::model::raw_row row{f, id, "2026-10-01", "tax", {}};
    for (auto [k, v] : {std::pair{"period", "2026-09"}, {"tax_type", "VAT"}, {"amount_paid", "1.00"}})
      row.fields.emplace_back(k, raw_value{raw_value::kind::string, v});
    std::string fields;
    REQUIRE_FALSE(store::model::validate_row(tax, {}, row, fields));
    b.rows.push_back({"tax", f, id, "2026-10-01", "tax", fields, 0, {}});
  }
  auto r = store::writer(*env).submit(std::move(b)).get();
  REQUIRE(r.inserted == firms.size());
}

}  // namespace

TEST_CASE("admission: an unknown node waits in pending and is told why, approval admits it within seconds without a restart") {
  network net;
  net.approve_children = false;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  import_tax(net, nj, codes("320102", 3, 1), "a-");
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "pending"); }, 10s), n.err());
  CHECK(reasons_of(nj).find("credit-node admin approve js.nanjing") != std::string::npos);
  CHECK(n.err().find("event=sync_not_admitted") != std::string::npos);
  auto not_ready = http_get(nj.admin, "/readyz", 2s);
  CHECK(not_ready.status == 503);
  CHECK(not_ready.body.find("upstream js.province is pending") != std::string::npos);
  auto pending = json::parse(admin(prov, {"pending", "--json"}).out).at("nodes").as_array();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].at("node_id").as_string() == "js.nanjing");
  CHECK(pending[0].at("role").as_string() == "local");
  CHECK(pending[0].at("jurisdiction").as_string() == "320100");
  CHECK(exported(prov).empty());  // nothing crosses before approval
  // The child asks again every 2 s; the parent's log says so once, not each time.
  std::this_thread::sleep_for(4500ms);
  auto warned = [](const std::string& log) {
    std::size_t n = 0;
    for (auto at = log.find("level=warn event=sync_join peer=js.nanjing decision=pending"); at != std::string::npos;
         at = log.find("level=warn event=sync_join peer=js.nanjing decision=pending", at + 1))
      ++n;
    return n;
  };
  CHECK(warned(p.err()) == 1);
  REQUIRE(admin(prov, {"approve", "js.nanjing"}).exit_code == 0);
  CHECK_MESSAGE(eventually([&] { return exported(prov).size() == 3; }, 10s), n.err());
  CHECK(eventually([&] { return state_is(nj, "admitted"); }, 5s));
  CHECK(http_get(nj.admin, "/readyz", 2s).status == 200);
  CHECK(json::parse(admin(prov, {"pending", "--json"}).out).at("nodes").as_array().empty());
  auto again = admin(prov, {"approve", "js.nanjing"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("is admitted") != std::string::npos);
}

TEST_CASE("admission: suspend stops a child at its next request and says why, resume lets it go on") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  auto firms = codes("320104", 4, 2);
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  import_tax(net, nj, {firms[0], firms[1]}, "a-");
  REQUIRE(eventually([&] { return exported(prov).size() == 2; }));
  CHECK(admin(prov, {"suspend", "js.nanjing"}).exit_code == 2);  // --reason is required
  REQUIRE(admin(prov, {"suspend", "js.nanjing", "--reason", "audit found unmasked ID numbers"}).exit_code == 0);
  REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "suspended"); }, 10s), n.err());
  CHECK(reasons_of(nj).find("audit found unmasked ID numbers") != std::string::npos);
  import_tax(net, nj, {firms[2], firms[3]}, "b-");
  std::this_thread::sleep_for(1500ms);
  CHECK(exported(prov).size() == 2);  // held back while suspended
  REQUIRE(admin(prov, {"resume", "js.nanjing"}).exit_code == 0);
  CHECK_MESSAGE(eventually([&] { return exported(prov).size() == 4; }, 40s), n.err());
  CHECK(eventually([&] { return state_is(nj, "admitted"); }, 5s));
  auto events = admin(prov, {"events", "--json"}).out;
  CHECK(events.find("node_suspended") != std::string::npos);
  CHECK(events.find("node_admitted") != std::string::npos);
}

TEST_CASE("admission: a revoked child is refused at its next request and in the TLS handshake, by every node below the one that revoked it") {
  network net;
  auto& nat = net.add("cn.national", "national", "100000");
  auto& prov = net.add("js.province", "provincial", "320000", net.sync_addr(nat), "cn.national");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  auto& sz = net.add("js.suzhou", "local", "320500", net.sync_addr(prov), "js.province");
  child a({"run", "-c", nat.cfg}), b({"run", "-c", prov.cfg}), c({"run", "-c", nj.cfg}), d({"run", "-c", sz.cfg});
  for (auto [node, proc] : {std::pair{&nat, &a}, {&prov, &b}, {&nj, &c}, {&sz, &d}}) wait_ready(*node, *proc);
  REQUIRE(eventually([&] { return state_is(nj, "admitted") && state_is(sz, "admitted") && state_is(prov, "admitted"); }));
  REQUIRE(admin(prov, {"revoke", "js.nanjing", "--reason", "key leaked"}).exit_code == 0);
  REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "revoked"); }, 10s), json::serialize(upstream_of(nj)) << c.err());
  // Revoked, the child stops dialling (it kept on, two warn lines at the parent each time).
  CHECK_MESSAGE(eventually([&] { return c.err().find("event=sync_stopped") != std::string::npos; }, 10s), c.err());
  auto refusals = [&] {
    std::size_t n = 0;
    auto log = b.err();
    for (auto at = log.find("event=tls_peer_revoked"); at != std::string::npos; at = log.find("event=tls_peer_revoked", at + 1)) ++n;
    return n;
  };
  std::this_thread::sleep_for(1s);  // a dial under way when the list came
  auto refused_before = refusals();
  std::this_thread::sleep_for(4s);
  CHECK(refusals() == refused_before);
  // Told by the list (with the operator's reason) or by the handshake, whichever comes first.
  auto why = reasons_of(nj);
  CHECK((why.find("key leaked") != std::string::npos || why.find("certificate revoked") != std::string::npos));
  // The list goes down the tree (never up: a child's word on revocations is not trusted).
  auto serial = json::parse(test::run_cli({"pki", "show", nj.dir + "/tls/node.pem", "--json"}).out).at("serial").as_string();
  for (const auto* at : {&prov, &sz})
    CHECK_MESSAGE(eventually([&] { return admin(*at, {"revocations", "--json"}).out.find(std::string(serial)) != std::string::npos; }, 15s),
                  at->id << " never heard of the revocation");
  CHECK(admin(nat, {"revocations", "--json"}).out.find(std::string(serial)) == std::string::npos);
  // Every node that holds the list refuses the certificate in the handshake itself.
  for (const auto* at : {&prov, &sz}) {
    auto r = test::run_program({"openssl", "s_client", "-connect", net.sync_addr(*at), "-cert", nj.dir + "/tls/node.pem",
                                "-key", nj.dir + "/tls/node.key", "-CAfile", net.ca + "/ca.pem", "-tls1_2"});
    // openssl prints the server's alert: "... alert certificate revoked".
    CHECK_MESSAGE((r.err + r.out).find("certificate revoked") != std::string::npos, r.err);
  }
  auto again = admin(prov, {"resume", "js.nanjing"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("final") != std::string::npos);
  // The national node revokes a grandchild: never joined there, so no serial
  // is known — refused, naming --serial (it once said "revoked" and listed
  // nothing) — then by its serial, which goes down and stops it at its parent.
  REQUIRE(admin(nat, {"approve", "js.suzhou", "--role", "local", "--jurisdiction", "320500"}).exit_code == 0);
  auto unknown = admin(nat, {"revoke", "js.suzhou", "--reason", "audit finding"});
  CHECK(unknown.exit_code == 1);
  CHECK_MESSAGE(unknown.err.find("--serial HEX") != std::string::npos, unknown.err);
  CHECK(admin(nat, {"revocations", "--json"}).out.find("js.suzhou") == std::string::npos);
  auto sz_serial = std::string(json::parse(test::run_cli({"pki", "show", sz.dir + "/tls/node.pem", "--json"}).out).at("serial").as_string());
  auto by_serial = admin(nat, {"revoke", "js.suzhou", "--reason", "audit finding", "--serial", sz_serial});
  CHECK_MESSAGE(by_serial.exit_code == 0, by_serial.err);
  CHECK(admin(nat, {"revocations", "--json"}).out.find(sz_serial) != std::string::npos);
  CHECK_MESSAGE(eventually([&] { return admin(prov, {"revocations", "--json"}).out.find(sz_serial) != std::string::npos; }, 15s),
                "the province never heard of the national's revocation");
  CHECK_MESSAGE(eventually([&] { return state_is(sz, "revoked"); }, 15s), json::serialize(upstream_of(sz)));
}

TEST_CASE("admission: the parent refuses with every reason — version below its minimum, a registry that disagrees with the certificate, a node that is no child") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  append_config(prov, "\n[admission]\nmin_version = \"9.0.0\"\n");
  net.approve_children = false;
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  // Registered as Suzhou's platform; the certificate says Nanjing.
  REQUIRE(admin(prov, {"approve", "js.nanjing", "--role", "local", "--jurisdiction", "320500"}).exit_code == 0);
  auto& other = net.add("zj.province", "provincial", "330000", net.sync_addr(prov), "js.province");
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg}), o({"run", "-c", other.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  wait_ready(other, o);
  REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "refused"); }, 10s), n.err());
  auto why = reasons_of(nj);
  CHECK(why.find("version: credit-node 0.1.0 is older than this parent's minimum 9.0.0") != std::string::npos);
  CHECK(why.find("registry: js.nanjing is registered as local 320500") != std::string::npos);
  REQUIRE(eventually([&] { return state_is(other, "refused"); }, 10s));
  CHECK(reasons_of(other).find("not a child of a provincial node") != std::string::npos);
  CHECK(exported(prov).empty());
  // A node that is no child is not put in the registry either.
  CHECK(admin(prov, {"nodes", "--json"}).out.find("zj.province") == std::string::npos);
  // The mistyped registration, never admitted by a join, is corrected by
  // approving again with the right jurisdiction (it could not be: only a
  // new node id got out of it).
  auto fixed = admin(prov, {"approve", "js.nanjing", "--role", "local", "--jurisdiction", "320100"});
  CHECK_MESSAGE(fixed.exit_code == 0, fixed.err);
  CHECK(admin(prov, {"nodes", "--json"}).out.find("\"jurisdiction\":\"320100\"") != std::string::npos);
  CHECK_MESSAGE(eventually([&] { return reasons_of(nj).find("registry:") == std::string::npos; }, 10s), reasons_of(nj));
  CHECK(reasons_of(nj).find("version:") != std::string::npos);  // the minimum version still refuses it
}

TEST_CASE("admission: a policy lowered by SIGHUP admits the refused child at its next join, without a restart of either") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto original = test::read_file(prov.cfg);
  append_config(prov, "\n[admission]\nmin_version = \"9.0.0\"\n");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  import_tax(net, nj, codes("320102", 2, 1), "h-");
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "refused"); }, 10s), n.err());
  CHECK(reasons_of(nj).find("older than this parent's minimum 9.0.0") != std::string::npos);
  // At the parent the child is registered (admitted), yet nothing crosses:
  // its refused join shows beside that state, and so does its contact.
  auto child_at_parent = [&] { return child_of(prov, "js.nanjing"); };
  auto c = child_at_parent();
  CHECK(c.at("state").as_string() == "admitted");
  REQUIRE(c.contains("refused_join"));
  CHECK(c.at("refused_join").at("decision").as_string() == "refused");
  CHECK(json::serialize(c.at("refused_join").at("reasons")).find("older than this parent's minimum 9.0.0") != std::string::npos);
  CHECK_FALSE(c.at("last_contact").is_null());
  auto nodes = admin(prov, {"nodes"});
  CHECK_MESSAGE(nodes.out.find("was refused: version: credit-node 0.1.0 is older") != std::string::npos, nodes.out);
  CHECK_MESSAGE(nodes.out.find("last contact never") == std::string::npos, nodes.out);
  test::write_file(prov.cfg, original + "\n[admission]\nmin_version = \"0.1.0\"\n");
  p.signal(SIGHUP);
  REQUIRE_MESSAGE(eventually([&] { return p.err().find("applied=admission") != std::string::npos; }, 5s), p.err());
  CHECK(p.err().find("admission=\"applies at each child's next join") != std::string::npos);  // not to connected children at once
  CHECK_MESSAGE(eventually([&] { return state_is(nj, "admitted"); }, 40s), n.err());
  CHECK_MESSAGE(eventually([&] { return exported(prov).size() == 2; }, 10s), n.err());
  CHECK_FALSE(child_at_parent().contains("refused_join"));  // admitted now: nothing to say
  auto metrics = http_get(prov.admin, "/metrics").body;
  auto line = metrics.find("credit_node_child_last_contact_timestamp_seconds{node_id=\"js.nanjing\",state=\"admitted\"} ");
  REQUIRE_MESSAGE(line != std::string::npos, metrics);
  auto stamp = std::stoll(metrics.substr(line + std::string("credit_node_child_last_contact_timestamp_seconds{node_id=\"js.nanjing\",state=\"admitted\"} ").size()));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(stamp > now - 120);
  CHECK(stamp <= now);
}

TEST_CASE("admission: changes outside a child's jurisdiction are security events, and past the threshold the child is suspended") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  append_config(prov, "\n[admission]\nsuspend_after_violations = 3\n");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  import_tax(net, nj, codes("320102", 2, 5), "ok-");
  auto suzhou = codes("320508", 3, 6);  // Suzhou firms, not Nanjing's to report: its import refuses them
  auto f = net.d / "suzhou.csv";
  test::write_file(f, csv(suzhou, "bad-", "1.00"));
  auto refused = test::run_cli({"import", "-c", nj.cfg, "--category", "tax", f});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("subject: registered in division 320508 (characters 3-8 of the code), outside this node's jurisdiction 320100") != std::string::npos);
  put_foreign_tax(nj, suzhou, "bad-");  // as a tampered child would send them anyway
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "suspended"); }, 15s), n.err());
  CHECK(reasons_of(nj).find("suspended automatically: 3 security violations") != std::string::npos);
  CHECK(exported(prov).size() == 2);  // the good ones arrived, the bad ones did not
  auto events = admin(prov, {"events", "--json"}).out;
  CHECK(events.find("\"violation\"") != std::string::npos);
  CHECK(events.find("outside the sender's jurisdiction") != std::string::npos);
  auto nodes = json::parse(admin(prov, {"nodes", "--json"}).out).at("nodes").as_array();
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].at("state").as_string() == "suspended");
  CHECK(nodes[0].at("violations").to_number<int>() == 3);
  CHECK(p.err().find("event=child_suspended") != std::string::npos);
  auto metrics = http_get(prov.admin, "/metrics", 2s).body;
  CHECK(metrics.find("credit_node_child_nodes{state=\"suspended\"} 1") != std::string::npos);
  CHECK(metrics.find("credit_node_child_violations_total{node_id=\"js.nanjing\"} 3") != std::string::npos);
  auto children = json::parse(test::run_cli({"status", "--json", "-c", prov.cfg}).out).at("children").as_array();
  REQUIRE(children.size() == 1);
  CHECK(children[0].at("state").as_string() == "suspended");
  // The status page a person reads: self-contained, refreshing, saying the same.
  auto page = http_get(prov.admin, "/", 2s);
  CHECK(page.status == 200);
  CHECK(page.body.find("<meta http-equiv=\"refresh\"") != std::string::npos);
  CHECK(page.body.find("js.nanjing</td><td class=\"bad\">suspended") != std::string::npos);
  CHECK(page.body.find("src=") == std::string::npos);  // no external assets
  CHECK(page.body.find("http://") == std::string::npos);
}
