#include "api/download/routes.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/auth/metering.hpp"
#include "api/auth/middleware.hpp"
#include "api/common/catalog.hpp"
#include "api/download/zip.hpp"
#include "auth/policy.hpp"
#include "auth/quota.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "http/range.hpp"

namespace ds::api::download {
namespace {

using nlohmann::json;
namespace da = ds::auth;

constexpr std::size_t kMaxDepth = 16;           // Nodes(...) segments below the product root
constexpr std::size_t kMaxEntries = 1'000'000;  // files in one product ZIP
constexpr const char* kCrcBucket = "zipcache";

// A zipper error: the DAT-ZIP code travels in the error's details.
Error zip_error(ErrorCode code, const std::string& zip_code, std::string message) {
  Error e(code, std::move(message));
  e.with_detail("zipper_code", zip_code);
  return e;
}

// {"trace-id","code":"DAT-ZIP-…","message"}: CDSE's codes where it has one (604 token not found,
// 109 expired, 111 bad UUID, 104 malformed path, 100 too many sessions), DAT-ZIP-<status> else.
http::Response render_zipper(const Error& e, const http::Request& req) {
  const int status = http_status(e.code());
  std::string code;
  if (e.details().contains("zipper_code")) {
    code = e.details()["zipper_code"].get<std::string>();
  } else if (e.code() == ErrorCode::unauthorized) {
    code = e.message().find("xpired") != std::string::npos ? "DAT-ZIP-109" : "DAT-ZIP-604";
  } else if (e.code() == ErrorCode::too_many_requests) {
    code = "DAT-ZIP-100";
  } else {
    code = fmt::format("DAT-ZIP-{}", status);
  }
  std::string message = e.message();
  if (code == "DAT-ZIP-604" && !req.header("Authorization") && !req.query.has("token")) message = "Token not found";
  return http::Response::json({{"trace-id", req.ctx.request_id}, {"code", code}, {"message", message}}, status);
}

// 8-4-4-4-12 hexadecimal digits (checked by hand: std::regex costs microseconds per request, and
// every ranged read of a file checks its product's UUID).
bool is_uuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string sha256_hex(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

// ---- orders of offline products ------------------------------------------------------------------
// Orders are JSON objects in the object store (bucket "orders", key <user id>/<order id>.json,
// written atomically by ObjectStore::put): the same for the SQLite and the PostgreSQL catalogue, no
// schema, and a user's orders are one prefix listing (another user's order is simply not there).
// A worker thread fulfils queued orders when due (download.order_delay after submission) by
// copying the product's objects from the archive bucket into its online bucket, then marking it
// online in the catalogue. Queued orders found in the bucket at start-up are resumed.
class Orders {
 public:
  static constexpr const char* kBucket = "orders";

  explicit Orders(const Services& s) : s_(s), delay_(s.config.download.order_delay) {
    try {
      if (s_.objects->bucket_exists(kBucket)) {
        storage::ListRequest lr;
        while (true) {
          auto page = s_.objects->list(kBucket, lr);
          for (const auto& o : page.objects) {
            if (auto j = read(o.key); j && j->value("Status", "") == "queued")
              pending_.emplace(parse_time(j->value("EstimatedDate", "")), o.key);
          }
          if (!page.truncated) break;
          lr.continuation = page.next_continuation;
        }
      }
    } catch (const std::exception& e) {
      log::warn("orders: could not resume queued orders: {}", e.what());
    }
    worker_ = std::thread([this] { run(); });
  }
  ~Orders() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  static catalog::Time parse_time(const std::string& text) {
    const auto t = ds::parse_iso8601(text);
    return t ? std::chrono::time_point_cast<catalog::Time::duration>(*t) : std::chrono::system_clock::now();
  }

  std::optional<json> read(const std::string& key) const {
    try {
      if (!s_.objects->head(kBucket, key)) return std::nullopt;
      auto r = s_.objects->get(kBucket, key);
      std::string text;
      std::vector<char> buf(16384);
      while (std::size_t n = r->read(buf.data(), buf.size())) text.append(buf.data(), n);
      return json::parse(text);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  void write(const std::string& key, const json& order) {
    s_.objects->create_bucket(kBucket);
    auto w = s_.objects->put(kBucket, key);
    const std::string text = order.dump();
    w->write(text.data(), text.size());
    w->commit();
  }

  std::vector<json> of_user(const std::string& user) const {
    std::vector<json> out;
    if (!s_.objects->bucket_exists(kBucket)) return out;
    storage::ListRequest lr;
    lr.prefix = user + "/";
    while (true) {
      auto page = s_.objects->list(kBucket, lr);
      for (const auto& o : page.objects) {
        if (auto j = read(o.key)) out.push_back(std::move(*j));
      }
      if (!page.truncated) break;
      lr.continuation = page.next_continuation;
    }
    std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
      return a.value("SubmissionDate", "") < b.value("SubmissionDate", "");
    });
    return out;
  }

  json create(const std::string& user, const catalog::Product& p) {
    const auto now = std::chrono::system_clock::now();
    const std::string id =
        catalog::product_uuid(fmt::format("order:{}:{}:{}", user, p.id, now.time_since_epoch().count()));
    const bool online = p.online;
    json order = {{"@odata.context", "$metadata#OData.CSC.Order/$entity"},
                  {"Id", id},
                  {"Status", online ? "completed" : "queued"},
                  {"StatusMessage", online ? "The product is online: download it now"
                                           : "Queued: the product will be restored from the archive"},
                  {"SubmissionDate", common::format_micros(now)},
                  {"EstimatedDate", common::format_micros(online ? now : now + delay_)},
                  {"ProductId", p.id},
                  {"ProductName", p.name},
                  {"Priority", 1}};
    if (online) order["CompletedDate"] = common::format_micros(now);
    const std::string key = user + "/" + id + ".json";
    write(key, order);
    if (!online) {
      std::lock_guard lock(mutex_);
      pending_.emplace(now + delay_, key);
    }
    cv_.notify_all();
    return order;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (pending_.empty()) {
        cv_.wait_for(lock, std::chrono::seconds(60));
        continue;
      }
      const auto due = pending_.begin()->first;
      if (due > std::chrono::system_clock::now()) {
        cv_.wait_until(lock, due);
        continue;
      }
      const std::string key = pending_.begin()->second;
      pending_.erase(pending_.begin());
      lock.unlock();
      fulfil(key);
      lock.lock();
    }
  }

  void fulfil(const std::string& key) {
    auto order = read(key);
    if (!order || order->value("Status", "") != "queued") return;
    try {
      auto p = s_.catalog->get(order->value("ProductId", ""));
      if (!p) throw Error(ErrorCode::not_found, "the product is no longer in the catalogue");
      if (!p->online) {
        const std::string archive = s_.config.download.archive_bucket;
        std::vector<std::string> keys;
        if (s_.objects->head(archive, p->key)) keys.push_back(p->key);
        if (s_.objects->bucket_exists(archive)) {
          storage::ListRequest lr;
          lr.prefix = p->key + "/";
          while (true) {
            auto page = s_.objects->list(archive, lr);
            for (const auto& o : page.objects) keys.push_back(o.key);
            if (!page.truncated) break;
            lr.continuation = page.next_continuation;
          }
        }
        if (keys.empty()) throw Error(ErrorCode::not_found, "the product is not in the archive bucket " + archive);
        std::vector<char> buf(1 << 20);
        for (const auto& k : keys) {
          auto reader = s_.objects->get(archive, k);
          auto writer = s_.objects->put(p->bucket, k);
          while (const std::size_t n = reader->read(buf.data(), buf.size())) writer->write(buf.data(), n);
          writer->commit();
        }
        p->online = true;
        s_.catalog->upsert({*p});
      }
      (*order)["Status"] = "completed";
      (*order)["StatusMessage"] = "The product is online: download it now";
      (*order)["CompletedDate"] = common::format_micros(std::chrono::system_clock::now());
      log::info("orders: {} completed ({})", order->value("Id", ""), p->name);
    } catch (const std::exception& e) {
      (*order)["Status"] = "failed";
      (*order)["StatusMessage"] = std::string("The product could not be restored: ") + e.what();
      log::error("orders: {} failed: {}", order->value("Id", ""), e.what());
    }
    try {
      write(key, *order);
    } catch (const std::exception& e) {
      log::error("orders: cannot record the outcome of {}: {}", key, e.what());
    }
  }

  const Services& s_;
  std::chrono::milliseconds delay_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<catalog::Time, std::string> pending_;  // due time -> order key
  bool stopping_ = false;
  std::thread worker_;
};

class DownloadApi {
 public:
  explicit DownloadApi(const Services& s) : s_(s), orders_(s) {}

  // ---- products -------------------------------------------------------------------------------

  // The product's record, shared (a copy per ranged read would cost more than the read).
  std::shared_ptr<const catalog::Product> product(const http::Request& req) const {
    const std::string& id = req.param("id");
    if (!is_uuid(id)) throw zip_error(ErrorCode::unprocessable, "DAT-ZIP-111", "Invalid product UUID: '" + id + "'");
    if (!s_.catalog) throw zip_error(ErrorCode::service_unavailable, "DAT-ZIP-503", "no catalogue configured");
    const std::string key = lower(id);
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mutex_);
      if (auto it = products_.find(key); it != products_.end() && now - it->second.first < kProductTtl)
        return it->second.second;
    }
    auto found = s_.catalog->get(key);
    if (!found) throw zip_error(ErrorCode::not_found, "DAT-ZIP-404", "Product " + id + " not found");
    auto p = std::make_shared<const catalog::Product>(std::move(*found));
    // GDAL-like clients read one file in hundreds of small ranges: an online product's record (a
    // JSON parse in the store, most of a small range's cost) is kept for a moment. Offline ones are
    // not, so a product restored by an order downloads at once.
    if (p->online) {
      std::lock_guard lock(mutex_);
      if (products_.size() >= 1024) products_.clear();
      products_[key] = {now, p};
    }
    return p;
  }

  static bool packed(const catalog::Product& p) { return p.key.size() > 4 && p.key.ends_with(".zip"); }

  void require_online(const http::Request& req, const catalog::Product& p) const {
    if (p.online) return;
    const std::string order_url = req.base_url + "/odata/v1/Products(" + p.id + ")/OData.CSC.Order";
    Error e = zip_error(ErrorCode::conflict, "DAT-ZIP-409",
                        "Product " + p.name +
                            " is offline (Online=false): it must be restored from the archive before download. "
                            "Order it with POST " +
                            order_url + " (with your token), follow the order at " + req.base_url +
                            "/odata/v1/Orders(<Id>) and download when its Status is completed.");
    e.with_header("Link", "<" + order_url + ">; rel=\"order\"");
    throw e;
  }

  // Every object of the product folder, sorted by key.
  std::vector<storage::ObjectInfo> product_objects(const catalog::Product& p) const {
    std::vector<storage::ObjectInfo> out;
    storage::ListRequest lr;
    lr.prefix = p.key + "/";
    while (true) {
      auto page = s_.objects->list(p.bucket, lr);
      for (auto& o : page.objects) out.push_back(std::move(o));
      if (out.size() > kMaxEntries)
        throw zip_error(ErrorCode::payload_too_large, "DAT-ZIP-413",
                        fmt::format("Product {} has more than {} files; download them as nodes", p.name, kMaxEntries));
      if (!page.truncated) break;
      lr.continuation = page.next_continuation;
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return out;
  }

  // The CRC-32 of every file, keyed by the listing's fingerprint: from memory, else from the
  // sidecar object zipcache/<bucket>/<key>.<fingerprint>.json, else computed (one sequential read
  // of the product) and stored there for the next request and the next node.
  // Concurrent first downloads of one product wait for a single computation.
  std::vector<std::uint32_t> crcs(const catalog::Product& p, const std::vector<storage::ObjectInfo>& objects,
                                  const std::string& fingerprint) {
    std::shared_ptr<std::promise<std::vector<std::uint32_t>>> promise;
    std::shared_future<std::vector<std::uint32_t>> pending;
    {
      std::lock_guard lock(mutex_);
      if (auto it = crc_memory_.find(fingerprint); it != crc_memory_.end()) return it->second;
      if (auto it = crc_pending_.find(fingerprint); it != crc_pending_.end()) {
        pending = it->second;
      } else {
        promise = std::make_shared<std::promise<std::vector<std::uint32_t>>>();
        crc_pending_[fingerprint] = promise->get_future().share();
      }
    }
    if (!promise) return pending.get();
    try {
      auto out = load_or_compute_crcs(p, objects, fingerprint);
      std::lock_guard lock(mutex_);
      if (crc_memory_.size() > 4096) crc_memory_.clear();
      crc_memory_[fingerprint] = out;
      crc_pending_.erase(fingerprint);
      promise->set_value(out);
      return out;
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        crc_pending_.erase(fingerprint);
      }
      promise->set_exception(std::current_exception());
      throw;
    }
  }

  std::vector<std::uint32_t> load_or_compute_crcs(const catalog::Product& p,
                                                  const std::vector<storage::ObjectInfo>& objects,
                                                  const std::string& fingerprint) {
    const std::string cache_key = p.bucket + "/" + p.key + "." + fingerprint.substr(0, 32) + ".json";
    std::vector<std::uint32_t> out;
    try {
      if (s_.objects->head(kCrcBucket, cache_key)) {
        auto r = s_.objects->get(kCrcBucket, cache_key);
        std::string text;
        std::vector<char> buf(65536);
        while (std::size_t n = r->read(buf.data(), buf.size())) text.append(buf.data(), n);
        const json j = json::parse(text);
        if (j.at("fingerprint").get<std::string>() == fingerprint && j.at("crc32").size() == objects.size())
          for (const auto& v : j.at("crc32")) out.push_back(v.get<std::uint32_t>());
      }
    } catch (const std::exception& e) {
      log::warn("zipper: ignoring unreadable CRC cache {}: {}", cache_key, e.what());
      out.clear();
    }
    if (out.size() != objects.size()) {
      out.clear();
      for (const auto& o : objects) out.push_back(object_crc32(*s_.objects, p.bucket, o.key));
      try {
        s_.objects->create_bucket(kCrcBucket);
        auto w = s_.objects->put(kCrcBucket, cache_key);
        const std::string text = json{{"fingerprint", fingerprint}, {"crc32", out}}.dump();
        w->write(text.data(), text.size());
        w->commit();
      } catch (const std::exception& e) {
        log::warn("zipper: could not store CRC cache {}: {}", cache_key, e.what());
      }
    }
    return out;
  }

  http::Response zipper(http::Request& req) {
    const auto record = product(req);
    const catalog::Product& p = *record;
    require_online(req, p);
    const std::string filename = p.name.ends_with(".zip") ? p.name : p.name + ".zip";
    http::Representation rep;
    rep.content_type = "application/zip";
    rep.last_modified = p.modification;
    std::shared_ptr<const http::RangedSource> source;
    if (packed(p)) {
      auto object = s_.objects->open(p.bucket, p.key);
      if (!object) throw zip_error(ErrorCode::not_found, "DAT-ZIP-404", "The files of " + p.name + " are missing");
      rep.etag = object->info().etag;
      rep.last_modified = object->info().modified;
      source = common::object_source(std::move(object));
    } else {
      const auto objects = product_objects(p);
      if (objects.empty())
        throw zip_error(ErrorCode::not_found, "DAT-ZIP-404", "The files of " + p.name + " are missing");
      std::string listing = p.id + "\n";
      for (const auto& o : objects) listing += fmt::format("{}\n{}\n{}\n", o.key, o.size, o.etag);
      const std::string fingerprint = sha256_hex(listing);
      const auto crc = crcs(p, objects, fingerprint);
      std::vector<ZipEntry> entries;
      entries.reserve(objects.size());
      const std::string root = p.key + "/";
      const std::string top = p.key.substr(p.key.rfind('/') + 1);
      for (std::size_t i = 0; i < objects.size(); ++i) {
        entries.push_back(
            {top + "/" + objects[i].key.substr(root.size()), p.bucket, objects[i].key, objects[i].size, crc[i]});
      }
      rep.etag = "\"zip-" + fingerprint.substr(0, 40) + "\"";
      source = make_zip(*s_.objects, std::move(entries), p.sensing_start);
    }
    auto res = http::ranged_response(req, source, rep);
    res.headers.set("Content-Disposition", "attachment; filename=\"" + filename + "\"");
    return meter(req, std::move(res), p, "");
  }

  // ---- nodes ----------------------------------------------------------------------------------

  // The path below the product root named by Nodes(n1)/Nodes(n2)/…, validated: n1 must be the
  // product's name, no segment may be quoted, empty, '.' or '..' or hold a '/'.
  std::string node_path(const http::Request& req, const catalog::Product& p, std::size_t depth) const {
    std::string rel;
    for (std::size_t i = 1; i <= depth; ++i) {
      const std::string& seg = req.param("n" + std::to_string(i));
      const bool quoted = seg.size() >= 2 && (seg.front() == '\'' || seg.front() == '"');
      if (quoted || seg.empty() || seg == "." || seg == ".." || seg.find('/') != std::string::npos ||
          seg.find('\\') != std::string::npos || seg.find('\0') != std::string::npos)
        throw zip_error(ErrorCode::bad_request, "DAT-ZIP-104", "Malformed OData request path: Nodes(" + seg + ")");
      if (i == 1) {
        const std::string top = p.key.substr(p.key.rfind('/') + 1);
        if (seg != p.name && seg != top)
          throw zip_error(ErrorCode::not_found, "DAT-ZIP-404", "Product " + p.name + " has no node " + seg);
        continue;
      }
      if (!rel.empty()) rel += '/';
      rel += seg;
    }
    if (!rel.empty()) {
      try {
        storage::validate_key(p.key + "/" + rel);
      } catch (const Error&) {
        throw zip_error(ErrorCode::bad_request, "DAT-ZIP-104", "Malformed OData request path: " + rel);
      }
    }
    return rel;
  }

  std::string nodes_uri(const http::Request& req, const catalog::Product& p, const std::string& rel) const {
    std::string url = req.base_url + "/odata/v1/Products(" + p.id + ")/Nodes(" + http::url_encode(p.name) + ")";
    std::size_t start = 0;
    while (!rel.empty() && start <= rel.size()) {
      const auto slash = rel.find('/', start);
      url += "/Nodes(" +
             http::url_encode(rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start)) + ")";
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return url + "/Nodes";
  }

  std::size_t children_count(const catalog::Product& p, const std::string& prefix) const {
    storage::ListRequest lr;
    lr.prefix = prefix;
    lr.delimiter = "/";
    std::size_t n = 0;
    while (true) {
      const auto page = s_.objects->list(tree_bucket(p), lr);
      n += page.objects.size() + page.common_prefixes.size();
      if (!page.truncated || n > 100'000) break;
      lr.continuation = page.next_continuation;
    }
    return n;
  }

  // Where the product's tree is listed from: an offline product's files are in the archive
  // bucket, and its Nodes stay browsable (only $value needs it online).
  std::string tree_bucket(const catalog::Product& p) const {
    return p.online ? p.bucket : s_.config.download.archive_bucket;
  }

  static json node(const std::string& name, std::uint64_t length, std::size_t children, const std::string& uri) {
    return {{"Id", name},
            {"Name", name},
            {"ContentLength", length},
            {"ChildrenNumber", children},
            {"Nodes", {{"uri", uri}}}};
  }

  http::Response list_root(http::Request& req) {
    const auto record = product(req);
    const catalog::Product& p = *record;
    json result = json::array();
    if (packed(p)) {
      const auto info = s_.objects->head(tree_bucket(p), p.key);
      result.push_back(node(p.name, info ? info->size : 0, 0, nodes_uri(req, p, "")));
    } else {
      result.push_back(node(p.name, 0, children_count(p, p.key + "/"), nodes_uri(req, p, "")));
    }
    return http::Response::json({{"result", result}});
  }

  http::Response list_nodes(http::Request& req, std::size_t depth) {
    const auto record = product(req);
    const catalog::Product& p = *record;
    const std::string rel = node_path(req, p, depth);
    if (packed(p)) {
      if (!rel.empty()) throw zip_error(ErrorCode::not_found, "DAT-ZIP-404", "No node " + rel + " in " + p.name);
      return http::Response::json({{"result", json::array()}});
    }
    const std::string base = p.key + (rel.empty() ? "" : "/" + rel);
    if (!rel.empty() && s_.objects->head(tree_bucket(p), base))
      return http::Response::json({{"result", json::array()}});
    storage::ListRequest lr;
    lr.prefix = base + "/";
    lr.delimiter = "/";
    json result = json::array();
    bool any = false;
    while (true) {
      const auto page = s_.objects->list(tree_bucket(p), lr);
      std::vector<std::pair<std::string, json>> items;
      for (const auto& cp : page.common_prefixes) {
        any = true;
        const std::string name = cp.substr(lr.prefix.size(), cp.size() - lr.prefix.size() - 1);
        const std::string child = rel.empty() ? name : rel + "/" + name;
        items.emplace_back(name, node(name, 0, children_count(p, cp), nodes_uri(req, p, child)));
      }
      for (const auto& o : page.objects) {
        any = true;
        const std::string name = o.key.substr(lr.prefix.size());
        const std::string child = rel.empty() ? name : rel + "/" + name;
        items.emplace_back(name, node(name, o.size, 0, nodes_uri(req, p, child)));
      }
      std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& [_, j] : items) result.push_back(std::move(j));
      if (!page.truncated || result.size() >= 100'000) break;
      lr.continuation = page.next_continuation;
    }
    if (!any) throw zip_error(ErrorCode::not_found, "DAT-ZIP-404", "No node " + rel + " in " + p.name);
    return http::Response::json({{"result", result}});
  }

  http::Response node_value(http::Request& req, std::size_t depth) {
    const auto record = product(req);
    const catalog::Product& p = *record;
    const std::string rel = node_path(req, p, depth);
    if (rel.empty()) return zipper(req);  // Nodes(<Name>)/$value: the whole product
    require_online(req, p);
    if (packed(p)) throw zip_error(ErrorCode::not_found, "DAT-ZIP-404", "No node " + rel + " in " + p.name);
    const std::string key = p.key + "/" + rel;
    auto object = s_.objects->open(p.bucket, key);
    if (!object) {
      if (children_count(p, key + "/") > 0)
        throw zip_error(ErrorCode::bad_request, "DAT-ZIP-104",
                        "Node " + rel + " is a folder: list it with /Nodes, or download the product's $value");
      throw zip_error(ErrorCode::not_found, "DAT-ZIP-404", "No node " + rel + " in " + p.name);
    }
    http::Representation rep;
    rep.content_type = "application/octet-stream";
    for (const auto& a : p.assets) {
      if (a.path == rel && !a.media_type.empty()) rep.content_type = a.media_type;
    }
    rep.etag = object->info().etag;
    rep.last_modified = object->info().modified;
    auto res = http::ranged_response(req, common::object_source(std::move(object)), rep);
    const std::string file = rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
    res.headers.set("Content-Disposition", "attachment; filename=\"" + file + "\"");
    return meter(req, std::move(res), p, rel);
  }

  // ---- orders -------------------------------------------------------------------------------

  static const std::string& owner(const http::Request& req) {
    if (!req.ctx.auth.authenticated())
      throw Error(ErrorCode::unauthorized, "a bearer token is required to order products");
    return req.ctx.auth.user_id;
  }

  http::Response order(http::Request& req) {
    const std::string& user = owner(req);
    const std::string& id = req.param("id");
    if (!is_uuid(id)) throw Error(ErrorCode::invalid_parameter, "Products(" + id + "): not a product UUID", "Id");
    auto p = s_.catalog->get(lower(id));
    if (!p) throw Error(ErrorCode::not_found, "Product " + id + " not found", "Id");
    if (s_.quotas) {
      const da::QuotaSubject subject = auth::quota_subject(req);
      if (!p->online) {
        if (auto max = s_.quotas->profile(subject.typology).limit("orders_concurrent")) {
          std::size_t open = 0;
          for (const auto& o : orders_.of_user(user)) open += o.value("Status", "") == "queued" ? 1 : 0;
          if (static_cast<double>(open) >= *max) {
            da::QuotaDecision d;
            d.allowed = false;
            d.limit_name = "orders_concurrent";
            d.limit = *max;
            d.remaining = 0;
            d.retry_after_s = static_cast<double>(s_.config.download.order_delay.count()) / 1000.0;
            const Error q = auth::quota_error(req, d);
            Error e(ErrorCode::too_many_requests,
                    fmt::format("You already have {} order(s) in progress (orders_concurrent={})", open, *max));
            for (const auto& [k, v] : q.headers()) e.with_header(k, v);
            throw e;
          }
        }
      }
      const da::QuotaDecision d = s_.quotas->admit_order(subject);
      if (!d.allowed) throw auth::quota_error(req, d);
    }
    json order = orders_.create(user, *p);
    req.ctx.log_fields["order"] = order["Id"];
    req.ctx.log_fields["product"] = p->id;
    http::Response res = http::Response::json(order, 201);
    res.headers.set("Location", req.base_url + "/odata/v1/Orders(" + order["Id"].get<std::string>() + ")");
    return res;
  }

  http::Response get_order(http::Request& req) {
    const std::string& user = owner(req);
    const std::string& id = req.param("id");
    if (!is_uuid(id)) throw Error(ErrorCode::not_found, "No order " + id, "Id");
    auto o = orders_.read(user + "/" + lower(id) + ".json");
    if (!o) throw Error(ErrorCode::not_found, "No order " + id, "Id");
    return http::Response::json(*o);
  }

  http::Response list_orders(http::Request& req) {
    const std::string& user = owner(req);
    json value = json::array();
    for (auto& o : orders_.of_user(user)) {
      o.erase("@odata.context");
      value.push_back(std::move(o));
    }
    return http::Response::json({{"@odata.context", "$metadata#Orders"}, {"value", value}});
  }

  // ---- limits ---------------------------------------------------------------------------------

  // A body-carrying answer takes a connection slot (429 DAT-ZIP-100 when none is free), is paced to
  // the slot's bandwidth and counted against the monthly volume (api/auth/metering); the limits are
  // reported in X-Download-* headers. 304s, 416s and HEADs hold no slot. Once the month's volume
  // is spent, downloads go on under the degraded limits (one connection at 1 MB/s by default).
  http::Response meter(http::Request& req, http::Response res, const catalog::Product& p, const std::string& rel) {
    const std::string what = p.name + (rel.empty() ? "" : "/" + rel);
    req.ctx.log_fields["product"] = p.id;
    if (!rel.empty()) req.ctx.log_fields["node"] = rel;
    if (!res.stream || req.method == http::Method::head) return res;
    const auto size = res.stream->size();
    req.ctx.log_fields["download_bytes"] = size.value_or(0);
    if (!s_.quotas) return res;
    const da::QuotaSubject subject = auth::quota_subject(req);
    da::QuotaDecision decision;
    std::unique_ptr<da::DownloadSlot> slot = s_.quotas->open_download(subject, decision);
    if (!slot) {
      Error e = auth::quota_error(req, decision);
      const bool degraded = decision.limit_name == "download_degraded_connections";
      std::string message;
      if (decision.limit_name.ends_with("_connections")) {
        message = fmt::format("Max session number exceeded ({} concurrent downloads)",
                              static_cast<long long>(decision.limit));
        if (degraded)
          message +=
              ": your monthly download volume is spent, so downloads continue on one connection at reduced "
              "bandwidth until the next month";
      } else {
        message = "Monthly download volume exhausted (" + decision.limit_name + ")";
      }
      Error z = zip_error(ErrorCode::too_many_requests, "DAT-ZIP-100", message);
      for (const auto& [k, v] : e.headers()) z.with_header(k, v);
      throw z;
    }
    auth::meter_download(res, std::move(slot), *s_.quotas, subject, decision, what);
    return res;
  }

 private:
  const Services& s_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::uint32_t>> crc_memory_;  // by listing fingerprint
  std::unordered_map<std::string, std::shared_future<std::vector<std::uint32_t>>> crc_pending_;
  // Recently read online products, by id (see product()).
  static constexpr std::chrono::milliseconds kProductTtl{1000};
  mutable std::unordered_map<std::string,
                             std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<const catalog::Product>>>
      products_;
  Orders orders_;
};

}  // namespace

void register_routes(http::Router& router, const Services& services) {
  if (!services.catalog || !services.objects) return;
  auto api = std::make_shared<DownloadApi>(services);
  const auto f = http::ErrorFormat::zipper;
  router.error_renderers().set(f, render_zipper);
  router.get(
      "/odata/v1/Products({id})/$value", [api](http::Request& r) { return api->zipper(r); }, f);
  router.get(
      "/odata/v1/Products({id})/$zip", [api](http::Request& r) { return api->zipper(r); }, f);
  router.get(
      "/odata/v1/Products({id})/Nodes", [api](http::Request& r) { return api->list_root(r); }, f);
  const auto o = http::ErrorFormat::odata;
  router.post(
      "/odata/v1/Products({id})/OData.CSC.Order", [api](http::Request& r) { return api->order(r); }, o);
  router.get(
      "/odata/v1/Orders", [api](http::Request& r) { return api->list_orders(r); }, o);
  router.get(
      "/odata/v1/Orders({id})", [api](http::Request& r) { return api->get_order(r); }, o);
  if (services.policy) {
    const da::RoutePolicy token{da::Access::token, "download"};
    services.policy->add("/odata/v1/Products(*)/OData.CSC.Order", token);
    services.policy->add("/odata/v1/Orders", token);
    services.policy->add("/odata/v1/Orders(*)", token);
  }
  std::string nodes = "/odata/v1/Products({id})";
  for (std::size_t depth = 1; depth <= kMaxDepth; ++depth) {
    nodes += "/Nodes({n" + std::to_string(depth) + "})";
    router.get(
        nodes + "/Nodes", [api, depth](http::Request& r) { return api->list_nodes(r, depth); }, f);
    router.get(
        nodes + "/$value", [api, depth](http::Request& r) { return api->node_value(r, depth); }, f);
  }
}

}  // namespace ds::api::download
