#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <sstream>

#include <toml.hpp>

#include "core/error.hpp"

extern char** environ;

namespace ds {
namespace {

using Setter = std::function<void(Config&, const ConfigValue&)>;

struct SettingDef {
  ConfigSetting doc;
  Setter set;
};

[[noreturn]] void bad_value(const std::string& name, const ConfigValue& v, const std::string& why) {
  throw Error(ErrorCode::invalid_parameter,
              "configuration setting '" + name + "' from " + v.source + ": " + why + " (got '" + v.value + "')", name);
}

std::uint64_t as_uint(const std::string& name, const ConfigValue& v) {
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(v.value.data(), v.value.data() + v.value.size(), out);
  if (ec != std::errc() || p != v.value.data() + v.value.size()) bad_value(name, v, "expected a whole number");
  return out;
}

std::size_t as_size(const std::string& name, const ConfigValue& v) {
  auto s = parse_size(v.value);
  if (!s) bad_value(name, v, "expected a size such as 16MiB, 512KiB or a byte count");
  return static_cast<std::size_t>(*s);
}

std::chrono::milliseconds as_duration(const std::string& name, const ConfigValue& v) {
  auto d = parse_duration(v.value);
  if (!d || d->count() <= 0) bad_value(name, v, "expected a positive duration such as 10s, 500ms or 2m");
  return *d;
}

std::vector<std::string> as_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

const std::vector<SettingDef>& definitions() {
  static const std::vector<SettingDef> defs = {
      {{"listen", "string", "\"127.0.0.1:8080\"", "Address the HTTP server listens on, HOST:PORT."},
       [](Config& c, const ConfigValue& v) {
         split_listen(v.value);
         c.listen = v.value;
       }},
      {{"data", "string", "\"var\"", "Data root: catalogue database, object store, keys."},
       [](Config& c, const ConfigValue& v) {
         if (v.value.empty()) bad_value("data", v, "must not be empty");
         c.data_dir = v.value;
       }},
      {{"threads", "int", "0", "HTTP worker threads; 0 means one per core."},
       [](Config& c, const ConfigValue& v) {
         auto n = as_uint("threads", v);
         if (n > 1024) bad_value("threads", v, "at most 1024");
         c.threads = static_cast<unsigned>(n);
       }},
      {{"public_url", "string", "\"\"",
        "Base URL written into links (e.g. https://eo.example.org); empty derives it from the Host header."},
       [](Config& c, const ConfigValue& v) {
         std::string u = v.value;
         while (!u.empty() && u.back() == '/') u.pop_back();
         if (!u.empty() && u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
           bad_value("public_url", v, "must start with http:// or https://");
         c.public_url = u;
       }},
      {{"cors_origins", "list", "[\"*\"]", "Origins allowed by CORS; \"*\" allows any."},
       [](Config& c, const ConfigValue& v) { c.cors_origins = as_list(v.value); }},
      {{"log.level", "string", "\"info\"", "Application log level: trace, debug, info, warn, error, off."},
       [](Config& c, const ConfigValue& v) {
         static const std::vector<std::string> ok = {"trace", "debug", "info", "warn", "error", "off"};
         if (std::find(ok.begin(), ok.end(), v.value) == ok.end())
           bad_value("log.level", v, "one of trace, debug, info, warn, error, off");
         c.log_level = v.value;
       }},
      {{"log.access", "string", "\"stdout\"", "Access log (one JSON object per line): stdout, stderr, off or a file."},
       [](Config& c, const ConfigValue& v) { c.access_log = v.value; }},
      {{"catalog.url", "string", "\"\"",
        "Catalogue store: empty for the embedded SQLite file <data>/catalogue.db, or a PostgreSQL/PostGIS URL "
        "postgresql://USER@HOST:PORT/DB (scale-out; the database needs the postgis extension)."},
       [](Config& c, const ConfigValue& v) {
         if (!v.value.empty() && v.value.rfind("postgresql://", 0) != 0 && v.value.rfind("postgres://", 0) != 0)
           bad_value("catalog.url", v, "must be empty or start with postgresql://");
         c.catalog_url = v.value;
       }},
      {{"catalog.count_limit", "int", "100000",
        "Search counts ($count, numberMatched, totalResults) are exact up to this many matches, then reported as "
        "this bound and flagged as a lower bound (keeps counting cheap on huge catalogues)."},
       [](Config& c, const ConfigValue& v) {
         const auto n = as_uint("catalog.count_limit", v);
         if (n < 1000) bad_value("catalog.count_limit", v, "at least 1000");
         c.catalog_count_limit = n;
       }},
      {{"collections.dir", "string", "\"\"",
        "Directory of extra collection definitions (*.json, the format of collections/ in the source tree); "
        "a definition with a built-in id replaces it. Empty: the built-in collections only."},
       [](Config& c, const ConfigValue& v) { c.collections_dir = v.value; }},
      {{"auth.realm", "string", "\"CDSE\"",
        "Keycloak realm name in the token service paths (/auth/realms/<realm>/protocol/openid-connect/token)."},
       [](Config& c, const ConfigValue& v) {
         if (v.value.empty() || v.value.find_first_of("/?#% ") != std::string::npos)
           bad_value("auth.realm", v, "a non-empty name without '/', '?', '#', '%' or spaces");
         c.auth.realm = v.value;
       }},
      {{"auth.access_token_lifetime", "duration", "\"600s\"", "Lifetime of access tokens (JWT, ES256)."},
       [](Config& c, const ConfigValue& v) {
         c.auth.access_token_lifetime = as_duration("auth.access_token_lifetime", v);
       }},
      {{"auth.refresh_token_lifetime", "duration", "\"3600s\"",
        "Lifetime of a login session: its refresh token is usable until then."},
       [](Config& c, const ConfigValue& v) {
         c.auth.refresh_token_lifetime = as_duration("auth.refresh_token_lifetime", v);
       }},
      {{"auth.key_rotation", "duration", "\"720h\"",
        "Age at which the token signing key is replaced (old keys verify until their tokens expire); 0 = never."},
       [](Config& c, const ConfigValue& v) {
         if (v.value == "0") {
           c.auth.key_rotation = std::chrono::milliseconds(0);
           return;
         }
         c.auth.key_rotation = as_duration("auth.key_rotation", v);
       }},
      {{"auth.registration", "string", "\"open\"", "Self-registration through POST /auth/register: open or closed."},
       [](Config& c, const ConfigValue& v) {
         if (v.value != "open" && v.value != "closed") bad_value("auth.registration", v, "open or closed");
         c.auth.open_registration = v.value == "open";
       }},
      {{"auth.s3_keys_per_user", "int", "5", "Most S3 access keys a user may hold at once."},
       [](Config& c, const ConfigValue& v) {
         const auto n = as_uint("auth.s3_keys_per_user", v);
         if (n == 0 || n > 1000) bad_value("auth.s3_keys_per_user", v, "between 1 and 1000");
         c.auth.s3_keys_per_user = n;
       }},
      {{"auth.password_memory", "size", "\"19MiB\"",
        "Argon2id memory per password hash (2 passes, 1 lane); 19MiB to 64MiB keeps a login in tens of ms."},
       [](Config& c, const ConfigValue& v) {
         const auto n = as_size("auth.password_memory", v);
         if (n < 8 * 1024 * 1024 || n > 1024ull * 1024 * 1024)
           bad_value("auth.password_memory", v, "between 8MiB and 1GiB");
         c.auth.password_memory = n;
       }},
      {{"auth.redirect_uris", "list", "[]",
        "Extra redirect URI prefixes accepted for the public client's authorization-code login (the server's own "
        "URL and http://localhost are always accepted)."},
       [](Config& c, const ConfigValue& v) { c.auth.redirect_uris = as_list(v.value); }},
      {{"quota.limits", "list", "[]",
        "Quota overrides, TYPOLOGY.LIMIT=VALUE (e.g. \"general.processing_per_minute=600\"; VALUE 'unlimited' "
        "removes a limit). See docs/operator.md for the limits and their defaults."},
       [](Config& c, const ConfigValue& v) { c.auth.quota_limits = as_list(v.value); }},
      {{"stac.count_limit", "int", "10000",
        "STAC item search counts matches exactly up to this many (numberMatched); beyond it the count is "
        "reported as a lower bound. 0 counts exactly always."},
       [](Config& c, const ConfigValue& v) { c.stac_count_limit = as_uint("stac.count_limit", v); }},
      {{"s3.region", "string", "\"default\"",
        "Region of the S3 API at /s3 (reported by GetBucketLocation; CDSE uses \"default\"). Requests signed for "
        "any region are accepted."},
       [](Config& c, const ConfigValue& v) {
         if (v.value.empty() || v.value.find_first_of("/ ") != std::string::npos)
           bad_value("s3.region", v, "a non-empty name without '/' or spaces");
         c.s3_region = v.value;
       }},
      {{"s3.max_object_size", "size", "\"5GiB\"",
        "Largest single PutObject or UploadPart body at /s3 (streamed to the object store, never held in memory); "
        "larger is EntityTooLarge. Larger objects are uploaded in parts."},
       [](Config& c, const ConfigValue& v) {
         const auto n = as_size("s3.max_object_size", v);
         if (n < 1024 * 1024) bad_value("s3.max_object_size", v, "at least 1MiB");
         c.s3_max_object_size = n;
       }},
      {{"s3.multipart_expiry", "duration", "\"168h\"",
        "A multipart upload with no part uploaded for this long is aborted and its parts deleted (S3's "
        "AbortIncompleteMultipartUpload)."},
       [](Config& c, const ConfigValue& v) { c.s3_multipart_expiry = as_duration("s3.multipart_expiry", v); }},
      {{"download.order_delay", "duration", "\"30s\"",
        "An order of an offline product (POST …/Products(<id>)/OData.CSC.Order) is fulfilled after this delay."},
       [](Config& c, const ConfigValue& v) { c.download.order_delay = as_duration("download.order_delay", v); }},
      {{"download.archive_bucket", "string", "\"archive\"",
        "Bucket of the long-term archive: an offline product's objects are there under the same keys; an order "
        "copies them back into the online bucket."},
       [](Config& c, const ConfigValue& v) {
         if (v.value.size() < 3 || v.value.size() > 63 ||
             v.value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos)
           bad_value("download.archive_bucket", v, "an S3 bucket name (3-63 lower-case letters, digits, '.', '-')");
         c.download.archive_bucket = v.value;
       }},
      {{"process.script_timeout", "duration", "\"10s\"",
        "Longest run of one call into an evalscript (setup, a batch of 65536 pixels, a hook); a script that runs "
        "longer is stopped and the request answers 400."},
       [](Config& c, const ConfigValue& v) { c.process.script_timeout = as_duration("process.script_timeout", v); }},
      {{"process.script_heap", "size", "\"256MiB\"",
        "JavaScript heap of each worker thread's V8 isolate; a script that needs more is stopped (400)."},
       [](Config& c, const ConfigValue& v) { c.process.script_heap = as_size("process.script_heap", v); }},
      {{"process.block_cache", "size", "\"512MiB\"", "GDAL's block cache for source rasters, for the whole process."},
       [](Config& c, const ConfigValue& v) { c.process.block_cache = as_size("process.block_cache", v); }},
      {{"process.max_input", "size", "\"512MiB\"",
        "Input samples one processing request may hold (pixels x bands x scenes x 4 bytes); more answers 413."},
       [](Config& c, const ConfigValue& v) { c.process.max_input = as_size("process.max_input", v); }},
      {{"http.header_limit", "size", "\"16KiB\"", "Largest request head (request line + headers); larger gets 431."},
       [](Config& c, const ConfigValue& v) { c.http.header_limit = as_size("http.header_limit", v); }},
      {{"http.body_limit", "size", "\"16MiB\"", "Largest request body; larger gets 413."},
       [](Config& c, const ConfigValue& v) { c.http.body_limit = as_size("http.body_limit", v); }},
      {{"http.header_timeout", "duration", "\"10s\"", "The whole request head must arrive within this."},
       [](Config& c, const ConfigValue& v) { c.http.header_timeout = as_duration("http.header_timeout", v); }},
      {{"http.body_timeout", "duration", "\"60s\"", "The whole request body must arrive within this."},
       [](Config& c, const ConfigValue& v) { c.http.body_timeout = as_duration("http.body_timeout", v); }},
      {{"http.idle_timeout", "duration", "\"30s\"", "A keep-alive connection with no request is closed after this."},
       [](Config& c, const ConfigValue& v) { c.http.idle_timeout = as_duration("http.idle_timeout", v); }},
      {{"http.write_timeout", "duration", "\"60s\"", "A client that accepts no bytes for this long is dropped."},
       [](Config& c, const ConfigValue& v) { c.http.write_timeout = as_duration("http.write_timeout", v); }},
      {{"http.drain_timeout", "duration", "\"30s\"", "On SIGTERM/SIGINT, in-flight requests get this long to finish."},
       [](Config& c, const ConfigValue& v) { c.http.drain_timeout = as_duration("http.drain_timeout", v); }},
      {{"http.max_connections", "int", "10000", "Connections beyond this are refused at accept time."},
       [](Config& c, const ConfigValue& v) {
         auto n = as_uint("http.max_connections", v);
         if (n == 0) bad_value("http.max_connections", v, "must be at least 1");
         c.http.max_connections = n;
       }},
  };
  return defs;
}

const SettingDef* find_def(const std::string& name) {
  for (const auto& d : definitions()) {
    if (d.doc.name == name) return &d;
  }
  return nullptr;
}

// Renders a TOML scalar/array as the same text an environment variable would carry.
std::string toml_to_text(const toml::value& v) {
  if (v.is_string()) return v.as_string().str;
  if (v.is_integer()) return std::to_string(v.as_integer());
  if (v.is_boolean()) return v.as_boolean() ? "true" : "false";
  if (v.is_floating()) return std::to_string(v.as_floating());
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v.as_array()) {
      if (!out.empty()) out += ",";
      out += toml_to_text(item);
    }
    return out;
  }
  return toml::format(v);
}

void flatten(const toml::value& table, const std::string& prefix, const std::string& file,
             std::map<std::string, ConfigValue>& out) {
  for (const auto& [key, value] : table.as_table()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (value.is_table()) {
      flatten(value, name, file, out);
    } else {
      out[name] = ConfigValue{toml_to_text(value), "file " + file};
    }
  }
}

}  // namespace

const std::vector<ConfigSetting>& config_settings() {
  static const std::vector<ConfigSetting> docs = [] {
    std::vector<ConfigSetting> out;
    for (const auto& d : definitions()) out.push_back(d.doc);
    return out;
  }();
  return docs;
}

std::string config_env_name(const std::string& setting) {
  std::string out = "DATASPACE_";
  for (char c : setting) out += (c == '.') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::uint64_t> parse_size(const std::string& text) {
  std::uint64_t n = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  auto [p, ec] = std::from_chars(b, e, n);
  if (ec != std::errc() || p == b) return std::nullopt;
  std::string unit(p, e);
  unit.erase(0, unit.find_first_not_of(' '));
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::uint64_t mult = 1;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    mult = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mult = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    mult = 1ull << 30;
  else
    return std::nullopt;
  if (n > UINT64_MAX / mult) return std::nullopt;
  return n * mult;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  std::uint64_t n = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  auto [p, ec] = std::from_chars(b, e, n);
  if (ec != std::errc() || p == b) return std::nullopt;
  std::string unit(p, e);
  if (n > 1'000'000'000ull) return std::nullopt;
  if (unit.empty() || unit == "s") return std::chrono::milliseconds(n * 1000);
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit == "m" || unit == "min") return std::chrono::milliseconds(n * 60'000);
  if (unit == "h") return std::chrono::milliseconds(n * 3'600'000);
  return std::nullopt;
}

std::pair<std::string, unsigned short> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  auto fail = [&]() -> std::pair<std::string, unsigned short> {
    throw Error(ErrorCode::invalid_parameter, "listen address must be HOST:PORT (got '" + listen + "')", "listen");
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return fail();
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const std::string ps = listen.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port > 65535) return fail();
  return {host, static_cast<unsigned short>(port)};
}

std::map<std::string, std::string> dataspace_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    if (kv.rfind("DATASPACE_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

Config load_config(const std::optional<std::filesystem::path>& file, const std::map<std::string, std::string>& env,
                   const std::map<std::string, std::string>& flags) {
  std::map<std::string, ConfigValue> values;

  std::optional<std::filesystem::path> path = file;
  if (!path && std::filesystem::exists("dataspace.toml")) path = "dataspace.toml";
  if (path) {
    if (!std::filesystem::exists(*path))
      throw Error(ErrorCode::invalid_parameter, "configuration file " + path->string() + " does not exist", "config");
    toml::value root;
    try {
      root = toml::parse(path->string());
    } catch (const std::exception& e) {
      throw Error(ErrorCode::invalid_parameter, "configuration file " + path->string() + ": " + e.what(), "config");
    }
    std::map<std::string, ConfigValue> from_file;
    flatten(root, "", path->string(), from_file);
    for (auto& [name, v] : from_file) {
      if (!find_def(name))
        throw Error(ErrorCode::invalid_parameter, "unknown configuration setting '" + name + "' in " + path->string(),
                    name);
      values[name] = v;
    }
  }
  for (const auto& d : definitions()) {
    const auto env_name = config_env_name(d.doc.name);
    if (auto it = env.find(env_name); it != env.end())
      values[d.doc.name] = ConfigValue{it->second, "environment " + env_name};
  }
  for (const auto& [name, value] : flags) {
    if (!find_def(name))
      throw Error(ErrorCode::invalid_parameter, "unknown configuration setting '" + name + "'", name);
    values[name] = ConfigValue{value, "flag --" + name};
  }

  Config config;
  for (const auto& d : definitions()) {
    if (auto it = values.find(d.doc.name); it != values.end()) d.set(config, it->second);
  }
  return config;
}

}  // namespace ds
