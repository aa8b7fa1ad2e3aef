// LMDB plumbing shared by the store's .cpp files. Private to store/: no
// header outside store/ includes this one.
#pragma once

#include <lmdb.h>

#include <string>
#include <string_view>
#include <optional>

#include "store/environment.hpp"

namespace store {

// Table names say key -> value (OpenLDAP back-mdb style).
struct tables {
  MDB_dbi meta{};         // name -> value (schema_version, instance_id, ...)
  MDB_dbi subject2id{};   // (subject, category, record_id) -> u64 id; also the subject index
  MDB_dbi id2record{};    // u64 id -> current record value (ids grow, so appends)
  MDB_dbi id2history{};   // (u64 id, u64 version) -> a superseded record value
  MDB_dbi seq2change{};   // u64 seq -> change (id, version, op)
  MDB_dbi quarantine{};   // u64 seq -> JSON: file, line, field, reason
  MDB_dbi counts{};       // category -> u64 live records
  MDB_dbi peer2cursor{};  // peer node id -> (peer store instance, last applied seq)
  MDB_dbi events{};       // u64 seq -> JSON: integrity and security events
  MDB_dbi digests{};      // (str8 division, str8 category) -> (u64 live count, u64 hash sum)
  MDB_dbi node2entry{};   // child node id -> registry entry (format 3)
  MDB_dbi serial2revocation{};  // certificate serial (hex) -> revocation (format 3)
  MDB_dbi id2principal{};     // bank or portal id -> principal (format 4)
  MDB_dbi token2principal{};  // sha256(bearer token) hex -> principal id
  MDB_dbi cert2principal{};   // sha256(client certificate) hex -> principal id
  MDB_dbi consent{};          // (str8 subject, str8 grantee, str8 id) -> consent
  MDB_dbi consentid2key{};    // consent id -> its key in `consent`
  MDB_dbi seq2audit{};        // u64 seq -> audit entry (hash-chained)
  MDB_dbi subject2audit{};    // (str8 subject, u64 seq) -> "" : the enterprise's access log
};

struct environment::impl {
  MDB_env* env = nullptr;
  void* map = nullptr;  // where data.mdb is mapped (see release_mapped_pages)
  tables t;
};

// Throws store_error naming `what` and LMDB's reason, with advice for the
// errors an operator can act on.
[[noreturn]] void throw_lmdb(int rc, const std::string& what);
inline void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw_lmdb(rc, what);
}

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view to_sv(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// RAII transaction: aborts unless committed.
class txn {
public:
  txn(MDB_env* env, bool write);
  ~txn();
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  void commit();
  MDB_txn* get() const { return t_; }
  std::optional<std::string_view> get(MDB_dbi dbi, std::string_view key) const;
  void put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  std::optional<std::string> last_key(MDB_dbi dbi) const;

private:
  MDB_txn* t_ = nullptr;
};

// Raises meta's version_floor past now (in microseconds) and past the
// floor held, in `w`: a store that went back (restored, a VM snapshot) then
// never gives its own records versions the network may hold with other
// content. Returns the new floor.
std::uint64_t raise_version_floor_in(txn& w, const tables& t);

// RAII cursor.
class cursor {
public:
  cursor(const txn& t, MDB_dbi dbi);
  ~cursor();
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;
  // Positions at the first key >= `key` (or the first key when empty).
  bool seek(std::string_view key, std::string_view& k, std::string_view& v);
  bool next(std::string_view& k, std::string_view& v);
  bool last(std::string_view& k, std::string_view& v);
  bool prev(std::string_view& k, std::string_view& v);
  // Appends past the last key. A cursor kept open for a whole transaction
  // stays at the end, so each append skips the search from the root.
  void append(std::string_view key, std::string_view value);
  // Puts only if `key` is absent (one B-tree search); otherwise leaves it and
  // returns the value already there. A key on the leaf the cursor
  // is on is found within that page, without a search from the root: keys
  // put in ascending order mostly land there.
  std::optional<std::string_view> put_if_absent(std::string_view key, std::string_view value);
  MDB_cursor* get() const { return c_; }

private:
  bool op(MDB_cursor_op o, std::string_view& k, std::string_view& v);
  MDB_cursor* c_ = nullptr;
};

MDB_dbi open_table(MDB_txn* t, const char* name);
tables open_tables(MDB_txn* t);
std::string random_hex(std::size_t bytes);

// The next free u64 key of a table keyed by big-endian integers.
std::uint64_t next_u64_key(const txn& t, MDB_dbi dbi);

}  // namespace store
