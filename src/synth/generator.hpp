#pragma once
// The generation framework: mission generators plan products (one Task per product), the runner
// executes the tasks on a thread pool and each task writes its product through a ProductWriter,
// which publishes it atomically (temporary directory, then rename) with checksums beside it.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "synth/world.hpp"

namespace ds::synth {

struct SynthOptions {
  std::filesystem::path data_dir;  // the data root; products go to <data>/objects/eodata/<key>
  Region region;
  std::int64_t from_day = 0;       // days since epoch, inclusive
  std::int64_t to_day = 0;         // inclusive
  std::set<std::string> missions;  // s1, s2, s3, s5p, dem
  int scale = 10;                  // 1, 2, 5 or 10: pixel size multiplier
  std::uint64_t seed = 1;
  unsigned threads = 0;                  // 0 = cores
  std::vector<std::int64_t> extra_days;  // further single dates (the demo's dates across the year)
};

// One file of a product, as recorded in the checksum sidecar and manifests.
struct FileEntry {
  std::string path;  // relative to the product root, '/' separated
  std::uint64_t size = 0;
  std::string md5;       // lowercase hex
  std::string sha3_256;  // lowercase hex
};

// Writes the files of one product under a temporary directory; commit() computes checksums,
// writes `<product>.checksums.json` beside the product and renames both into place.
class ProductWriter {
 public:
  ProductWriter(std::filesystem::path objects_root, std::string key);
  ~ProductWriter();  // removes the temporary directory if commit() was not reached
  ProductWriter(const ProductWriter&) = delete;
  ProductWriter& operator=(const ProductWriter&) = delete;

  const std::string& key() const { return key_; }
  // Absolute path for a file inside the product (parent directories created).
  std::filesystem::path path(const std::string& relative);
  void write_text(const std::string& relative, const std::string& text);
  // Size and checksums of a file already written (for manifests written last).
  FileEntry describe(const std::string& relative) const;
  void commit();

  // True when the product is already published (generation is skipped: cached).
  static bool exists(const std::filesystem::path& objects_root, const std::string& key);

 private:
  std::filesystem::path final_;
  std::filesystem::path temp_;
  std::string key_;
  bool committed_ = false;
};

struct Task {
  std::string key;  // object key under the eodata bucket, e.g. Sentinel-2/MSI/L2A/2022/06/15/<name>.SAFE
  std::function<void(ProductWriter&)> run;
};

class MissionGenerator {
 public:
  virtual ~MissionGenerator() = default;
  virtual std::string id() const = 0;  // s1, s2, s3, s5p, dem
  // The products this mission contributes for the options, in a deterministic order.
  virtual std::vector<Task> plan(const SynthOptions& options, const World& world) const = 0;
};

struct SynthReport {
  std::size_t planned = 0;
  std::size_t generated = 0;
  std::size_t cached = 0;
  std::uint64_t bytes = 0;  // of the planned products (not of companions a task writes too)
  double seconds = 0;
};

// The generators built in (explicit registration, no static initialisers).
std::vector<std::unique_ptr<MissionGenerator>> builtin_generators();

// Plans and generates every product for the options; products that already exist are kept.
// Throws ds::Error(invalid_parameter) for an unknown mission; a failing product is reported and
// the others continue, then the run throws ds::Error(internal) naming the failures.
SynthReport run_synth(const SynthOptions& options, const std::function<void(const std::string&)>& progress = {});

// Lowercase hex digests of a file (OpenSSL EVP); "md5" or "sha3-256".
std::string file_digest(const std::filesystem::path& path, const char* algorithm);

// Objects root of a data directory: <data>/objects/eodata.
std::filesystem::path eodata_root(const std::filesystem::path& data_dir);

}  // namespace ds::synth
