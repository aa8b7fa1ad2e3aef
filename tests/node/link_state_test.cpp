// The link's state file is written from the link's own error handling: a
// data dir that cannot take it must not end the node (it once threw out of
// a catch block on the link's thread: std::terminate).
#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <vector>

#include "node/net/log.hpp"
#include "node/service/parent_link.hpp"
#include "test_util.hpp"

TEST_CASE("link state: a data dir that cannot take the file is said once a minute, and nothing throws") {
  std::mutex mu;
  std::vector<std::string> lines;
  node::net::log::set_sink([&](std::string_view l) {
    std::lock_guard lk(mu);
    lines.emplace_back(l);
  });
  config::node_config cfg;
  test::temp_dir d;
  cfg.node.data_dir = d / "gone";  // never created
  CHECK_NOTHROW(node::service::write_link_state(cfg, R"({"state":"unreachable"})"));
  CHECK_NOTHROW(node::service::write_link_state(cfg, R"({"state":"admitted"})"));
  cfg.node.data_dir = d.path().string();  // a writable one still works
  node::service::write_link_state(cfg, R"({"state":"admitted"})");
  node::net::log::set_sink(nullptr);
  CHECK(node::service::read_link_state(cfg) == "{\"state\":\"admitted\"}\n");
  std::size_t said = 0;
  for (const auto& l : lines)
    if (l.find("event=link_state_write_failed") != std::string::npos) {
      ++said;
      CHECK(l.find("gone/link-state.json") != std::string::npos);
    }
  CHECK(said == 1);  // the second failure, within the minute, is not said again
}

TEST_CASE("link state: the recovery flag and a directory's entries are flushed, or the failure names the path") {
  test::temp_dir d;
  config::node_config cfg;
  cfg.node.data_dir = d.path().string();
  node::service::write_recovery_flag(cfg, "restored from x");
  CHECK(node::service::recovery_pending(cfg));
  CHECK_NOTHROW(node::service::sync_directory(d.path().string()));
  std::string gone = d / "gone";
  CHECK_THROWS_WITH(node::service::sync_directory(gone),
                    doctest::Contains(("cannot flush the directory " + gone + " to disk: No such file or directory").c_str()));
  cfg.node.data_dir = gone;
  CHECK_THROWS_WITH(node::service::write_recovery_flag(cfg, "restored from x"), doctest::Contains(("cannot create " + gone).c_str()));
}
