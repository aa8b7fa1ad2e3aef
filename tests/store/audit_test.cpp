// The audit log's hash chain against tampering done behind the store's back
// (raw LMDB, as someone with the data file would): an edited, a removed and
// a swapped entry are each found.
#include <doctest/doctest.h>

#include <lmdb.h>

#include <filesystem>

#include "node/api/api.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

void write_entries(const std::string& dir, int n) {
  store::set_chain_hash(&node::api::chain_hash);
  auto env = store::environment::open({dir});
  store::writer w(*env);
  for (int i = 0; i < n; ++i) {
    store::write_batch b;
    store::access_op op;
    op.entry = {0, 0, "bank-a", "GET", "/api/v1/subjects/x/records?n=" + std::to_string(i), "x", "c-1", "allowed", 200, "", "", ""};
    b.access.push_back(std::move(op));
    w.submit(std::move(b)).get();
  }
}

// One entry, through the writer as the API writes it.
void write_entry(const std::string& dir, store::audit_entry e) {
  store::set_chain_hash(&node::api::chain_hash);
  auto env = store::environment::open({dir});
  store::write_batch b;
  store::access_op op;
  op.entry = std::move(e);
  b.access.push_back(std::move(op));
  store::writer(*env).submit(std::move(b)).get();
}

// Opens the store's data file directly and hands `fn` the audit table.
template <class Fn>
void tamper(const std::string& dir, Fn fn) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 32);
  mdb_env_set_mapsize(env, std::size_t{1} << 30);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0600) == 0);
  MDB_txn* t = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &t) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(t, "seq2audit", 0, &dbi) == 0);
  fn(t, dbi);
  REQUIRE(mdb_txn_commit(t) == 0);
  mdb_env_close(env);
}

std::string key_of(std::uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) k[static_cast<std::size_t>(i)] = static_cast<char>(seq & 0xff);
  return k;
}

std::string get(MDB_txn* t, MDB_dbi dbi, const std::string& key) {
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
  REQUIRE(mdb_get(t, dbi, &k, &v) == 0);
  return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
}

void put(MDB_txn* t, MDB_dbi dbi, const std::string& key, const std::string& value) {
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{value.size(), const_cast<char*>(value.data())};
  REQUIRE(mdb_put(t, dbi, &k, &v, 0) == 0);
}

std::string verdict(const std::string& dir, std::uint64_t& n) {
  auto env = store::environment::open({dir});
  return node::api::verify_audit_chain(*env, n);
}

std::uint64_t first_seq(const std::string& dir) {
  auto env = store::environment::open({dir});
  std::uint64_t first = 0;
  store::reader(*env).for_each_audit(0, [&](const store::audit_entry& e) { return first = e.seq, false; });
  return first;
}

}  // namespace

TEST_CASE("audit: the chain holds as written, and an edited, removed or swapped entry is found") {
  test::temp_dir d;
  std::string base = d / "base";
  write_entries(base, 5);
  std::uint64_t n = 0;
  CHECK(verdict(base, n).empty());
  CHECK(n == 5);
  auto third = first_seq(base) + 2;
  auto copy = [&](const std::string& name) {
    fs::create_directories(d / name);
    fs::copy(base, d / name, fs::copy_options::recursive);
    return d / name;
  };
  SUBCASE("one byte flipped") {
    std::string dir = copy("flip");
    tamper(dir, [&](MDB_txn* t, MDB_dbi dbi) {
      auto v = get(t, dbi, key_of(third));
      auto at = v.find("records?n=2");
      REQUIRE(at != std::string::npos);
      v[at + 10] = '7';
      put(t, dbi, key_of(third), v);
    });
    auto why = verdict(dir, n);
    CHECK(why.find("entry " + std::to_string(third) + " was altered") != std::string::npos);
  }
  SUBCASE("one entry deleted") {
    std::string dir = copy("delete");
    tamper(dir, [&](MDB_txn* t, MDB_dbi dbi) {
      auto key = key_of(third);
      MDB_val k{key.size(), key.data()};
      REQUIRE(mdb_del(t, dbi, &k, nullptr) == 0);
    });
    CHECK(verdict(dir, n).find("entry " + std::to_string(third) + " is missing") != std::string::npos);
  }
  SUBCASE("the newest two entries cut off: the chain alone holds, the head recorded before does not") {
    std::string dir = copy("cut");
    node::api::audit_head head;
    {
      auto env = store::environment::open({dir});
      std::uint64_t m = 0;
      REQUIRE(node::api::verify_audit_chain(*env, m, 0, &head).empty());
      CHECK(head.seq == third + 2);
      CHECK(head.hash.size() == 64);
      CHECK(node::api::check_audit_head(*env, head).empty());
    }
    tamper(dir, [&](MDB_txn* t, MDB_dbi dbi) {
      for (auto seq : {third + 1, third + 2}) {
        auto key = key_of(seq);
        MDB_val k{key.size(), key.data()};
        REQUIRE(mdb_del(t, dbi, &k, nullptr) == 0);
      }
    });
    CHECK(verdict(dir, n).empty());  // what a hash chain cannot see by itself
    auto env = store::environment::open({dir});
    CHECK(node::api::check_audit_head(*env, head).find("is not in the log: entries were cut off the end") != std::string::npos);
    auto other = head;
    other.seq = third;
    CHECK(node::api::check_audit_head(*env, other).find("as recorded earlier: the log was replaced or rewritten") != std::string::npos);
  }
  SUBCASE("two entries swapped") {
    std::string dir = copy("swap");
    tamper(dir, [&](MDB_txn* t, MDB_dbi dbi) {
      auto a = get(t, dbi, key_of(third)), b = get(t, dbi, key_of(third + 1));
      put(t, dbi, key_of(third), b);
      put(t, dbi, key_of(third + 1), a);
    });
    CHECK_FALSE(verdict(dir, n).empty());
  }
}

// A field is hashed exactly as stored: a U+FFFD (which the writer puts for
// a byte that is not UTF-8) edited into a raw invalid byte must not hash the
// same, as it would if the text were made printable again before hashing.
TEST_CASE("audit: a character edited into an invalid byte is found") {
  test::temp_dir d;
  std::string dir = d / "s";
  write_entry(dir, {0, 0, "bank-a", "GET", "/api/v1/subjects/x/records?q=\xff", "x", "c-1", "allowed", 200, "", "", ""});
  std::uint64_t n = 0;
  REQUIRE(verdict(dir, n).empty());
  auto seq = first_seq(dir);
  tamper(dir, [&](MDB_txn* t, MDB_dbi dbi) {
    auto e = store::decode_audit(seq, get(t, dbi, key_of(seq)));
    auto at = e.path.find("\xEF\xBF\xBD");
    REQUIRE(at != std::string::npos);  // stored printable
    e.path.replace(at, 3, "\xfe");
    put(t, dbi, key_of(seq), store::encode_audit(e));
  });
  CHECK(verdict(dir, n).find("entry " + std::to_string(seq) + " was altered") != std::string::npos);
}

// Invalid bytes grow threefold when made printable: a bound taken before
// that once let an entry outgrow its encoding, which cut it after it was
// hashed, and every such request (even one without credentials) broke the
// chain. Fields are bounded after, and the chain holds.
TEST_CASE("audit: fields full of invalid bytes are bounded as hashed, and the chain holds") {
  test::temp_dir d;
  std::string dir = d / "s";
  write_entry(dir, {0, 0, std::string(300, '\xff'), "GET", "/api/v1/subjects/x/records?x=" + std::string(1500, '\xff'),
                    std::string(100, '\xc3'), "c-1", "refused", 401, std::string(3000, '\xfe'), "", ""});
  std::uint64_t n = 0;
  CHECK(verdict(dir, n).empty());
  CHECK(n == 1);
  auto env = store::environment::open({dir});
  store::reader(*env).for_each_audit(0, [&](const store::audit_entry& e) {
    CHECK(e.path.rfind("/api/v1/subjects/x/records?x=\xEF\xBF\xBD", 0) == 0);
    CHECK(e.path.size() <= store::audit_long_field_bytes);
    CHECK(e.detail.size() <= store::audit_long_field_bytes);
    CHECK(e.principal.size() <= store::audit_short_field_bytes);
    CHECK(e.subject.size() <= store::audit_short_field_bytes);
    for (const auto* f : {&e.path, &e.detail, &e.principal, &e.subject}) CHECK(store::model::check_utf8(*f).empty());
    return true;
  });
}

// The portal's access log reads a page without copying the subject's
// history: next to subjects that sort just before and after it ("w", and
// "xy", which shares its first letter), newest first, from below `before`,
// after `skip`, with `more` and `total` right at each edge.
TEST_CASE("audit: a subject's access log pages newest first, and stops at its neighbours' entries") {
  test::temp_dir d;
  store::set_chain_hash(&node::api::chain_hash);
  auto env = store::environment::open({d / "s"});
  std::vector<std::uint64_t> x_seqs;  // oldest first
  {
    store::writer w(*env);
    for (int i = 0; i < 10; ++i)
      for (const char* subject : {"w", "x", "xy"}) {
        if (std::string(subject) == "w" && i >= 3) continue;
        store::write_batch b;
        store::access_op op;
        op.entry = {0, 0, "bank-a", "GET", "/api/v1/subjects/" + std::string(subject) + "/records", subject, "c-1", "allowed", 200, "", "", ""};
        b.access.push_back(std::move(op));
        w.submit(std::move(b)).get();
        if (std::string(subject) == "x") x_seqs.push_back(store::reader(*env).last_audit_seq());
      }
  }
  store::reader rd(*env);
  auto seqs = [](const std::vector<store::audit_entry>& es) {
    std::vector<std::uint64_t> out;
    for (const auto& e : es) out.push_back(e.seq);
    return out;
  };
  std::size_t total = 0;
  bool more = false;
  auto newest = rd.audit_for_subject("x", 3, total, 0, 0, &more);
  CHECK(total == 10);
  CHECK(more);
  CHECK(seqs(newest) == std::vector<std::uint64_t>{x_seqs[9], x_seqs[8], x_seqs[7]});
  for (const auto& e : newest) CHECK(e.subject == "x");
  auto next = rd.audit_for_subject("x", 3, total, 0, x_seqs[7], &more);
  CHECK(seqs(next) == std::vector<std::uint64_t>{x_seqs[6], x_seqs[5], x_seqs[4]});
  auto tail = rd.audit_for_subject("x", 5, total, 8, 0, &more);  // the newest 8 left out: the oldest two
  CHECK(seqs(tail) == std::vector<std::uint64_t>{x_seqs[1], x_seqs[0]});
  CHECK_FALSE(more);
  auto exact = rd.audit_for_subject("x", 2, total, 8, 0, &more);  // the page ends at the first entry
  CHECK(exact.size() == 2);
  CHECK_FALSE(more);
  CHECK(rd.audit_for_subject("x", 3, total, 0, x_seqs[0], &more).empty());  // nothing older than the first
  CHECK_FALSE(more);
  CHECK(total == 10);
  CHECK(rd.audit_for_subject("xy", 100, total, 0, 0, &more).size() == 10);
  CHECK(total == 10);
  CHECK(rd.audit_for_subject("w", 100, total, 0, 0, &more).size() == 3);
  CHECK(rd.audit_for_subject("z", 100, total, 0, 0, &more).empty());  // between keys ("\x01z" sorts before "\x02xy")
  CHECK(total == 0);
  CHECK_FALSE(more);
  CHECK(rd.audit_for_subject("zzz", 100, total, 0, 0, &more).empty());  // past every key: the walk starts at the last
  CHECK(total == 0);
  CHECK_FALSE(more);
  CHECK(rd.audit_for_subject("a", 100, total, 0, 0, &more).empty());  // before every key
  CHECK(total == 0);
}
