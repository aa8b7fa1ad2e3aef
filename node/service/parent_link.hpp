// The child's side of sync: two threads dialing the parent named in
// [upstream] over mutual TLS. The pusher sends what this node and its
// subtree changed, from the cursor the parent acknowledged; the puller
// long-polls for what the parent holds about this node's jurisdiction.
// Both wait until the parent admits this node (POST /sync/v1/join with its
// posture) and retry with capped exponential backoff and jitter, unattended.
// The link's state goes to DATA_DIR/link-state.json for `status`.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "node/service/change_signal.hpp"
#include "node/service/join_client.hpp"
#include "store/environment.hpp"
#include "store/writer.hpp"

namespace node::service {

class parent_link {
public:
  // Throws std::runtime_error when [upstream] or [tls] cannot work.
  // `posture`: this node's self-check, sent with each join request.
  parent_link(const config::node_config& cfg, store::environment& env, store::writer& w, change_signal& changed,
              posture_fn posture);
  ~parent_link();  // stops and joins
  void start();
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The file `status` reads: where the link stands, as the running node last
// wrote it. Empty when there is none.
std::string link_state_path(const config::node_config& cfg);
// Its JSON text ("" when there is none yet), and writing it whole and
// renamed, so a reader never sees half a file.
std::string read_link_state(const config::node_config& cfg);
void write_link_state(const config::node_config& cfg, const std::string& json_text) noexcept;

// DATA_DIR/recover-own, written by `restore` at a node with a parent: the
// store went back to a backup, and the records this node owns that are
// newer than it are at the parent only. The running node pulls them back
// (own=1) before anything else, then removes the file; `import` waits for
// it, or it would number versions the network has already seen.
std::string recovery_flag_path(const config::node_config& cfg);
bool recovery_pending(const config::node_config& cfg);
// Writes it, with `why`, and flushes it and its directory entry to disk;
// throws std::runtime_error naming the path.
void write_recovery_flag(const config::node_config& cfg, const std::string& why);
// Flushes the directory's entries (files made, renamed or removed in it) to
// disk; throws std::runtime_error naming it and what to check.
void sync_directory(const std::string& dir);

}  // namespace node::service
