#include "store/registry.hpp"

#include "store/key_codec.hpp"

#include <algorithm>

namespace store {

std::string_view to_string(node_state s) {
  switch (s) {
    case node_state::pending: return "pending";
    case node_state::admitted: return "admitted";
    case node_state::suspended: return "suspended";
    case node_state::revoked: return "revoked";
  }
  return "unknown";
}

// A leading format byte lets a later store format add fields.
std::string encode_node_entry(const node_entry& e) {
  key_writer w;
  w.u8(1).str8(e.node_id).str8(e.role).str8(e.jurisdiction).u8(static_cast<std::uint8_t>(e.state));
  // Bounded: what a child reports must never make its entry unwritable
  // (that would, e.g., keep an automatic suspension from committing).
  w.str16(e.reason.substr(0, 4096)).str8(e.cert_serial.substr(0, 255)).str8(e.version.substr(0, 255));
  w.i64(e.first_seen_ms).i64(e.changed_ms).i64(e.last_join_ms).str8(e.last_decision.substr(0, 255));
  auto n = std::min<std::size_t>(e.last_reasons.size(), 50);
  w.u64(n);
  for (std::size_t i = 0; i < n; ++i) w.str16(e.last_reasons[i].substr(0, 2048));
  w.u64(e.violations);
  // Appended after format 1's fields: an older binary reads the entry and
  // leaves the rest.
  w.i64(e.last_contact_ms);
  return w.take();
}

node_entry decode_node_entry(std::string_view v) {
  key_reader r(v);
  if (r.u8() != 1) throw codec_error("registry entry: unknown format");
  node_entry e;
  e.node_id = r.str8();
  e.role = r.str8();
  e.jurisdiction = r.str8();
  auto st = r.u8();
  if (st > 3) throw codec_error("registry entry: bad state");
  e.state = static_cast<node_state>(st);
  e.reason = r.str16();
  e.cert_serial = r.str8();
  e.version = r.str8();
  e.first_seen_ms = r.i64();
  e.changed_ms = r.i64();
  e.last_join_ms = r.i64();
  e.last_decision = r.str8();
  auto n = r.u64();
  if (n > 1000) throw codec_error("registry entry: too many reasons");
  for (std::uint64_t i = 0; i < n; ++i) e.last_reasons.emplace_back(r.str16());
  e.violations = r.u64();
  if (!r.done()) e.last_contact_ms = r.i64();  // written before it existed: never heard from since
  return e;
}

std::string encode_revocation(const revocation& x) {
  key_writer w;
  w.u8(1).str8(x.node_id.substr(0, 255)).str16(x.reason.substr(0, 4096)).str8(x.by.substr(0, 255)).i64(x.at_ms);
  return w.take();
}

revocation decode_revocation(std::string_view serial, std::string_view v) {
  key_reader r(v);
  if (r.u8() != 1) throw codec_error("revocation: unknown format");
  revocation x;
  x.serial = serial;
  x.node_id = r.str8();
  x.reason = r.str16();
  x.by = r.str8();
  x.at_ms = r.i64();
  return x;
}

}  // namespace store
