// Zeroed blocks ahead of LMDB's last page (store/headroom.hpp): written for
// small durable commits, not for bulk ones, never over a committed page.
#include <doctest/doctest.h>
#include <lmdb.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "store/environment.hpp"
#include "store/headroom.hpp"
#include "store/writer.hpp"
#include "test_util.hpp"

namespace {

std::uint64_t file_size(const std::string& f) { return std::filesystem::file_size(f); }

struct raw_env {
  MDB_env* env = nullptr;
  std::string file;
  explicit raw_env(const std::string& dir) : file(dir + "/data.mdb") {
    std::filesystem::create_directories(dir);
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_mapsize(env, std::size_t{1} << 30) == 0);
    REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0600) == 0);
  }
  ~raw_env() { mdb_env_close(env); }
  std::uint64_t used() const {
    MDB_envinfo i;
    MDB_stat s;
    mdb_env_info(env, &i);
    mdb_env_stat(env, &s);
    return (i.me_last_pgno + 1) * s.ms_psize;
  }
  // One write transaction: keep() first, as the writer does, then `n`
  // values of `bytes` each under keys "<prefix>-<i>". Returns keep()'s bytes.
  std::uint64_t commit(store::headroom& room, const std::string& prefix, int n, std::size_t bytes) {
    MDB_txn* t = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &t) == 0);
    auto wrote = room.keep(env);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(t, nullptr, 0, &dbi) == 0);
    std::string v(bytes, 'v');
    for (int i = 0; i < n; ++i) {
      std::string k = prefix + "-" + std::to_string(i);
      MDB_val kv{k.size(), k.data()}, vv{v.size(), v.data()};
      REQUIRE(mdb_put(t, dbi, &kv, &vv, 0) == 0);
    }
    REQUIRE(mdb_txn_commit(t) == 0);
    return wrote;
  }
  int count() const {
    MDB_txn* t = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, MDB_RDONLY, &t) == 0);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(t, nullptr, 0, &dbi) == 0);
    MDB_stat s;
    mdb_stat(t, dbi, &s);
    mdb_txn_abort(t);
    return static_cast<int>(s.ms_entries);
  }
};

bool zeros_from(const std::string& file, std::uint64_t from) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  char c;
  while (in.get(c))
    if (c != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("headroom: small commits find zeroed blocks past the last page, bulk ones grow the file themselves") {
  test::temp_dir d;
  store::headroom room;
  int c_rows = 0;
  {
    raw_env e(d / "data");
    CHECK(e.commit(room, "a", 10, 100) > 0);  // a new store: room made
    CHECK(file_size(e.file) >= e.used() + store::headroom::low_water);
    CHECK(file_size(e.file) <= e.used() + store::headroom::chunk);
    CHECK(zeros_from(e.file, e.used()));
    CHECK(e.commit(room, "b", 10, 100) == 0);  // room left: nothing written
    // Small commits until the room runs low: it is made again, each commit
    // landing on blocks the file already has.
    std::uint64_t made = 0;
    for (int i = 0; i < 200 && !made; ++i) {
      auto before = file_size(e.file);
      made = e.commit(room, "c" + std::to_string(i), 4, 1000);
      c_rows += 4;
      if (!made) CHECK(file_size(e.file) == before);
    }
    CHECK(made > 0);
    CHECK(e.commit(room, "bulk", 1, std::size_t{6} << 20) == 0);  // 6 MiB: past the room
    CHECK(e.commit(room, "after-bulk", 1, 100) == 0);  // the previous commit grew the file 6 MiB: a bulk writer
    CHECK(file_size(e.file) < e.used() + store::headroom::low_water);
    CHECK(e.commit(room, "small-again", 1, 100) > 0);
    CHECK(zeros_from(e.file, e.used()));
  }
  raw_env again(d / "data");  // every committed value is where it was
  CHECK(again.count() == 10 + 10 + c_rows + 3);
  MDB_txn* t = nullptr;
  REQUIRE(mdb_txn_begin(again.env, nullptr, MDB_RDONLY, &t) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(t, nullptr, 0, &dbi) == 0);
  for (std::string k : {"a-9", "b-0", "c0-3", "bulk-0", "after-bulk-0", "small-again-0"}) {
    MDB_val kv{k.size(), k.data()}, vv;
    CHECK_MESSAGE(mdb_get(t, dbi, &kv, &vv) == 0, k);
  }
  mdb_txn_abort(t);
}

TEST_CASE("headroom: the writer makes room for durable commits, not for a bulk import's") {
  test::temp_dir d;
  auto one_row = [](bool durable) {
    store::write_batch b;
    b.origin = "js.nanjing";
    b.durable = durable;
    b.rows.push_back({"tax", "91350200776049653A", "2026-09-VAT", "2026-10-15", "tax bureau",
                      R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00"})", 1, {}});
    return b;
  };
  std::uint64_t durable_size = 0, bulk_size = 0;
  {
    auto env = store::environment::open({d / "durable"});
    store::writer(*env).submit(one_row(true)).get();
    durable_size = file_size(d / "durable/data.mdb");
  }
  {
    auto env = store::environment::open({d / "bulk"});
    store::writer(*env).submit(one_row(false)).get();
    bulk_size = file_size(d / "bulk/data.mdb");
  }
  CHECK(durable_size >= bulk_size + store::headroom::low_water);
}
