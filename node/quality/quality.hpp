// Data quality per category (PRODUCT.md `quality`): what a data officer
// reads to see whether a department's exports are complete, accurate,
// continuous and timely. Computed by one read-only scan of the store: the
// `quality` command runs it on demand, `run` every few minutes for /metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <map>
#include <optional>
#include <string>

#include "store/environment.hpp"

namespace node::quality {

struct category_quality {
  std::uint64_t records = 0;      // live records
  std::uint64_t quarantined = 0;  // rows refused at import or from sync, as held in quarantine
  // Completeness: optional fields filled / optional fields there could be.
  std::uint64_t optional_filled = 0, optional_slots = 0;
  // Continuity (categories with a monthly `period`): per subject and kind,
  // the months present between its first and last period / all those months.
  std::uint64_t periods_present = 0, periods_expected = 0;
  // Timeliness: days from the event to its arrival at this node.
  std::optional<std::int64_t> lag_days_p50, lag_days_p90;
  std::string newest_event;  // YYYY-MM-DD, empty without records
  // Records whose fields are not valid JSON (an integer stored with leading
  // zeros before imports refused them: "007"): every batch carrying one is
  // refused by the parent, and every API answer with one is broken. The
  // first one's SUBJECT/RECORD_ID, to find and import again.
  std::uint64_t unreadable = 0;
  std::string first_unreadable;

  std::optional<double> completeness() const;  // none: no optional field to fill
  std::optional<double> accuracy() const;      // records / (records + quarantined)
  std::optional<double> continuity() const;    // none: not a periodic category
  std::optional<std::int64_t> newest_event_age_days(std::int64_t now_ms) const;
};

struct report {
  std::map<std::string, category_quality> by_category;  // every built-in category
  std::int64_t computed_at_ms = 0;
  std::int64_t took_ms = 0;
};

// `keep_going` is asked every few thousand records; when it says no, the
// scan ends with scan_stopped. The scan reads `slice` records per read
// transaction (a parameter for tests: the report must not depend on it).
struct scan_stopped : std::runtime_error {
  scan_stopped() : std::runtime_error("quality scan stopped") {}
};
report compute(store::environment& env, std::int64_t now_ms, const std::function<bool()>& keep_going = {},
               std::uint64_t slice = 20000);

// "83.3%", or "—" when there is nothing to measure (the CLI and the status page).
std::string percent_text(const std::optional<double>& ratio);

// JSON for `quality --json`; days since the newest event use `now_ms`.
std::string to_json(const report& r);

}  // namespace node::quality
