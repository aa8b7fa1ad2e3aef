// `credit-node audit verify`: walks the access log and recomputes its hash
// chain. An edited entry breaks its own hash, a removed one the sequence
// and the next entry's `prev`, a reordered pair both. Exit 1 on the first
// break, naming the entry and what is wrong.
#include <boost/json.hpp>

#include <iostream>

#include "node/api/api.hpp"
#include "node/cli/commands.hpp"
#include "store/reader.hpp"

namespace node::cli {

int cmd_audit(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {}, 1});
  if (a.positional.size() != 1 || a.positional[0] != "verify") throw usage_error("audit takes one subcommand: verify");
  auto cfg = load_config(a);
  auto env = open_store(cfg);
  std::string prev(64, '0'), problem;
  std::uint64_t expect = 0, n = 0;
  store::reader(*env).for_each_audit(0, [&](const store::audit_entry& e) {
    if (n > 0 && e.seq != expect) problem = "entry " + std::to_string(expect) + " is missing (the next is " + std::to_string(e.seq) + ")";
    else if (e.prev != prev) problem = "entry " + std::to_string(e.seq) + " does not follow entry " + std::to_string(e.seq - 1) + " (removed or reordered)";
    else if (api::chain_hash(e.prev, store::audit_text(e)) != e.hash) problem = "entry " + std::to_string(e.seq) + " was altered (its hash does not match)";
    prev = e.hash;
    expect = e.seq + 1;
    ++n;
    return problem.empty();
  });
  if (a.has("--json")) {
    std::cout << boost::json::serialize(boost::json::object{{"ok", problem.empty()}, {"entries", n}, {"problem", problem}}) << "\n";
  } else if (problem.empty()) {
    std::cout << "audit: " << n << " entries, the hash chain is intact\n";
  } else {
    std::cout << "audit: BROKEN at " << problem << " (" << n << " entries read)\n";
  }
  return problem.empty() ? 0 : 1;
}

}  // namespace node::cli
