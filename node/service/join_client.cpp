#include "node/service/join_client.hpp"

#include <boost/json.hpp>

#include <chrono>

#include "store/model/validate.hpp"

namespace node::service {

namespace json = boost::json;

admission_refused::admission_refused(std::string s, std::vector<std::string> r)
    : std::runtime_error(s + (r.empty() ? std::string() : ": " + r.front())), state(std::move(s)), reasons(std::move(r)) {}

replication::join_answer join_parent(net::http_client& c, const config::node_config& cfg, const posture_fn& posture) {
  replication::join_request req{cfg.node.id, cfg.node.role, cfg.node.jurisdiction, CREDIT_NODE_VERSION,
                                std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch()).count(),
                                posture ? posture() : std::vector<replication::posture_check>{}};
  net::http_response resp;
  try {
    resp = c.request({"POST", "/sync/v1/join", replication::encode_join_request(req), "application/json", {}});
  } catch (const net::client_error& e) {
    if (e.why != net::client_error::kind::plain_http) throw;
    throw std::runtime_error(std::string(e.what()) + "; [upstream] url must name the parent's [listen] sync address");
  }
  // 404 / 405: something answers there, but not a parent's sync listener
  // (its API or admin port, or another server): say which key to check.
  if (resp.status == 404 || resp.status == 405)
    throw std::runtime_error("join answered " + std::to_string(resp.status) + " from " + cfg.upstream->url +
                             ": that is not a credit-node sync listener (its API or admin port?); [upstream] url must name "
                             "the parent's [listen] sync address");
  if (resp.status != 200)
    throw std::runtime_error("join answered " + std::to_string(resp.status) + ": " + store::model::printable_prefix(resp.body, 300));
  return replication::decode_join_answer(resp.body);
}

std::optional<admission_refused> refusal_of(const net::http_response& resp) {
  if (resp.status != 403) return std::nullopt;
  json::error_code ec;
  auto v = json::parse(resp.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* code = v.get_object().if_contains("error");
  const auto* detail = v.get_object().if_contains("detail");
  if (!code || !code->is_string()) return std::nullopt;
  std::string c(code->get_string());
  std::string why = detail && detail->is_string() ? std::string(detail->get_string()) : c;
  if (c == "not_admitted") return admission_refused("pending", {why});
  if (c == "suspended" || c == "revoked") return admission_refused(c, {why});
  if (c == "not_a_child") return admission_refused("refused", {why});
  return std::nullopt;
}

}  // namespace node::service
