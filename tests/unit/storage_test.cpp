#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "storage/object_store.hpp"

namespace fs = std::filesystem;
using namespace ds::storage;

namespace {

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ds-store-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    store_ = make_local_store(root_);
    store_->create_bucket("eodata");
  }
  void TearDown() override { fs::remove_all(root_); }

  void put(const std::string& key, const std::string& body) {
    auto w = store_->put("eodata", key);
    w->write(body.data(), body.size());
    w->commit();
  }
  std::string get(const std::string& key, std::uint64_t offset = 0, std::optional<std::uint64_t> len = std::nullopt) {
    auto r = store_->get("eodata", key, offset, len);
    std::string out;
    char buf[3];
    while (auto n = r->read(buf, sizeof buf)) out.append(buf, n);
    EXPECT_EQ(out.size(), r->size());
    return out;
  }
  std::vector<std::string> keys(const ListResult& r) {
    std::vector<std::string> out;
    for (const auto& o : r.objects) out.push_back(o.key);
    return out;
  }

  fs::path root_;
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace

TEST(ObjectKeys, RejectsKeysThatCouldEscapeTheStore) {
  EXPECT_NO_THROW(validate_key("Sentinel-2/MSI/L2A/2022/06/17/S2A.SAFE/manifest.safe"));
  EXPECT_NO_THROW(validate_key("a b/ünïcode+(1).tif"));
  for (const char* bad : {"", "/etc/passwd", "a/../../b", "..", "a/./b", "a//b", "a/", ".tmp-x/y"}) {
    EXPECT_THROW(validate_key(bad), ds::Error) << bad;
  }
  EXPECT_THROW(validate_key(std::string("a\0b", 3)), ds::Error);
  EXPECT_THROW(validate_key(std::string(1025, 'a')), ds::Error);
}

TEST(ObjectKeys, BucketNamesFollowS3Rules) {
  EXPECT_NO_THROW(validate_bucket("eodata"));
  EXPECT_NO_THROW(validate_bucket("user-42.results"));
  for (const char* bad : {"ab", "UPPER", "-start", "end-", "a..b", "under_score", "../x"}) {
    EXPECT_THROW(validate_bucket(bad), ds::Error) << bad;
  }
}

TEST_F(LocalStoreTest, PutGetRangeHeadAndDelete) {
  put("a/b/c.txt", "0123456789");
  EXPECT_EQ(get("a/b/c.txt"), "0123456789");
  EXPECT_EQ(get("a/b/c.txt", 3, 4), "3456");
  EXPECT_EQ(get("a/b/c.txt", 8), "89");
  EXPECT_EQ(get("a/b/c.txt", 8, 100), "89");
  auto h = store_->head("eodata", "a/b/c.txt");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->size, 10u);
  EXPECT_EQ(h->etag.front(), '"');
  EXPECT_FALSE(store_->head("eodata", "a/b"));  // a folder is not an object
  try {
    store_->get("eodata", "a/b/c.txt", 11);
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::range_not_satisfiable);
  }
  try {
    store_->get("eodata", "missing");
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::not_found);
  }
  EXPECT_TRUE(store_->remove("eodata", "a/b/c.txt"));
  EXPECT_FALSE(store_->remove("eodata", "a/b/c.txt"));
  EXPECT_FALSE(fs::exists(root_ / "eodata" / "a"));  // empty folders are dropped
  EXPECT_EQ(store_->vsi_path("eodata", "x/y.tif"), (root_ / "eodata" / "x/y.tif").string());
}

TEST_F(LocalStoreTest, WritesAreAtomic_AbandonedWritesLeaveNothing) {
  {
    auto w = store_->put("eodata", "half.bin");
    w->write("partial", 7);
    EXPECT_TRUE(keys(store_->list("eodata", {})).empty());  // invisible before commit
  }                                                         // destroyed without commit
  EXPECT_FALSE(store_->head("eodata", "half.bin"));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_ / "eodata")) ++entries;
  EXPECT_EQ(entries, 0u);
  put("obj", "v1");
  put("obj", "version-2");  // replaced whole
  EXPECT_EQ(get("obj"), "version-2");
}

TEST_F(LocalStoreTest, ObjectAndPrefixOfTheSameNameConflict) {
  put("a/b", "x");
  try {
    put("a", "y");
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::conflict);
  }
  try {
    put("a/b/c", "z");
    FAIL();
  } catch (const ds::Error& e) {
    EXPECT_EQ(e.code(), ds::ErrorCode::conflict);
  }
}

TEST_F(LocalStoreTest, ListsInS3KeyOrderWithPrefixAndDelimiter) {
  // '-' (0x2d) sorts before '/' (0x2f): "a-b" comes before "a/..." in S3 order.
  for (const char* k : {"a/x", "a-b", "a/y/z", "a0", "b/c/d", "b/c/e", "b/f", "c"}) put(k, k);
  EXPECT_EQ(keys(store_->list("eodata", {})),
            (std::vector<std::string>{"a-b", "a/x", "a/y/z", "a0", "b/c/d", "b/c/e", "b/f", "c"}));

  ListRequest top;
  top.delimiter = "/";
  auto r = store_->list("eodata", top);
  EXPECT_EQ(keys(r), (std::vector<std::string>{"a-b", "a0", "c"}));
  EXPECT_EQ(r.common_prefixes, (std::vector<std::string>{"a/", "b/"}));

  ListRequest in_b;
  in_b.prefix = "b/";
  in_b.delimiter = "/";
  r = store_->list("eodata", in_b);
  EXPECT_EQ(keys(r), (std::vector<std::string>{"b/f"}));
  EXPECT_EQ(r.common_prefixes, (std::vector<std::string>{"b/c/"}));

  ListRequest partial;
  partial.prefix = "b/c/";
  EXPECT_EQ(keys(store_->list("eodata", partial)), (std::vector<std::string>{"b/c/d", "b/c/e"}));
  partial.prefix = "a";  // not ending at a folder boundary
  EXPECT_EQ(keys(store_->list("eodata", partial)), (std::vector<std::string>{"a-b", "a/x", "a/y/z", "a0"}));

  ListRequest other_delim;
  other_delim.delimiter = "-";
  r = store_->list("eodata", other_delim);
  EXPECT_EQ(r.common_prefixes, (std::vector<std::string>{"a-"}));
}

TEST_F(LocalStoreTest, PagesWithContinuationTokensAndStartAfter) {
  std::vector<std::string> all;
  for (int i = 0; i < 25; ++i) {
    const std::string k = "p/" + std::string(1, static_cast<char>('a' + i % 5)) + "/" + std::to_string(100 + i);
    put(k, "x");
    all.push_back(k);
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> seen;
  ListRequest req;
  req.max_keys = 7;
  int pages = 0;
  while (true) {
    auto r = store_->list("eodata", req);
    ++pages;
    for (const auto& o : r.objects) seen.push_back(o.key);
    if (!r.truncated) break;
    req.continuation = r.next_continuation;
  }
  EXPECT_EQ(seen, all);
  EXPECT_EQ(pages, 4);

  ListRequest after;
  after.start_after = all[20];
  EXPECT_EQ(keys(store_->list("eodata", after)), std::vector<std::string>(all.begin() + 21, all.end()));

  ListRequest bad;
  bad.continuation = "not-a-token";
  EXPECT_THROW(store_->list("eodata", bad), ds::Error);
  ListRequest zero;
  zero.max_keys = 0;
  EXPECT_TRUE(store_->list("eodata", zero).objects.empty());
}

TEST_F(LocalStoreTest, WritesInProgressAndUnknownBucketsAreNotListed) {
  fs::create_directories(root_ / "eodata" / ".tmp-S2A.SAFE-123" / "GRANULE");
  std::ofstream(root_ / "eodata" / ".tmp-S2A.SAFE-123" / "GRANULE" / "x") << "x";
  put("real", "1");
  EXPECT_EQ(keys(store_->list("eodata", {})), (std::vector<std::string>{"real"}));
  EXPECT_THROW(store_->list("nobucket", {}), ds::Error);
  fs::create_directories(root_ / "Not_A_Bucket");
  EXPECT_EQ(store_->buckets(), (std::vector<std::string>{"eodata"}));
}

TEST_F(LocalStoreTest, ConcurrentWritersOfOneKeyLeaveOneWholeVersion) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t] {
      const std::string body(100000, static_cast<char>('a' + t));
      for (int i = 0; i < 5; ++i) put("same/key", body);
    });
  }
  for (auto& t : threads) t.join();
  const auto v = get("same/key");
  ASSERT_EQ(v.size(), 100000u);
  EXPECT_EQ(v.find_first_not_of(v.front()), std::string::npos);
}
