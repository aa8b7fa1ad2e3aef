// Who may read what (PRODUCT.md §8, DOMAIN.md): the API's principals (banks
// and the enterprise portal), the enterprises' consents, and the
// hash-chained audit log of every API request. Plain data here; the writer
// applies access_ops in its transaction, the reader looks them up.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace store {

struct principal {
  std::string id;    // as in `admin bank add --id`
  std::string kind;  // bank | portal
  std::string name;
  std::string cert_sha256;   // hex fingerprint of its client certificate, or empty
  std::string token_sha256;  // hex SHA-256 of its bearer token, or empty (never the token)
  std::int64_t created_ms = 0;
  // `admin bank|portal suspend`: refused (403 suspended) until resumed.
  bool suspended = false;
  std::string suspended_reason;
  std::int64_t changed_ms = 0;  // last suspend, resume or new token
};

enum class consent_level : std::uint8_t { verify = 1, summary = 2, detail = 3 };
std::string_view to_string(consent_level l);
std::optional<consent_level> parse_consent_level(std::string_view s);

struct consent {
  std::string id, subject, grantee, purpose;
  std::vector<std::string> categories;
  consent_level level = consent_level::verify;
  bool personal_data = false;
  std::int64_t valid_from_ms = 0, valid_until_ms = 0;
  std::string evidence;
  std::string created_by;      // the portal
  bool withdrawn = false;
  std::int64_t withdrawn_ms = 0;
  std::uint64_t use_count = 0;
  std::int64_t last_use_ms = 0;
  // active | withdrawn | expired, at `now_ms`.
  std::string status(std::int64_t now_ms) const;
};

// One API request, allowed or refused. `seq`, `at_ms`, `prev` and `hash`
// are set by the writer: hash = chain(prev, the entry's canonical text).
struct audit_entry {
  std::uint64_t seq = 0;
  std::int64_t at_ms = 0;
  std::string principal, method, path, subject, consent, decision;  // decision: allowed | refused
  int status = 0;
  std::string detail;
  std::string prev, hash;  // hex
};

// Bounds on an entry's text fields, in bytes after invalid UTF-8 became
// U+FFFD: principal, method, subject, consent and decision; path and detail.
constexpr std::size_t audit_short_field_bytes = 240;
constexpr std::size_t audit_long_field_bytes = 2000;

// The canonical text an entry's hash covers (everything but `hash`).
std::string audit_text(const audit_entry& e);

// The chain's hash function (SHA-256 in the node; store/ has no crypto):
// hex of H(prev_hex || text). Set once per process before audit writes.
using chain_hash = std::function<std::string(std::string_view prev_hex, std::string_view text)>;
void set_chain_hash(chain_hash h);
const chain_hash& get_chain_hash();

struct access_op {
  enum class kind : std::uint8_t {
    put_principal, put_consent, withdraw_consent, use_consent, audit,
    suspend_principal,  // who.id, who.suspended (true: suspend, false: resume), who.suspended_reason
    set_token,          // who.id, who.token_sha256: the new token; the old one stops working
    carry_principal,    // who, whole, over what is stored (restore: the replaced store's is newer)
    carry_audit,        // entry, whole and as hashed: the next link of this chain (restore: written
                        // after the backup); refused unless it continues the chain and its hash holds
  } what = kind::audit;
  principal who;
  consent grant;          // put_consent: whole; withdraw/use: grant.id
  audit_entry entry;      // audit, carry_audit
};

std::string encode_principal(const principal& p);
principal decode_principal(std::string_view v);
std::string encode_consent(const consent& c);
consent decode_consent(std::string_view v);
std::string encode_audit(const audit_entry& e);
audit_entry decode_audit(std::uint64_t seq, std::string_view v);

}  // namespace store
