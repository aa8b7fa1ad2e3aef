// A child's replicated tax records as a parent's writer takes them: `n`
// rows about one Nanjing firm, continuing the child's change log from
// `from_seq` (tests of the writer and of what watches its commits).
#pragma once

#include <random>
#include <string>

#include "node/demo/sample_data.hpp"
#include "store/writer.hpp"

namespace test {

// `node_id` admitted in the registry of the store `w` writes (its refused
// changes are then counted against it).
inline void admit_child(store::writer& w, const std::string& node_id, const std::string& role, const std::string& jurisdiction) {
  store::write_batch reg;
  store::registry_op op;
  op.what = store::registry_op::kind::set_state;
  op.create = true;
  op.entry.node_id = node_id;
  op.entry.role = role;
  op.entry.jurisdiction = jurisdiction;
  op.to = store::node_state::admitted;
  reg.registry.push_back(op);
  w.submit(std::move(reg)).get();
}

inline store::write_batch replica_batch(std::size_t n, std::uint64_t from_seq) {
  std::mt19937_64 rng(11);
  auto firm = node::demo::make_enterprises(1, {"320106"}, rng)[0];
  store::write_batch b;
  b.via = "js.nanjing";
  for (std::size_t i = 0; i < n; ++i) {
    store::model::record r;
    r.category = "tax";
    r.subject = firm;
    r.record_id = "r" + std::to_string(from_seq + i);
    r.origin = "js.nanjing";
    r.version = 1;
    r.event_date = "2026-10-15";
    r.source = "tax bureau";
    r.fields_json = R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00"})";
    b.replicas.push_back(std::move(r));
  }
  b.cursor = store::peer_cursor{"up:js.nanjing", "inst-1", from_seq + n, from_seq};
  return b;
}

}  // namespace test
