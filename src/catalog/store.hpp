#pragma once
// The catalogue store: products in, queries out. The SQLite implementation is the embedded
// default; the PostgreSQL/PostGIS one is for scale-out. Both pass the same typed test suite.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/model.hpp"
#include "catalog/query.hpp"

namespace ds::catalog {

struct DeletedProduct {
  std::string id;
  std::string name;
  Time deleted{};
  std::string cause;
};

class CatalogStore {
 public:
  virtual ~CatalogStore() = default;

  // Inserts or replaces products by id, all or none (one transaction). Products whose stored copy
  // is identical are left untouched (modification time included), so re-ingesting changes nothing.
  // Returns how many products were inserted or changed.
  virtual std::size_t upsert(const std::vector<Product>& products) = 0;
  virtual std::optional<Product> get(const std::string& id) const = 0;
  virtual std::optional<Product> get_by_name(const std::string& name) const = 0;
  // Throws ds::Error(invalid_parameter) for an invalid geometry or an out-of-range limit.
  virtual SearchResult search(const Query& query) const = 0;
  // Removes a product and remembers it as deleted with a cause. Returns false if unknown.
  virtual bool remove(const std::string& id, const std::string& cause) = 0;
  virtual std::vector<DeletedProduct> deleted(std::size_t limit, std::size_t offset) const = 0;
  // Throws when the store cannot answer (for /health/ready).
  virtual void ping() const = 0;
};

// The embedded store: one SQLite file (WAL), created and migrated on open. Safe for concurrent use.
std::unique_ptr<CatalogStore> open_sqlite_store(const std::filesystem::path& file);

// The scale-out store: PostgreSQL 15 + PostGIS 3 at a libpq URL ("postgresql://user@host:port/db"),
// whose database already has the postgis extension. Applies pending schema migrations on open (one
// transaction, under an advisory lock, so concurrent openers are safe). Keeps a pool of connections,
// one per concurrent caller: safe for concurrent use. Throws ds::Error(service_unavailable) when the
// server cannot be reached.
std::unique_ptr<CatalogStore> open_postgis_store(const std::string& connection_url);

}  // namespace ds::catalog
