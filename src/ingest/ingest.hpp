#pragma once
// Ingestion: finds products in an object store (folders whose names a reader accepts), reads
// their metadata and puts them into the catalogue. Idempotent (a product already catalogued with
// the same size is skipped), incremental (only new or changed products are read), robust (a
// corrupt product is logged, skipped and reported; the rest goes in) and transactional (products
// are committed in batches, all or none, so a crash never leaves half a product).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "catalog/store.hpp"
#include "ingest/reader.hpp"
#include "storage/object_store.hpp"

namespace ds::ingest {

struct IngestOptions {
  std::string bucket = "eodata";
  std::string prefix;           // only products under this key prefix
  std::size_t batch_size = 50;  // products per transaction
  bool quicklooks = true;       // render a PNG quicklook for products that ship none (quicklook.hpp)
  // Publication time given to newly catalogued products (default: now).
  std::function<catalog::Time()> clock = [] { return std::chrono::system_clock::now(); };
};

struct IngestFailure {
  std::string key;
  std::string reason;
};

struct IngestReport {
  std::size_t found = 0;      // product folders recognised
  std::size_t ingested = 0;   // new or changed, now catalogued
  std::size_t unchanged = 0;  // already catalogued as they are
  std::vector<IngestFailure> failures;
  double seconds = 0;
};

// Writes only quicklooks into the store (bucket "quicklooks"); the archive is read, never changed.
IngestReport run_ingest(storage::ObjectStore& store, catalog::CatalogStore& catalogue, const IngestOptions& options);

}  // namespace ds::ingest
