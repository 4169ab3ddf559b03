#pragma once
// Object storage: buckets of objects named by keys ("Sentinel-2/MSI/L2A/2022/06/17/<name>.SAFE/
// manifest.safe"), read whole or by byte range, listed S3-style (prefix, delimiter, continuation),
// written atomically by streaming. The local-directory implementation keeps <root>/<bucket>/<key>;
// an S3-backed one joins with the scale-out issue behind the same interface.
//
// Keys and bucket names from requests are validated here, so that a client can never name a path
// outside the store (no "..", no absolute paths, no NUL, no empty segments).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::storage {

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified;
  std::string etag;  // quoted, changes whenever the object does
};

struct ListRequest {
  std::string prefix;
  std::string delimiter;        // "" = flat listing; "/" = one level (folders as common prefixes)
  std::string continuation;     // opaque token from a previous ListResult
  std::string start_after;      // list keys strictly after this one
  std::size_t max_keys = 1000;  // objects + common prefixes per page, 1..1000
};

struct ListResult {
  std::vector<ObjectInfo> objects;           // in key order
  std::vector<std::string> common_prefixes;  // in order, each ending with the delimiter
  bool truncated = false;
  std::string next_continuation;  // set when truncated
};

// Sequential reader of (a range of) one object.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  virtual std::uint64_t size() const = 0;  // bytes this reader will produce
  // Copies up to `capacity` bytes; returns 0 at the end. Throws ds::Error on I/O failure.
  virtual std::size_t read(char* out, std::size_t capacity) = 0;
};

// Streaming writer of one object. Nothing is visible until commit(); a writer destroyed without
// commit() leaves no trace.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual void write(const char* data, std::size_t size) = 0;
  virtual ObjectInfo commit() = 0;
};

// One version of an object, opened once: what head() tells and readers of its ranges, all of
// that very version (replacing the key meanwhile changes neither). Cheaper than head() + get():
// one lookup of the key.
class OpenedObject {
 public:
  virtual ~OpenedObject() = default;
  virtual const ObjectInfo& info() const = 0;
  // `length` bytes from `offset` (all the rest when nullopt). Throws
  // ds::Error(range_not_satisfiable) when offset is beyond the end.
  virtual std::unique_ptr<ObjectReader> read(std::uint64_t offset, std::optional<std::uint64_t> length) const = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual std::vector<std::string> buckets() const = 0;
  virtual bool bucket_exists(const std::string& bucket) const = 0;
  // Creates the bucket if it does not exist. Throws ds::Error(invalid_parameter) for a bad name.
  virtual void create_bucket(const std::string& bucket) = 0;

  virtual std::optional<ObjectInfo> head(const std::string& bucket, const std::string& key) const = 0;
  // The object opened for reading, or nullptr when it does not exist.
  virtual std::shared_ptr<const OpenedObject> open(const std::string& bucket, const std::string& key) const = 0;
  // Reads `length` bytes from `offset` (all the rest when length is nullopt). Throws
  // ds::Error(not_found) when the object does not exist, (range_not_satisfiable) when offset is
  // beyond its end.
  virtual std::unique_ptr<ObjectReader> get(const std::string& bucket, const std::string& key, std::uint64_t offset = 0,
                                            std::optional<std::uint64_t> length = std::nullopt) const = 0;
  // Throws ds::Error(not_found) for an unknown bucket, (invalid_parameter) for a bad token.
  virtual ListResult list(const std::string& bucket, const ListRequest& request) const = 0;
  virtual std::unique_ptr<ObjectWriter> put(const std::string& bucket, const std::string& key) = 0;
  // Returns false when there was nothing to delete.
  virtual bool remove(const std::string& bucket, const std::string& key) = 0;

  // A path GDAL can open for the object (a local path, or /vsis3/... for S3).
  virtual std::string vsi_path(const std::string& bucket, const std::string& key) const = 0;
};

// Throws ds::Error(invalid_parameter, parameter "key") unless `key` is a safe object key.
void validate_key(std::string_view key);
// Throws ds::Error(invalid_parameter, parameter "bucket") unless `bucket` follows S3's naming rules.
void validate_bucket(std::string_view bucket);

// Objects under <root>/<bucket>/<key>. Names starting with ".tmp-" are reserved for writes in
// progress and never listed.
std::unique_ptr<ObjectStore> make_local_store(std::filesystem::path root);

}  // namespace ds::storage
