// The status page on the admin listener (GET /): what `status` says, for a
// person in a browser — one self-contained HTML page (no external assets:
// these networks often have no internet), refreshing itself every 10 s.
#include <boost/json.hpp>

#include "node/cli/commands.hpp"
#include "node/quality/quality.hpp"
#include "node/net/http_message.hpp"
#include "store/model/record.hpp"

namespace node::cli {
namespace {

namespace json = boost::json;

std::string esc(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string text_of(const json::value& v) {
  if (v.is_string()) return esc(v.get_string());
  if (v.is_null()) return "—";
  return esc(json::serialize(v));
}

std::string row(const std::string& k, const std::string& v, const char* cls = "") {
  return "<tr><th>" + esc(k) + "</th><td class=\"" + cls + "\">" + v + "</td></tr>\n";
}

std::string upstream_rows(const json::object& up) {
  std::string state = text_of(up.at("state"));
  const char* cls = state == "admitted" || state == "none" ? "ok" : "bad";
  std::string out = row("upstream", state, cls);
  if (auto* id = up.if_contains("node_id")) out += row("parent", text_of(*id));
  // A node with no parent (national) has a reason too: not an error.
  for (const auto& r : up.at("reasons").as_array()) out += row("reason", text_of(r), cls);
  for (const char* k : {"lag_changes", "lag_seconds", "in_sync", "last_error"})
    if (auto* v = up.if_contains(k)) out += row(k, text_of(*v));
  return out;
}

std::string children_rows(const json::array& children) {
  std::string out;
  for (const auto& c : children) {
    const auto& o = c.as_object();
    std::string state = o.contains("state") ? text_of(o.at("state")) : "unregistered";
    out += "<tr><td>" + text_of(o.at("node_id")) + "</td><td class=\"" + (state == "admitted" ? "ok" : "bad") + "\">" +
           state + "</td><td>" + (o.contains("acked_seq") ? text_of(o.at("acked_seq")) : "—") + "</td><td>" +
           (o.contains("violations") ? text_of(o.at("violations")) : "0") + "</td></tr>\n";
  }
  return out.empty() ? "<tr><td colspan=\"4\">no child has joined</td></tr>\n" : out;
}

// Quality per category with records (node/quality): what a data officer reads.
std::string quality_rows(const quality::report* q) {
  if (!q) return "<tr><td colspan=\"6\">the first scan is still running</td></tr>\n";
  std::string out;
  for (const auto& [cat, c] : q->by_category) {
    if (c.records == 0 && c.quarantined == 0) continue;
    auto age = c.newest_event_age_days(q->computed_at_ms);
    out += "<tr><td>" + esc(cat) + "</td><td>" + quality::percent_text(c.completeness()) + "</td><td>" + quality::percent_text(c.accuracy()) + "</td><td>" +
           quality::percent_text(c.continuity()) + "</td><td>" + (c.lag_days_p50 ? std::to_string(*c.lag_days_p50) : "—") + "</td><td>" +
           (age ? std::to_string(*age) : "—") + "</td></tr>\n";
  }
  return out.empty() ? "<tr><td colspan=\"6\">no records at the last scan</td></tr>\n" : out;
}

std::string quality_caption(const quality::report* q) {
  if (!q) return "";
  return "<p>scanned " + esc(store::model::format_utc_ms(q->computed_at_ms)) + " in " + std::to_string(q->took_ms) +
         " ms; the node scans every 5 minutes (<code>credit-node quality</code> scans now)</p>";
}

}  // namespace

std::string status_page(const config::node_config& cfg, store::environment& env, const quality::report* quality) {
  auto s = status_object(cfg, env);
  const auto& node = s.at("node").as_object();
  std::string cats;
  for (const auto& [k, v] : s.at("records").at("by_category").as_object()) cats += row(std::string(k), text_of(v));
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"10\">"
         "<title>credit-node " + text_of(node.at("id")) + "</title><style>"
         "body{font:14px/1.4 sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:0 0 1.5em}"
         "th,td{border:1px solid #ccc;padding:.3em .7em;text-align:left}th{background:#f4f4f4}"
         ".ok{color:#080;font-weight:bold}.bad{color:#b00;font-weight:bold}h1{font-size:1.4em}</style></head><body>"
         "<h1>credit-node " + text_of(node.at("id")) + "</h1><p>" + text_of(node.at("role")) + " node, jurisdiction " +
         text_of(node.at("jurisdiction")) + ", version " + text_of(node.at("version")) +
         " — this page refreshes every 10 s; <a href=\"/metrics\">metrics</a></p>"
         "<h2>Link to the parent</h2><table>" + upstream_rows(s.at("upstream").as_object()) + "</table>"
         "<h2>Records</h2><table>" + row("total", text_of(s.at("records").at("total"))) + cats +
         row("quarantined rows", text_of(s.at("quarantine").at("count"))) +
         row("change log", text_of(s.at("store").at("last_seq"))) + "</table>"
         "<h2>Children</h2><table><tr><th>node</th><th>state</th><th>acknowledged change</th><th>violations</th></tr>" +
         children_rows(s.at("children").as_array()) + "</table>"
         "<h2>Data quality</h2>" + quality_caption(quality) + "<table><tr><th>category</th><th>complete</th><th>accurate</th><th>continuous</th>"
         "<th>lag p50 (days)</th><th>newest event (days ago)</th></tr>" + quality_rows(quality) + "</table></body></html>\n";
}

}  // namespace node::cli
