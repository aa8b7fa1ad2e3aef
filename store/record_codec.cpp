#include "store/record_codec.hpp"

#include "store/key_codec.hpp"

namespace store {

std::string encode_record(const model::record& r) {
  key_writer w;
  w.reserve(64 + r.category.size() + r.subject.size() + r.record_id.size() + r.origin.size() +
            r.source.size() + r.fields_json.size());
  w.u8(record_format_v1).u8(r.deleted ? 1 : 0).u64(r.version).i64(r.ingested_at_ms);
  w.str16(r.origin).str16(r.category).str16(r.subject).str16(r.record_id);
  w.str16(r.event_date).str16(r.source).blob32(r.fields_json);
  return w.take();
}

model::record decode_record(std::string_view v) {
  key_reader rd(v);
  auto fmt = rd.u8();
  if (fmt != record_format_v1)
    throw codec_error("record value has unknown format " + std::to_string(fmt));
  model::record r;
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
  return r;
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
  return key_writer().u8(change_format_v1).u64(c.id).u64(c.version).u8(static_cast<std::uint8_t>(c.op)).take();
}

change_entry decode_change(std::string_view v) {
  key_reader rd(v);
  if (rd.u8() != change_format_v1) throw codec_error("change entry has unknown format");
  change_entry c;
  c.id = rd.u64();
  c.version = rd.u64();
  c.op = static_cast<change_op>(rd.u8());
  return c;
}

std::string history_key(std::uint64_t id, std::uint64_t version) {
  return key_writer().u64(id).u64(version).take();
}

}  // namespace store
