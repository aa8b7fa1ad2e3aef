// A credit record as the store keeps it and export shows it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace store::model {

struct record {
  std::string category, subject, record_id;
  std::string origin;          // node that owns it; only it changes the record
  std::uint64_t version = 0;   // owner-assigned, +1 per change
  std::string event_date;      // YYYY-MM-DD
  std::string source;          // department
  std::int64_t ingested_at_ms = 0;
  bool deleted = false;        // tombstone
  std::string fields_json;     // canonical JSON object, schema order

  // Content an owner's re-import compares: the same content is no change.
  bool same_content(const record& o) const {
    return deleted == o.deleted && event_date == o.event_date && source == o.source &&
           fields_json == o.fields_json;
  }
};

// A record's contribution to a digest: FNV-1a over its key, owner, version
// and tombstone. Digests sum these, so the order of records never matters.
std::uint64_t digest_hash(std::string_view category, std::string_view subject, std::string_view record_id,
                          std::string_view origin, std::uint64_t version, bool deleted);
inline std::uint64_t digest_hash(const record& r) {
  return digest_hash(r.category, r.subject, r.record_id, r.origin, r.version, r.deleted);
}

// What one version of a record holds — its digest_hash, then its date,
// source, fields and when this store took it in — as FNV-1a. A store that
// went back and wrote the same row again (same version, corrected fields,
// or only later) gives another value (reader::change_stamp).
std::uint64_t content_hash(const record& r);

// One JSON object per record, as `export` writes it (JSON Lines).
std::string to_json_line(const record& r);

// UTC "2026-11-27T10:00:00.123Z" for a Unix time in milliseconds.
std::string format_utc_ms(std::int64_t ms);
// Midnight UTC starting the day "YYYY-MM-DD" (already checked), in ms.
std::int64_t utc_midnight_ms(std::string_view date);

}  // namespace store::model
