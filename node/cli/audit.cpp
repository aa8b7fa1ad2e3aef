// `credit-node audit verify`: walks the access log and recomputes its hash
// chain. An edited entry breaks its own hash, a removed one the sequence
// and the next entry's `prev`, a reordered pair both. Exit 1 on the first
// break, naming the entry and what is wrong.
#include <boost/json.hpp>

#include <filesystem>
#include <iostream>

#include "node/api/api.hpp"
#include "node/cli/commands.hpp"
#include "node/net/http_message.hpp"

namespace node::cli {

namespace {

// --head SEQ:HASH, as an earlier verify printed it.
api::audit_head parse_head(const std::string& s) {
  auto colon = s.find(':');
  auto seq = colon == std::string::npos ? std::nullopt : net::whole_number(std::string_view(s).substr(0, colon));
  auto hash = colon == std::string::npos ? std::string() : s.substr(colon + 1);
  if (!seq || *seq == 0 || hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw usage_error("--head takes SEQ:HASH as an earlier `audit verify` printed it (e.g. 1042:9f86d0…, 64 hex digits), not '" + s + "'");
  return {*seq, hash};
}

}  // namespace

int cmd_audit(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {"--head", "--store"}, 1});
  if (a.positional.size() != 1 || a.positional[0] != "verify") throw usage_error("audit takes one subcommand: verify");
  auto cfg = load_config(a);
  auto expected = a.get("--head") ? std::optional(parse_head(*a.get("--head"))) : std::nullopt;
  // --store FILE: another copy of a store, read-only (a backup, or the
  // data.mdb.before-restore-* a restore kept).
  if (auto file = a.get("--store"); file && !running_pid(cfg.node.data_dir).empty() &&
                                     std::filesystem::exists(*file) &&
                                     std::filesystem::equivalent(*file, cfg.node.data_dir + "/data.mdb"))
    throw usage_error("--store " + *file + " is the running node's own store: run audit verify without --store");
  if (auto file = a.get("--store"); file && !std::filesystem::is_regular_file(*file))
    throw usage_error("--store " + *file + " is not a file: name a backup, or a data.mdb.before-restore-* a restore kept");
  auto env = a.get("--store") ? store::environment::open({*a.get("--store"), cfg.store.map_size_mb, nullptr, true}) : open_store(cfg);
  std::uint64_t n = 0;
  api::audit_head head;
  auto problem = api::verify_audit_chain(*env, n, 0, &head);
  if (problem.empty() && expected) problem = api::check_audit_head(*env, *expected);
  if (a.has("--json")) {
    std::cout << boost::json::serialize(boost::json::object{{"ok", problem.empty()}, {"entries", n}, {"problem", problem},
                                                            {"head", {{"seq", head.seq}, {"hash", head.hash}}}}) << "\n";
  } else if (problem.empty()) {
    std::cout << "audit: " << n << " entries, the hash chain is intact";
    if (expected) std::cout << " and holds entry " << expected->seq << " as recorded";
    if (head.seq) std::cout << "; head " << head.seq << ":" << head.hash << " (keep it elsewhere: a later verify --head "
                            << head.seq << ":" << head.hash << " shows whether entries were cut off the end)";
    std::cout << "\n";
  } else {
    std::cout << "audit: BROKEN at " << problem << " (" << n << " entries read)\n";
  }
  return problem.empty() ? 0 : 1;
}

}  // namespace node::cli
