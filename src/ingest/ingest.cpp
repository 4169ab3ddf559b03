#include "ingest/ingest.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/geometry.hpp"
#include "core/log.hpp"
#include "ingest/quicklook.hpp"
#include "ingest/support.hpp"

namespace ds::ingest {
namespace {

using detail::last_segment;
using detail::read_text;

// Total size of the objects under a product folder.
std::uint64_t folder_size(const storage::ObjectStore& store, const std::string& bucket, const std::string& key) {
  std::uint64_t total = 0;
  storage::ListRequest req;
  req.prefix = key + "/";
  while (true) {
    auto page = store.list(bucket, req);
    for (const auto& o : page.objects) total += o.size;
    if (!page.truncated) break;
    req.continuation = page.next_continuation;
  }
  return total;
}

// Archives may carry `<product>.checksums.json` beside a product (dataspace synth writes one; an
// operator's pipeline can too): {"files":[{"path","size","md5","sha3-256"}]}. Each listed file's
// checksums go to the asset of that path. A malformed sidecar is ignored with a warning: it is
// an optional extra, not the product.
void add_sidecar_checksums(const storage::ObjectStore& store, const std::string& bucket, const std::string& key,
                           catalog::Product& p) {
  const std::string sidecar = key + ".checksums.json";
  if (!store.head(bucket, sidecar)) return;
  try {
    const auto doc = nlohmann::json::parse(read_text(store, bucket, sidecar));
    std::map<std::string, const nlohmann::json*> by_path;
    for (const auto& f : doc.at("files")) by_path[f.at("path").template get<std::string>()] = &f;
    for (auto& a : p.assets) {
      const auto it = by_path.find(a.path);
      if (it == by_path.end()) continue;
      a.checksums.clear();
      if (it->second->contains("md5"))
        a.checksums.push_back({"MD5", it->second->at("md5").template get<std::string>()});
      if (it->second->contains("sha3-256")) {
        a.checksums.push_back({"SHA3-256", it->second->at("sha3-256").template get<std::string>()});
      }
    }
  } catch (const std::exception& e) {
    log::warn("ingest: {} ignored: {}", sidecar, e.what());
  }
}

}  // namespace

IngestReport run_ingest(storage::ObjectStore& store, catalog::CatalogStore& catalogue, const IngestOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const auto readers = builtin_readers();
  IngestReport report;
  std::vector<catalog::Product> batch;

  auto flush = [&] {
    if (batch.empty()) return;
    report.ingested += catalogue.upsert(batch);
    batch.clear();
  };

  auto consider = [&](const std::string& key, const ProductReader& reader) {
    ++report.found;
    const std::string name = last_segment(key);
    try {
      const auto size = folder_size(store, options.bucket, key);
      // Names are unique in an archive: a catalogued product of the same size is the same product.
      // (A Sentinel-5P folder <name> holds the product <name>.nc.)
      for (const std::string& n : {name, name + ".nc"}) {
        if (auto existing = catalogue.get_by_name(n); existing && existing->content_length == size) {
          ++report.unchanged;
          return;
        }
      }
      catalog::Product p = reader.read(store, options.bucket, key);
      add_sidecar_checksums(store, options.bucket, key, p);
      if (options.quicklooks && p.quicklook.empty()) {
        if (auto ql = make_quicklook(store, options.bucket, p)) {
          p.assets.push_back(std::move(*ql));
          p.quicklook = "quicklook";
        }
      }
      Geometry::from_wkt(p.footprint_wkt, "footprint");  // refuse it here rather than fail a batch
      if (auto existing = catalogue.get_by_name(p.name)) {
        p.publication = existing->publication;
      } else {
        p.publication = options.clock();
      }
      p.modification = p.publication;
      batch.push_back(std::move(p));
      if (batch.size() >= options.batch_size) flush();
    } catch (const Error& e) {
      log::warn("ingest: {} skipped: {}", key, e.message());
      report.failures.push_back({key, e.message()});
    } catch (const std::exception& e) {
      log::warn("ingest: {} skipped: {}", key, e.what());
      report.failures.push_back({key, e.what()});
    }
  };

  // Walk folder by folder; a folder whose name a reader accepts is a product (not descended).
  std::function<void(const std::string&)> walk = [&](const std::string& prefix) {
    storage::ListRequest req;
    req.prefix = prefix;
    req.delimiter.assign(1, '/');  // (assigning a literal trips GCC 12's false -Wrestrict)
    while (true) {
      auto page = store.list(options.bucket, req);
      for (const auto& folder : page.common_prefixes) {
        std::string key = folder;  // without the trailing delimiter
        key.pop_back();
        if (const ProductReader* reader = find_reader(readers, last_segment(folder))) {
          consider(key, *reader);
        } else {
          walk(folder);
        }
      }
      if (!page.truncated) break;
      req.continuation = page.next_continuation;
    }
  };
  std::string start = options.prefix;
  if (!start.empty() && start.back() != '/') {
    if (const ProductReader* reader = find_reader(readers, last_segment(start))) {
      consider(start, *reader);  // the prefix names one product folder
      start.clear();
    } else {
      start += "/";
    }
  }
  if (!start.empty() || options.prefix.empty()) walk(start);
  flush();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace ds::ingest
