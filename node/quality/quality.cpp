#include "node/quality/quality.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "store/model/category.hpp"
#include "store/reader.hpp"

namespace node::quality {
namespace {

namespace json = boost::json;
using store::model::field_type;

// Days since 1970-01-01 of "YYYY-MM-DD"; none when it is not a date.
std::optional<std::int64_t> day_number(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (d[i] - '0');
    return v;
  };
  std::chrono::year_month_day ymd{std::chrono::year{num(0, 4)}, std::chrono::month(num(5, 2)), std::chrono::day(num(8, 2))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

// "YYYY-MM" as a month count, for gaps between periods.
int month_number(std::string_view p) { return std::stoi(std::string(p.substr(0, 4))) * 12 + std::stoi(std::string(p.substr(5, 2))) - 1; }

// What one scan keeps per category beyond the counters: small per record
// (a month is 2 bytes; lags are a histogram of whole days).
struct scan_state {
  const store::model::category_def* def = nullptr;
  std::map<std::int64_t, std::uint64_t> lags;  // days → records
  std::uint64_t lag_count = 0;
  std::map<std::string, std::vector<std::uint16_t>> series;  // subject + kind → months with a record
};

// A periodic category's series: the subject and its required text or
// enumeration fields (tax: tax_type; utility_payment: utility).
std::string series_key(const store::model::category_def& def, const store::model::record& r, const json::object& f) {
  std::string key = r.subject;
  for (const auto& fd : def.fields)
    if (fd.required && (fd.type == field_type::text || fd.type == field_type::enumeration))
      if (auto* v = f.if_contains(fd.name); v && v->is_string()) key += '\x1f' + std::string(v->get_string());
  return key;
}

void count_record(const store::model::record& r, category_quality& q, scan_state& s) {
  ++q.records;
  if (r.event_date > q.newest_event) q.newest_event = r.event_date;
  auto ev = day_number(r.event_date);
  if (ev) {
    ++s.lags[std::max<std::int64_t>(0, r.ingested_at_ms / 86'400'000 - *ev)];
    ++s.lag_count;
  }
  if (!s.def) return;
  json::object f;
  try {
    f = json::parse(r.fields_json).as_object();
  } catch (const std::exception&) {
    if (!q.unreadable++) q.first_unreadable = r.subject + "/" + r.record_id;
    return;
  }
  bool periodic = false;
  for (const auto& fd : s.def->fields) {
    if (fd.type == field_type::period && fd.required) periodic = true;
    if (fd.required) continue;
    ++q.optional_slots;
    if (f.contains(fd.name)) ++q.optional_filled;
  }
  if (auto* p = f.if_contains("period"); periodic && p && p->is_string() && p->get_string().size() == 7)
    s.series[series_key(*s.def, r, f)].push_back(static_cast<std::uint16_t>(month_number(p->get_string())));
}

// The value at rank p·(n−1) (0-based) of the histogram's values in order.
std::int64_t percentile(const scan_state& s, double p) {
  auto rank = static_cast<std::uint64_t>(p * static_cast<double>(s.lag_count - 1));
  std::uint64_t seen = 0;
  for (const auto& [days, n] : s.lags) {
    seen += n;
    if (seen > rank) return days;
  }
  return s.lags.rbegin()->first;
}

void finish(category_quality& q, scan_state& s) {
  if (s.lag_count) {
    q.lag_days_p50 = percentile(s, 0.5);
    q.lag_days_p90 = percentile(s, 0.9);
  }
  for (auto& [key, months] : s.series) {
    std::sort(months.begin(), months.end());
    months.erase(std::unique(months.begin(), months.end()), months.end());
    q.periods_present += months.size();
    q.periods_expected += static_cast<std::uint64_t>(months.back() - months.front() + 1);
  }
}

void count_quarantine(store::reader& rd, std::map<std::string, category_quality>& out) {
  rd.for_each_quarantine([&](std::uint64_t, std::string_view text) {
    try {
      auto v = json::parse(text);
      if (auto* c = v.as_object().if_contains("category"); c && c->is_string()) {
        auto it = out.find(std::string(c->get_string()));
        if (it != out.end()) ++it->second.quarantined;
      }
    } catch (const std::exception&) {
      // an entry the writer wrote always parses; nothing to count otherwise
    }
    return true;
  });
}

std::optional<double> ratio(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

json::value number_or_null(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

}  // namespace

std::string percent_text(const std::optional<double>& ratio) {
  if (!ratio) return "—";
  char b[16];
  std::snprintf(b, sizeof b, "%.1f%%", *ratio * 100.0);
  return b;
}

std::optional<double> category_quality::completeness() const { return ratio(optional_filled, optional_slots); }
std::optional<double> category_quality::accuracy() const { return ratio(records, records + quarantined); }
std::optional<double> category_quality::continuity() const { return ratio(periods_present, periods_expected); }
std::optional<std::int64_t> category_quality::newest_event_age_days(std::int64_t now_ms) const {
  auto d = day_number(newest_event);
  if (!d) return std::nullopt;
  return now_ms / 86'400'000 - *d;
}

report compute(store::environment& env, std::int64_t now_ms, const std::function<bool()>& keep_going,
               std::uint64_t slice) {
  auto started = std::chrono::steady_clock::now();
  report r;
  r.computed_at_ms = now_ms;
  std::map<std::string, scan_state> states;
  const auto& reg = store::model::category_registry::builtin();
  for (const auto& c : reg.all()) {
    r.by_category[c.name];
    states[c.name].def = &c;
  }
  // In slices, each in a read transaction of its own (see
  // store::reader::scan_records): not one snapshot, but a report of ratios
  // does not need one, and the writer keeps reusing pages meanwhile.
  // It ends at the last record there was when it began: records added
  // during a long catch-up would otherwise keep it reading.
  slice = std::max<std::uint64_t>(slice, 1);
  const auto end_id = store::reader(env).last_record_id();
  std::uint64_t next_id = 0, n = 0;
  for (bool more = end_id > 0; more;) {
    store::reader rd(env);
    more = false;
    rd.scan_records(next_id, [&](std::uint64_t id, const store::model::record& rec) {
      if (id > end_id) return false;
      next_id = id + 1;
      if (!rec.deleted) count_record(rec, r.by_category[rec.category], states[rec.category]);
      if (++n % 4096 == 0 && keep_going && !keep_going()) throw scan_stopped();  // a stopping node does not wait
      return !(more = n % slice == 0 && id < end_id);
    });
  }
  {
    store::reader rd(env);
    count_quarantine(rd, r.by_category);
  }
  for (auto& [name, q] : r.by_category) finish(q, states[name]);
  r.took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  return r;
}

std::string to_json(const report& r) {
  json::object cats;
  for (const auto& [name, q] : r.by_category) {
    json::object o{{"records", q.records}, {"quarantined", q.quarantined},
                   {"completeness", number_or_null(q.completeness())}, {"accuracy", number_or_null(q.accuracy())},
                   {"continuity", number_or_null(q.continuity())},
                   {"lag_days_p50", q.lag_days_p50 ? json::value(*q.lag_days_p50) : json::value(nullptr)},
                   {"lag_days_p90", q.lag_days_p90 ? json::value(*q.lag_days_p90) : json::value(nullptr)},
                   {"newest_event", q.newest_event.empty() ? json::value(nullptr) : json::value(q.newest_event)}};
    auto age = q.newest_event_age_days(r.computed_at_ms);
    o["newest_event_age_days"] = age ? json::value(*age) : json::value(nullptr);
    o["unreadable"] = q.unreadable;
    o["first_unreadable"] = q.unreadable ? json::value(q.first_unreadable) : json::value(nullptr);
    cats[name] = std::move(o);
  }
  return json::serialize(json::object{{"categories", std::move(cats)}, {"took_ms", r.took_ms}});
}

}  // namespace node::quality
