// The admin status page as a person sees it: Debian's Chromium, headless,
// loads it from a running provincial node with a child, and what it renders
// is checked; a screenshot is kept in build/artifacts/ for a person to look
// at. `make test` installs chromium.
#include <doctest/doctest.h>

#include <filesystem>
#include <regex>

#include "tree.hpp"

using namespace itest;

namespace {

// Flags for a closed network: no background fetches, no first-run, no
// sandbox (CI runs as root), a fresh profile every time.
std::vector<std::string> chromium(const std::string& profile, std::vector<std::string> extra) {
  std::vector<std::string> argv{"timeout", "60", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                "--disable-quic", "--no-first-run", "--disable-background-networking",
                                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string text_of(const std::string& html) {  // the DOM without tags, spaces collapsed
  auto t = std::regex_replace(html, std::regex("<[^>]*>"), " ");
  return std::regex_replace(t, std::regex("\\s+"), " ");
}

}  // namespace

TEST_CASE("status page: headless Chromium renders the node, its link, records and admitted child, with no external asset, and quality and sync state are in /metrics") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  auto f = net.d / "tax.csv";
  auto firms = codes("320102", 3, 5);
  test::write_file(f, csv(firms, "p-", "10.00") + firms[0] + ",p-bad,2026-10-01,tax,2026-09,VAT,ten\n");
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", f}).exit_code == 1);  // one row refused
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  REQUIRE_MESSAGE(eventually([&] { return exported(prov).size() == 3; }, 15s), n.err());
  auto raw = http_get(prov.admin, "/", 2s);
  REQUIRE(raw.status == 200);
  // Self-contained: nothing is fetched from anywhere (these networks are closed).
  CHECK_FALSE(std::regex_search(raw.body, std::regex(R"((src|href)\s*=\s*"(https?:)?//)")));
  CHECK(raw.body.find("<script") == std::string::npos);
  CHECK(raw.body.find("http-equiv=\"refresh\"") != std::string::npos);

  std::string url = "http://" + prov.admin + "/";
  auto dom = test::run_program(chromium(net.d / "profile-1", {"--dump-dom", url}));
  REQUIRE_MESSAGE(dom.exit_code == 0, dom.err);
  auto seen = text_of(dom.out);
  CHECK_MESSAGE(seen.find("credit-node js.province") != std::string::npos, seen);
  CHECK(seen.find("provincial node, jurisdiction 320000") != std::string::npos);
  CHECK(seen.find("tax 3") != std::string::npos);
  CHECK(seen.find("total 3") != std::string::npos);
  CHECK(seen.find("js.nanjing admitted") != std::string::npos);
  CHECK(seen.find("upstream none") != std::string::npos);  // the provincial node here has no parent
  CHECK(seen.find("Data quality") != std::string::npos);

  // The local node's page shows its link to the parent.
  auto local = text_of(test::run_program(chromium(net.d / "profile-2", {"--dump-dom", "http://" + nj.admin + "/"})).out);
  CHECK_MESSAGE(local.find("upstream admitted") != std::string::npos, local);
  CHECK(local.find("parent js.province") != std::string::npos);
  CHECK_MESSAGE(local.find("tax 0.0% 75.0% 100.0%") != std::string::npos, local);  // complete, accurate, continuous

  // The same node's data quality in /metrics (scanned when the node starts).
  auto m = http_get(nj.admin, "/metrics", 2s).body;
  CHECK_MESSAGE(m.find("\ncredit_node_quality_accuracy_ratio{category=\"tax\"} 0.75\n") != std::string::npos, m);
  CHECK(m.find("\ncredit_node_quality_continuity_ratio{category=\"tax\"} 1\n") != std::string::npos);
  CHECK(m.find("\ncredit_node_quality_completeness_ratio{category=\"tax\"} 0\n") != std::string::npos);  // no optional field given
  CHECK(m.find("credit_node_quality_event_lag_days{category=\"tax\",percentile=\"50\"} ") != std::string::npos);
  CHECK(m.find("credit_node_quality_computed_timestamp_seconds ") != std::string::npos);
  CHECK(m.find("credit_node_quality_accuracy_ratio{category=\"environment\"}") == std::string::npos);  // nothing to measure

  // Sync per peer: the child's link and lag, the parent's view of its child.
  CHECK(m.find("\ncredit_node_upstream_state{parent=\"js.province\",state=\"admitted\"} 1\n") != std::string::npos);
  CHECK(eventually([&] {
    return http_get(nj.admin, "/metrics", 2s).body.find("\ncredit_node_upstream_lag_changes{parent=\"js.province\"} 0\n") != std::string::npos;
  }, 10s));
  CHECK(m.find("\ncredit_node_upstream_pull_cursor{parent=\"js.province\"} ") != std::string::npos);
  auto pm = http_get(prov.admin, "/metrics", 2s).body;
  CHECK_MESSAGE(pm.find("\ncredit_node_child_acked_seq{node_id=\"js.nanjing\"} 3\n") != std::string::npos, pm);
  CHECK(pm.find("\ncredit_node_upstream_state{parent=\"\",state=\"none\"} 1\n") != std::string::npos);

  auto dir = std::filesystem::path(CN_ARTIFACTS_DIR);
  std::filesystem::create_directories(dir);
  auto png = dir / "status_page.png";
  std::filesystem::remove(png);
  auto shot = test::run_program(chromium(net.d / "profile-3", {"--screenshot=" + png.string(), "--window-size=1100,800", url}));
  REQUIRE_MESSAGE(shot.exit_code == 0, shot.err);
  auto bytes = test::read_file(png);
  REQUIRE(bytes.size() > 5000);  // a rendered page, not an empty frame
  CHECK(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
}
