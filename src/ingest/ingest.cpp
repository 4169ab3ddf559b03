#include "ingest/ingest.hpp"

#include <algorithm>
#include <map>

#include <cpl_error.h>
#include <gdal.h>
#include <ogr_srs_api.h>

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

// Records the grid (EPSG, shape, transform) of georeferenced raster assets, so that clients such as
// GDAL's STACIT can mosaic them without opening every file. Assets in one folder with one
// resolution share a grid (a SAFE's R10m bands), so one file per group is opened.
void add_grids(const storage::ObjectStore& store, const std::string& bucket, const std::string& key,
               catalog::Product& p) {
  std::map<std::string, std::vector<catalog::Asset*>> groups;
  for (auto& a : p.assets) {
    const bool raster = a.media_type.find("jp2") != std::string::npos || a.media_type.find("tiff") != std::string::npos;
    const bool data = std::find(a.roles.begin(), a.roles.end(), "data") != a.roles.end() ||
                      std::find(a.roles.begin(), a.roles.end(), "visual") != a.roles.end();
    if (!raster || !data || (!a.path.empty() && a.path.front() == '/')) continue;
    const auto slash = a.path.rfind('/');
    groups[(slash == std::string::npos ? "" : a.path.substr(0, slash)) + "|" + std::to_string(a.gsd.value_or(0))]
        .push_back(&a);
  }
  if (groups.empty()) return;
  GDALAllRegister();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  for (auto& [group, assets] : groups) {
    GDALDatasetH ds = GDALOpenEx(store.vsi_path(bucket, key + "/" + assets.front()->path).c_str(),
                                 GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    if (!ds) continue;
    double gt[6];
    const OGRSpatialReferenceH srs = GDALGetSpatialRef(ds);
    std::optional<int> epsg;
    if (srs) {
      OGRSpatialReferenceH copy = OSRClone(srs);
      OSRAutoIdentifyEPSG(copy);
      const char* name = OSRGetAuthorityName(copy, nullptr);
      const char* code = OSRGetAuthorityCode(copy, nullptr);
      if (name && code && std::string(name) == "EPSG") epsg = std::atoi(code);
      OSRDestroySpatialReference(copy);
    }
    if (GDALGetGeoTransform(ds, gt) == CE_None && epsg) {
      for (auto* a : assets) {
        a->epsg = epsg;
        a->shape = {GDALGetRasterYSize(ds), GDALGetRasterXSize(ds)};
        a->transform = {gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]};
      }
    }
    GDALClose(ds);
  }
  CPLPopErrorHandler();
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
      add_grids(store, options.bucket, key, p);
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
