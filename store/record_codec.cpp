#include "store/record_codec.hpp"

#include "store/key_codec.hpp"

namespace store {

namespace {

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_str(std::string& out, std::string_view s, int len_bytes) {
  if (s.size() >> (8 * len_bytes)) throw codec_error("value string too long for its field");
  put_be(out, s.size(), len_bytes);
  out += s;
}

}  // namespace

void encode_record_into(std::string& out, bool deleted, std::uint64_t version,
                        std::int64_t ingested_at_ms, std::string_view origin,
                        std::string_view category, std::string_view subject,
                        std::string_view record_id, std::string_view event_date,
                        std::string_view source, std::string_view fields_json) {
  out.clear();
  out += static_cast<char>(record_format_v1);
  out += static_cast<char>(deleted ? 1 : 0);
  put_be(out, version, 8);
  put_be(out, static_cast<std::uint64_t>(ingested_at_ms), 8);
  for (auto part : {origin, category, subject, record_id, event_date, source}) put_str(out, part, 2);
  put_str(out, fields_json, 4);
}

std::string encode_record_parts(bool deleted, std::uint64_t version, std::int64_t ingested_at_ms,
                                std::string_view origin, std::string_view category,
                                std::string_view subject, std::string_view record_id,
                                std::string_view event_date, std::string_view source,
                                std::string_view fields_json) {
  std::string out;
  encode_record_into(out, deleted, version, ingested_at_ms, origin, category, subject, record_id,
                     event_date, source, fields_json);
  return out;
}

std::string encode_record(const model::record& r) {
  return encode_record_parts(r.deleted, r.version, r.ingested_at_ms, r.origin, r.category, r.subject,
                             r.record_id, r.event_date, r.source, r.fields_json);
}

model::record decode_record(std::string_view v) {
  model::record r;
  decode_record_into(v, r);
  return r;
}

void decode_record_into(std::string_view v, model::record& r) {
  key_reader rd(v);
  auto fmt = rd.u8();
  if (fmt != record_format_v1)
    throw codec_error("record value has unknown format " + std::to_string(fmt));
  r.deleted = rd.u8() != 0;
  r.version = rd.u64();
  r.ingested_at_ms = rd.i64();
  r.origin = rd.str16();
  r.category = rd.str16();
  r.subject = rd.str16();
  r.record_id = rd.str16();
  r.event_date = rd.str16();
  r.source = rd.str16();
  r.fields_json = rd.blob32();
  if (!rd.done()) throw codec_error("record value has trailing bytes");
}

std::string subject_key(std::string_view subject, std::string_view category,
                        std::string_view record_id) {
  key_writer w;
  w.reserve(3 + subject.size() + category.size() + record_id.size());
  w.str8(subject).str8(category).str8(record_id);
  return w.take();
}

std::string subject_prefix(std::string_view subject) {
  return key_writer().str8(subject).take();
}

std::string encode_change(const change_entry& c) {
  return key_writer().u8(change_format_v1).u64(c.id).u64(c.version).u8(static_cast<std::uint8_t>(c.op)).str8(c.via).take();
}

change_entry decode_change(std::string_view v) {
  key_reader rd(v);
  if (rd.u8() != change_format_v1) throw codec_error("change entry has unknown format");
  change_entry c;
  c.id = rd.u64();
  c.version = rd.u64();
  c.op = static_cast<change_op>(rd.u8());
  c.via = rd.str8();
  return c;
}

std::string encode_cursor(std::string_view peer_instance, std::uint64_t seq, std::uint64_t stamp) {
  key_writer w;
  w.u8(1).str8(peer_instance).u64(seq);
  if (stamp) w.u64(stamp);
  return w.take();
}

void decode_cursor(std::string_view v, std::string& peer_instance, std::uint64_t& seq, std::uint64_t* stamp) {
  key_reader rd(v);
  if (rd.u8() != 1) throw codec_error("cursor has unknown format");
  peer_instance = rd.str8();
  seq = rd.u64();
  if (stamp) *stamp = rd.done() ? 0 : rd.u64();
}

std::string digest_key(std::string_view subject, std::string_view category) {
  std::string_view division = subject.size() >= 8 ? subject.substr(2, 6) : std::string_view("000000");
  return key_writer().str8(division).str8(category).take();
}

std::string history_key(std::uint64_t id, std::uint64_t version) {
  return key_writer().u64(id).u64(version).take();
}

}  // namespace store
