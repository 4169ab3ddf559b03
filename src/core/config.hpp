#pragma once
// Server configuration. Sources, lowest precedence first: built-in defaults < TOML file
// (`dataspace.toml`) < environment (`DATASPACE_<SECTION>_<KEY>`) < command-line flags.
// Every setting has one dotted name (`http.body_limit`) used in all three sources; the list of
// settings, with their documentation, is `config_settings()`, which also generates docs/config.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ds {

struct HttpLimits {
  std::size_t header_limit = 16 * 1024;              // bytes of request line + headers
  std::size_t body_limit = 16 * 1024 * 1024;         // bytes of request body
  std::chrono::milliseconds header_timeout{10'000};  // whole request head must arrive within this
  std::chrono::milliseconds body_timeout{60'000};    // whole body must arrive within this
  std::chrono::milliseconds idle_timeout{30'000};    // keep-alive connection without a request
  std::chrono::milliseconds write_timeout{60'000};   // a client that stops reading is dropped
  std::chrono::milliseconds drain_timeout{30'000};   // graceful shutdown waits this long at most
  std::size_t max_connections = 10'000;
};

// Identity, tokens and quotas (src/auth, src/api/auth).
struct AuthSettings {
  std::string realm = "CDSE";                                // /auth/realms/<realm>/...
  std::chrono::milliseconds access_token_lifetime{600'000};  // access tokens (JWT)
  std::chrono::milliseconds refresh_token_lifetime{3'600'000};
  std::chrono::milliseconds key_rotation{30LL * 24 * 3'600'000};  // signing key age; 0 = never
  bool open_registration = true;                                  // POST /auth/register allowed
  std::size_t s3_keys_per_user = 5;
  std::size_t password_memory = 19 * 1024 * 1024;  // Argon2id memory per hash, bytes
  std::vector<std::string> redirect_uris;          // extra redirect URI prefixes of cdse-public
  std::vector<std::string> quota_limits;           // "typology.limit=value" overrides
};

// Downloads and offline products (src/api/download).
struct DownloadSettings {
  std::chrono::milliseconds order_delay{30'000};  // an order of an offline product is fulfilled after this
  std::string archive_bucket = "archive";         // where offline products' objects live (same keys)
};

// On-the-fly processing (src/engine, src/evalscript, src/api/process).
struct ProcessSettings {
  std::chrono::milliseconds script_timeout{10'000};  // one call into an evalscript (setup, a batch of pixels, a hook)
  std::size_t script_heap = std::size_t{256} << 20;  // V8 heap of each worker thread's isolate
  std::size_t block_cache = std::size_t{512} << 20;  // GDAL block cache, process-wide
  std::size_t max_input = std::size_t{512} << 20;    // input samples one request may hold
};

struct Config {
  std::string listen = "127.0.0.1:8080";   // HOST:PORT
  std::filesystem::path data_dir = "var";  // catalogue database, object store, keys
  unsigned threads = 0;                    // HTTP worker threads; 0 = number of cores
  std::string public_url;                  // base URL used in links; empty = from Host header
  std::vector<std::string> cors_origins = {"*"};
  std::string log_level = "info";     // trace|debug|info|warn|error|off
  std::string access_log = "stdout";  // stdout|stderr|off|<file path>
  HttpLimits http;
  // Catalogue store: empty = the embedded SQLite file <data>/catalogue.db; a libpq URL
  // (postgresql://user@host:port/db) = PostgreSQL/PostGIS, shared by every node.
  std::string catalog_url;
  // Searches count matches exactly up to this many, then report the bound flagged as a lower bound.
  std::size_t catalog_count_limit = 100'000;
  // Extra collection definitions (*.json) beside the built-in ones; empty = none.
  std::string collections_dir;
  AuthSettings auth;
  // STAC item search counts matches exactly up to this many, then reports a lower bound (0 = always exact).
  std::size_t stac_count_limit = 10'000;
  // S3 API (src/api/s3): the region clients sign with and GetBucketLocation reports.
  std::string s3_region = "default";
  std::uint64_t s3_max_object_size = 5ull << 30;  // largest PutObject / UploadPart body (streamed)
  // Multipart uploads with no part uploaded for this long are aborted.
  std::chrono::milliseconds s3_multipart_expiry{7LL * 24 * 3'600'000};
  DownloadSettings download;
  ProcessSettings process;
};

// A user-supplied raw value for one setting, with where it came from (for error messages).
struct ConfigValue {
  std::string value;
  std::string source;  // "file dataspace.toml", "environment DATASPACE_LISTEN", "flag --listen"
};

struct ConfigSetting {
  std::string name;          // dotted, e.g. "http.body_limit"
  std::string type;          // string|int|size|duration|list
  std::string default_text;  // default as written in TOML
  std::string help;
};

// All settings this build understands, in documentation order.
const std::vector<ConfigSetting>& config_settings();
// DATASPACE_HTTP_BODY_LIMIT for http.body_limit.
std::string config_env_name(const std::string& setting);

// Loads the configuration. `file` is read when given (must exist) or, when empty, `dataspace.toml`
// in the working directory if there is one. `env` is the process environment (injected for tests);
// `flags` are values given on the command line, by setting name. Throws ds::Error
// (invalid_parameter) naming the setting and the source of a bad value.
Config load_config(const std::optional<std::filesystem::path>& file, const std::map<std::string, std::string>& env,
                   const std::map<std::string, std::string>& flags);

// The process environment as a map (only DATASPACE_* variables).
std::map<std::string, std::string> dataspace_environment();

// Parses "16MiB", "512k", "1048576" into bytes; "10s", "500ms", "2m", "30" (seconds) into a duration.
std::optional<std::uint64_t> parse_size(const std::string& text);
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

// Splits HOST:PORT ("[::1]:8080" for IPv6). Throws ds::Error on a malformed value.
std::pair<std::string, unsigned short> split_listen(const std::string& listen);

}  // namespace ds
