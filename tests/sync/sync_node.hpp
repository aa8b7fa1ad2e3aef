// A node of the tree in a test: its own store and writer, and what a peer
// sees of it. Tax records imported here are its own (origin = its id).
#pragma once

#include <memory>
#include <optional>
#include <random>
#include <string>

#include "node/demo/sample_data.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "sync/exchange.hpp"
#include "test_util.hpp"

namespace test {

struct node_under_test {
  std::string id;
  replication::peer as_peer;
  std::unique_ptr<store::environment> env;
  std::unique_ptr<store::writer> w;
  node_under_test(const test::temp_dir& d, std::string node_id, std::string role, std::string jur)
      : id(node_id), as_peer{node_id, std::move(role), std::move(jur)},
        env(store::environment::open({d / node_id})), w(std::make_unique<store::writer>(*env)) {}

  void import(const std::string& subject, const std::string& rid, const std::string& amount) {
    store::write_batch b;
    b.origin = id;
    b.rows.push_back({"tax", subject, rid, "2026-10-15", "tax bureau",
                      R"({"period":"2026-09","tax_type":"VAT","amount_paid":")" + amount + "\"}", 1, {}});
    w->submit(std::move(b)).get();
  }
  std::uint64_t total() { return store::reader(*env).stats().total; }
  std::optional<store::model::record> get(const std::string& s, const std::string& rid) {
    return store::reader(*env).get("tax", s, rid);
  }
  // `child` admitted in this node's registry (its changes then go up from here).
  void admit(const replication::peer& child) {
    store::write_batch reg;
    store::registry_op op;
    op.what = store::registry_op::kind::set_state;
    op.create = true;
    op.entry.node_id = child.node_id;
    op.entry.role = child.role;
    op.entry.jurisdiction = child.jurisdiction;
    op.to = store::node_state::admitted;
    reg.registry.push_back(op);
    w->submit(std::move(reg)).get();
  }
  std::uint64_t head() { return store::reader(*env).last_seq(); }
};

inline std::string code_in(const std::string& division, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return node::demo::make_enterprises(1, {division}, rng)[0];
}

}  // namespace test
