// `credit-node audit verify`: walks the access log and recomputes its hash
// chain. An edited entry breaks its own hash, a removed one the sequence
// and the next entry's `prev`, a reordered pair both. Exit 1 on the first
// break, naming the entry and what is wrong.
#include <boost/json.hpp>

#include <iostream>

#include "node/api/api.hpp"
#include "node/cli/commands.hpp"

namespace node::cli {

int cmd_audit(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {}, 1});
  if (a.positional.size() != 1 || a.positional[0] != "verify") throw usage_error("audit takes one subcommand: verify");
  auto cfg = load_config(a);
  auto env = open_store(cfg);
  std::uint64_t n = 0;
  auto problem = api::verify_audit_chain(*env, n);
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
