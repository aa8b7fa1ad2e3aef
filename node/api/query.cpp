// The bank's side: GET /api/v1/subjects/{uscc}/records (authorized query),
// POST /api/v1/verify (claims in, match / mismatch / unknown out), and the
// portal's GET /api/v1/subjects/{uscc}/access-log.
#include <algorithm>
#include <charconv>
#include <map>

#include "node/api/internal.hpp"
#include "store/model/category.hpp"
#include "store/model/mask.hpp"
#include "store/model/record.hpp"
#include "store/model/uscc.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"

namespace node::api {
namespace {

using store::model::sensitivity;

std::string query_param(const std::string& q, std::string_view name) {
  return std::string(net::query_param(q, name).value_or(""));
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t p = 0; p <= s.size() && !s.empty();) {
    auto c = s.find(',', p);
    out.push_back(s.substr(p, c == std::string::npos ? std::string::npos : c - p));
    if (c == std::string::npos) break;
    p = c + 1;
  }
  return out;
}

// A record as the bank may see it: personal fields masked unless the
// consent covers personal data (commercial secrets are shown: this is the
// detail level, the only one that gives records).
// Written as text: fields_json is canonical JSON (the store wrote it), so a
// record with nothing to mask goes out as it is, never parsed.
void append_shaped(std::string& o, const store::model::record& r, const store::consent& c) {
  const auto* cat = store::model::category_registry::builtin().find(r.category);
  bool masks = !c.personal_data && cat &&
               std::any_of(cat->fields.begin(), cat->fields.end(), [](const auto& f) { return f.klass == sensitivity::personal; });
  auto str = [&](const char* key, std::string_view v) {
    o += ",\"";
    o += key;
    o += "\":";
    store::model::append_json_string(o, v);
  };
  o += "{\"category\":";
  store::model::append_json_string(o, r.category);
  str("record_id", r.record_id);
  char num[24];
  o += ",\"version\":";
  o.append(num, static_cast<std::size_t>(std::to_chars(num, num + sizeof num, r.version).ptr - num));
  str("event_date", r.event_date);
  str("source", r.source);
  str("origin", r.origin);
  o += ",\"fields\":";
  if (!masks) {
    o += r.fields_json.empty() ? "{}" : r.fields_json;
  } else {
    unsigned char buf[4096];  // a record's fields fit: no heap for the parse
    json::monotonic_resource arena(buf, sizeof buf);
    json::object fields = json::parse(r.fields_json.empty() ? "{}" : r.fields_json, &arena).as_object();
    for (auto& [k, v] : fields) {
      const auto* f = cat->find(k);
      if (f && f->klass == sensitivity::personal && v.is_string()) v = json::string(store::model::mask_personal(k, v.get_string()));
    }
    o += json::serialize(fields);
  }
  o += '}';
}

// Summary: per category, how many records and the newest event date —
// no raw rows, no amounts (commercial secrets are for the detail level).
struct summary {
  std::map<std::string, std::pair<std::int64_t, std::string>> by_category;  // count, newest event date

  explicit summary(const std::vector<std::string>& cats) {
    for (const auto& c : cats) by_category[c];
  }
  void add(const store::model::record& r) {
    auto& [count, latest] = by_category[r.category];
    ++count;
    if (latest < r.event_date) latest = r.event_date;
  }
  bool empty() const {
    return std::all_of(by_category.begin(), by_category.end(), [](const auto& c) { return c.second.first == 0; });
  }
  json::object to_json() const {
    json::object out;
    for (const auto& [cat, s] : by_category)
      out[cat] = json::object{{"count", s.first}, {"latest_event_date", s.second.empty() ? json::value(nullptr) : json::value(s.second)}};
    return out;
  }
};

// Detail: the records shaped as they are read, straight from the snapshot
// (no copies), at most 10,000; false when there were more.
bool shape_records(store::reader& rd, const std::string& subject, const std::vector<std::string>& cats,
                   const store::consent& c, std::string& rows) {
  constexpr std::size_t max_records = 10000;
  std::size_t n = 0;
  for (const auto& cat : cats) {
    if (n >= max_records) return false;
    rd.for_each_record({cat, subject, std::nullopt, std::nullopt, false}, [&](const store::model::record& r) {
      append_shaped(n ? rows += ',' : rows, r, c);
      return ++n < max_records;
    });
  }
  return n < max_records;
}

// Any live record of the subject in `cats` or its registration: the
// categories the consent shows, and the portal registration it implies —
// not whether other categories hold something.
bool holds_subject(store::reader& rd, const std::string& subject, std::vector<std::string> cats) {
  cats.push_back("registration");
  bool any = false;
  for (const auto& c : cats)
    if (!any) rd.for_each_record({c, subject, std::nullopt, std::nullopt, false}, [&](const store::model::record&) { return !(any = true); });
  return any;
}

// After the consent check, so only a bank the enterprise authorized learns
// whether this node holds anything of it (PRODUCT.md: 404 unknown subject);
// an empty list would read as "no tax records".
std::optional<net::http_response> unknown_subject(store::reader& rd, api_call& call, const std::string& subject,
                                                  const std::vector<std::string>& cats) {
  if (holds_subject(rd, subject, cats)) return std::nullopt;
  return refuse(call, 404, "unknown_subject",
                "this node holds no live records of " + subject + " in the categories consented, nor its registration: "
                "none imported here, and none arrived by sync yet");
}

// Summary: every record counted, none kept, so no cap.
void count_records(store::reader& rd, const std::string& subject, summary& sum) {
  for (const auto& [cat, _] : sum.by_category)
    rd.for_each_record({cat, subject, std::nullopt, std::nullopt, false}, [&](const store::model::record& r) {
      sum.add(r);
      return true;
    });
}

// Only `purpose` and `categories`, each once: a misspelt `category=tax`
// was ignored and answered with every consented category.
std::string query_problem(std::string_view q, std::initializer_list<std::string_view> known) {
  std::vector<std::string> seen;
  while (!q.empty()) {
    auto part = q.substr(0, q.find('&'));
    auto raw = part.substr(0, part.find('='));
    auto name = net::percent_decode(raw, true).value_or(std::string(raw));
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return "unknown query parameter '" + store::model::printable_prefix(name, 64) + "' (" + list + ")";
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) return "query parameter '" + name + "' given twice";
    seen.push_back(name);
    q = part.size() == q.size() ? std::string_view{} : q.substr(part.size() + 1);
  }
  return {};
}

// `categories=a,b`: known names, each once (sorted); else what is wrong.
std::string categories_asked(const std::string& query, std::vector<std::string>& cats) {
  cats = split(query_param(query, "categories"));
  for (const auto& c : cats) {
    if (c.empty()) return "categories: an empty name (a stray comma?)";
    if (!store::model::category_registry::builtin().find(c)) return "categories: unknown category '" + c + "' (names are not percent-decoded)";
  }
  std::sort(cats.begin(), cats.end());
  cats.erase(std::unique(cats.begin(), cats.end()), cats.end());
  return {};
}

net::http_response records(api_context& ctx, const net::http_request& req, api_call& call, const std::string& subject) {
  if (call.who.kind != "bank") return refuse(call, 403, "bank_only", "records are for banks, with the enterprise's consent");
  if (auto problem = query_problem(req.query, {"purpose", "categories"}); !problem.empty()) return refuse(call, 400, "bad_request", problem);
  auto purpose = query_param(req.query, "purpose");
  if (!financing_purpose(purpose))
    return refuse(call, 403, "wrong_purpose", "purpose must be credit_assessment, loan_approval or post_loan_monitoring (financing only), not '" + purpose + "'");
  std::vector<std::string> cats;
  if (auto problem = categories_asked(req.query, cats); !problem.empty()) return refuse(call, 400, "bad_request", problem);
  // One snapshot for the consent check and the records: a withdrawal
  // either came before both or after both.
  store::reader rd(ctx.env);
  auto m = find_consent(rd, call.who.id, subject, purpose, cats, store::consent_level::summary, now_ms());
  if (!m.granted) return refuse(call, 403, "no_consent", m.why);
  call.consent = m.granted->id;
  if (cats.empty()) cats = m.granted->categories;
  bool detail = m.granted->level == store::consent_level::detail;
  std::string rows;
  rows.reserve(8192);  // a year of one enterprise's records, shaped, without regrowing
  summary sum(cats);
  bool truncated = detail ? !shape_records(rd, subject, cats, *m.granted, rows) : (count_records(rd, subject, sum), false);
  if (rows.empty() && sum.empty())
    if (auto no = unknown_subject(rd, call, subject, m.granted->categories)) return *no;
  call.used = true;
  json::object o{{"subject", subject}, {"consent", m.granted->id}, {"level", std::string(store::to_string(m.granted->level))},
                 {"truncated", truncated}};
  if (!detail) {
    o["summary"] = sum.to_json();
    return net::http_response::json(200, json::serialize(o));
  }
  std::string text = json::serialize(o);
  text.pop_back();  // the closing brace: the records follow
  text.reserve(text.size() + rows.size() + 16);
  text += ",\"records\":[";
  text += rows;
  text += "]}";
  return net::http_response::json(200, std::move(text));
}

// `limit` (1-1000, default 1000), `offset` (how many of the newest to
// leave out) and `before` (entries older than this seq; 0 = none left out).
std::optional<std::size_t> page_param(const std::string& q, std::string_view name, std::size_t dflt, std::size_t max, std::string& why) {
  auto v = net::query_param(q, name);
  if (!v) return dflt;
  auto n = net::whole_number(*v);
  if (!n || *n > max || (name == "limit" && *n == 0)) {
    why = std::string(name) + ": '" + store::model::printable_prefix(*v, 40) + "' is not a whole number from " +
          (name == "limit" ? "1" : "0") + " to " + std::to_string(max);
    return std::nullopt;
  }
  return static_cast<std::size_t>(*n);
}

net::http_response access_log(api_context& ctx, const net::http_request& req, api_call& call, const std::string& subject) {
  if (call.who.kind != "portal") return refuse(call, 403, "portal_only", "the access log is for the enterprise, through the portal");
  if (auto problem = query_problem(req.query, {"limit", "offset", "before"}); !problem.empty())
    return refuse(call, 400, "bad_request", problem);
  std::string why;
  auto limit = page_param(req.query, "limit", 1000, 1000, why);
  auto offset = limit ? page_param(req.query, "offset", 0, std::size_t{1} << 40, why) : std::nullopt;
  auto before = offset ? page_param(req.query, "before", 0, std::size_t{1} << 62, why) : std::nullopt;
  if (!limit || !offset || !before) return refuse(call, 400, "bad_request", why);
  // Newest first, through the per-subject index. `before` pages steadily:
  // every read of this log is itself an entry, which shifts an offset.
  std::size_t total = 0;
  bool more = false;
  auto last = store::reader(ctx.env).audit_for_subject(subject, *limit, total, *offset, *before, &more);
  json::array out;
  for (auto it = last.begin(); it != last.end(); ++it)
    out.push_back(json::object{{"seq", it->seq}, {"at", store::model::format_utc_ms(it->at_ms)}, {"principal", it->principal},
                               {"method", it->method}, {"path", it->path}, {"consent", it->consent},
                               {"decision", it->decision}, {"status", it->status}});
  json::value next = more ? json::value(last.back().seq) : json::value(nullptr);
  return net::http_response::json(200, json::serialize(json::object{
      {"subject", subject}, {"total", total}, {"accesses", std::move(out)}, {"next_before", std::move(next)}}));
}

// /api/v1/subjects/{uscc}/records | access-log
net::http_response subjects(api_context& ctx, const net::http_request& req, api_call& call) {
  auto rest = req.path.substr(std::string("/api/v1/subjects/").size());
  auto slash = rest.find('/');
  auto subject = rest.substr(0, slash);
  auto what = slash == std::string::npos ? "" : rest.substr(slash + 1);
  call.subject = subject;
  if (auto e = store::model::uscc_policy(ctx.live.current()->import.legacy_codes).check(subject); !e.empty())
    return refuse(call, 400, "bad_subject", "subject: " + e);
  if (what == "records") return records(ctx, req, call, subject);
  if (what == "access-log") return access_log(ctx, req, call, subject);
  return refuse(call, 404, "not_found", "no endpoint /api/v1/subjects/{uscc}/" + what + " (records, access-log)");
}

}  // namespace

net::http_response verify(api_context& ctx, const net::http_request& req, api_call& call);

void add_query_routes(net::http_router& r, api_context& ctx) {
  r.add_prefix("GET", "/api/v1/subjects/", audited(ctx, subjects), {"records", "access-log"});
  r.add("POST", "/api/v1/verify", audited(ctx, verify));
}

}  // namespace node::api
