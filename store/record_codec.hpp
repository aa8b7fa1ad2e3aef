// Value layouts of the store's tables. Every value starts with a format
// byte so a later format can be read beside the old one during migrations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/model/record.hpp"

namespace store {

constexpr std::uint8_t record_format_v1 = 1;
constexpr std::uint8_t change_format_v1 = 1;

std::string encode_record(const model::record& r);
// The same layout from parts, so a writer can encode without building a record.
std::string encode_record_parts(bool deleted, std::uint64_t version, std::int64_t ingested_at_ms,
                                std::string_view origin, std::string_view category,
                                std::string_view subject, std::string_view record_id,
                                std::string_view event_date, std::string_view source,
                                std::string_view fields_json);
// Same, into `out` (its memory reused: the writer encodes a million rows).
void encode_record_into(std::string& out, bool deleted, std::uint64_t version,
                        std::int64_t ingested_at_ms, std::string_view origin,
                        std::string_view category, std::string_view subject,
                        std::string_view record_id, std::string_view event_date,
                        std::string_view source, std::string_view fields_json);
model::record decode_record(std::string_view v);  // throws codec_error
// The same into `r`, reusing its strings' memory: a scan decodes into one.
void decode_record_into(std::string_view v, model::record& r);

// subject2id key: subject first, so all of a subject's records are one
// prefix scan, and an enterprise's records sit together on disk.
std::string subject_key(std::string_view subject, std::string_view category,
                        std::string_view record_id);
std::string subject_prefix(std::string_view subject);

enum class change_op : std::uint8_t { put = 1, remove = 2 };

struct change_entry {
  std::uint64_t id = 0;
  std::uint64_t version = 0;
  change_op op = change_op::put;
  // The peer this change arrived from; empty when made here (an import).
  // Sync never sends a change back to where it came from.
  std::string via;
};

std::string encode_change(const change_entry& c);
change_entry decode_change(std::string_view v);

std::string history_key(std::uint64_t id, std::uint64_t version);

// digests key for a record: its subject's division (credit code characters
// 3-8), then its category. A prefix of "\x06" + division prefix scans a
// jurisdiction.
std::string digest_key(std::string_view subject, std::string_view category);

// peer2cursor value: the peer's store instance, the last change of it
// applied here and, when the peer sent it, that change's stamp
// (reader::change_stamp; 0: none) — 8 bytes at the end, which a binary
// before them does not read.
std::string encode_cursor(std::string_view peer_instance, std::uint64_t seq, std::uint64_t stamp = 0);
void decode_cursor(std::string_view v, std::string& peer_instance, std::uint64_t& seq, std::uint64_t* stamp = nullptr);

}  // namespace store
