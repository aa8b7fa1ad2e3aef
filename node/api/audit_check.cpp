#include "node/api/api.hpp"
#include "store/reader.hpp"

namespace node::api {

// An edited entry breaks its own hash, a removed one the sequence and the
// next entry's `prev`, a reordered pair both. Empty when the chain holds.
std::string verify_audit_chain(store::environment& env, std::uint64_t& entries, std::uint64_t from_seq, audit_head* head) {
  std::string prev(64, '0'), problem;
  std::uint64_t expect = 0;
  entries = 0;
  store::reader(env).for_each_audit(from_seq, [&](const store::audit_entry& e) {
    if (entries == 0 && from_seq > 0) prev = e.prev;  // the tail: its first link is taken as found
    if (entries > 0 && e.seq != expect)
      problem = "entry " + std::to_string(expect) + " is missing (the next is " + std::to_string(e.seq) + ")";
    else if (e.prev != prev)
      problem = "entry " + std::to_string(e.seq) + " does not follow the entry before it (removed or reordered)";
    else if (chain_hash(e.prev, store::audit_text(e)) != e.hash)
      problem = "entry " + std::to_string(e.seq) + " was altered (its hash does not match)";
    prev = e.hash;
    expect = e.seq + 1;
    ++entries;
    if (head) *head = {e.seq, e.hash};
    return problem.empty();
  });
  return problem;
}

std::string check_audit_head(store::environment& env, const audit_head& expected) {
  std::optional<store::audit_entry> found;
  store::reader(env).for_each_audit(expected.seq, [&](const store::audit_entry& e) { return found = e, false; });
  if (!found || found->seq != expected.seq)
    return "entry " + std::to_string(expected.seq) + ", recorded earlier as the head, is not in the log: entries were cut off the end";
  if (found->hash != expected.hash)
    return "entry " + std::to_string(expected.seq) + " has hash " + found->hash + ", not " + expected.hash +
           " as recorded earlier: the log was replaced or rewritten";
  return {};
}

}  // namespace node::api
