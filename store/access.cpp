#include "store/access.hpp"

#include "store/key_codec.hpp"
#include "store/model/record.hpp"
#include "store/model/validate.hpp"

namespace store {

std::string_view to_string(consent_level l) {
  switch (l) {
    case consent_level::verify: return "verify";
    case consent_level::summary: return "summary";
    case consent_level::detail: return "detail";
  }
  return "unknown";
}

std::optional<consent_level> parse_consent_level(std::string_view s) {
  if (s == "verify") return consent_level::verify;
  if (s == "summary") return consent_level::summary;
  if (s == "detail") return consent_level::detail;
  return std::nullopt;
}

std::string consent::status(std::int64_t now_ms) const {
  if (withdrawn) return "withdrawn";
  if (now_ms < valid_from_ms) return "scheduled";  // valid_from is ahead
  if (now_ms >= valid_until_ms) return "expired";
  return "active";
}

namespace {
chain_hash& hash_fn() {
  static chain_hash h;
  return h;
}
}  // namespace

void set_chain_hash(chain_hash h) { hash_fn() = std::move(h); }
const chain_hash& get_chain_hash() { return hash_fn(); }

// JSON, so `audit verify` and a human read the same thing the hash covers.
std::string audit_text(const audit_entry& e) {
  std::string o = "{\"seq\":" + std::to_string(e.seq) + ",\"at\":";
  model::append_json_string(o, model::format_utc_ms(e.at_ms));
  for (auto [k, v] : {std::pair<const char*, const std::string*>{"principal", &e.principal}, {"method", &e.method},
                      {"path", &e.path}, {"subject", &e.subject}, {"consent", &e.consent}, {"decision", &e.decision},
                      {"detail", &e.detail}, {"prev", &e.prev}}) {
    o += ",\"";
    o += k;
    o += "\":";
    // As stored: append_audit made each field printable before hashing,
    // so an edit into invalid UTF-8 changes the hash, not folds into U+FFFD.
    model::append_json_string(o, *v);
  }
  return o + ",\"status\":" + std::to_string(e.status) + "}";
}

std::string encode_principal(const principal& p) {
  key_writer w;
  w.u8(2).str8(p.id).str8(p.kind).str16(p.name).str8(p.cert_sha256).str8(p.token_sha256).i64(p.created_ms);
  w.u8(p.suspended ? 1 : 0).str16(p.suspended_reason).i64(p.changed_ms);
  return w.take();
}

principal decode_principal(std::string_view v) {
  key_reader r(v);
  auto format = r.u8();  // 1: before suspension and new tokens
  if (format != 1 && format != 2) throw codec_error("principal: unknown format");
  principal p;
  p.id = r.str8();
  p.kind = r.str8();
  p.name = r.str16();
  p.cert_sha256 = r.str8();
  p.token_sha256 = r.str8();
  p.created_ms = r.i64();
  if (format == 2) {
    p.suspended = r.u8() != 0;
    p.suspended_reason = r.str16();
    p.changed_ms = r.i64();
  }
  return p;
}

std::string encode_consent(const consent& c) {
  key_writer w;
  w.u8(1).str8(c.id).str8(c.subject).str8(c.grantee).str8(c.purpose).u64(c.categories.size());
  for (const auto& cat : c.categories) w.str8(cat);
  w.u8(static_cast<std::uint8_t>(c.level)).u8(c.personal_data ? 1 : 0).i64(c.valid_from_ms).i64(c.valid_until_ms);
  w.str16(c.evidence).str8(c.created_by).u8(c.withdrawn ? 1 : 0).i64(c.withdrawn_ms).u64(c.use_count).i64(c.last_use_ms);
  return w.take();
}

consent decode_consent(std::string_view v) {
  key_reader r(v);
  if (r.u8() != 1) throw codec_error("consent: unknown format");
  consent c;
  c.id = r.str8();
  c.subject = r.str8();
  c.grantee = r.str8();
  c.purpose = r.str8();
  auto n = r.u64();
  if (n > 64) throw codec_error("consent: too many categories");
  for (std::uint64_t i = 0; i < n; ++i) c.categories.emplace_back(r.str8());
  auto lvl = r.u8();
  if (lvl < 1 || lvl > 3) throw codec_error("consent: bad level");
  c.level = static_cast<consent_level>(lvl);
  c.personal_data = r.u8() != 0;
  c.valid_from_ms = r.i64();
  c.valid_until_ms = r.i64();
  c.evidence = r.str16();
  c.created_by = r.str8();
  c.withdrawn = r.u8() != 0;
  c.withdrawn_ms = r.i64();
  c.use_count = r.u64();
  c.last_use_ms = r.i64();
  return c;
}

// Nothing is cut here: an entry is stored as the writer hashed it (it
// bounds the fields first); an oversized one is refused, not shortened.
std::string encode_audit(const audit_entry& e) {
  key_writer w;
  w.u8(1).i64(e.at_ms).str8(e.principal).str8(e.method).str16(e.path).str8(e.subject);
  w.str8(e.consent).str8(e.decision).u64(static_cast<std::uint64_t>(e.status)).str16(e.detail);
  w.str8(e.prev).str8(e.hash);
  return w.take();
}

audit_entry decode_audit(std::uint64_t seq, std::string_view v) {
  key_reader r(v);
  if (r.u8() != 1) throw codec_error("audit entry: unknown format");
  audit_entry e;
  e.seq = seq;
  e.at_ms = r.i64();
  e.principal = r.str8();
  e.method = r.str8();
  e.path = r.str16();
  e.subject = r.str8();
  e.consent = r.str8();
  e.decision = r.str8();
  e.status = static_cast<int>(r.u64());
  e.detail = r.str16();
  e.prev = r.str8();
  e.hash = r.str8();
  return e;
}

}  // namespace store
