#include "synth/generator.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/log.hpp"

namespace ds::synth {

namespace fs = std::filesystem;

std::filesystem::path eodata_root(const std::filesystem::path& data_dir) { return data_dir / "objects" / "eodata"; }

std::string file_digest(const fs::path& path, const char* algorithm) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::internal, "cannot read " + path.string());
  const EVP_MD* md = EVP_get_digestbyname(algorithm);
  if (!md) throw Error(ErrorCode::internal, std::string("digest not available: ") + algorithm);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", out[i]);
  return hex;
}

ProductWriter::ProductWriter(fs::path objects_root, std::string key) : key_(std::move(key)) {
  final_ = objects_root / key_;
  thread_local std::mt19937_64 rng(std::random_device{}());
  temp_ = final_.parent_path() / fmt::format(".tmp-{}-{}-{:x}", final_.filename().string(), ::getpid(), rng());
  fs::create_directories(temp_);
}

ProductWriter::~ProductWriter() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
}

bool ProductWriter::exists(const fs::path& objects_root, const std::string& key) {
  return fs::exists(objects_root / key);
}

fs::path ProductWriter::path(const std::string& relative) {
  if (relative.empty() || relative.find("..") != std::string::npos || relative.front() == '/') {
    throw Error(ErrorCode::internal, "bad product file path " + relative);
  }
  auto p = temp_ / relative;
  fs::create_directories(p.parent_path());
  return p;
}

void ProductWriter::write_text(const std::string& relative, const std::string& text) {
  const auto p = path(relative);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw Error(ErrorCode::internal, "cannot write " + p.string());
}

FileEntry ProductWriter::describe(const std::string& relative) const {
  const auto p = temp_ / relative;
  FileEntry e;
  e.path = relative;
  e.size = fs::file_size(p);
  e.md5 = file_digest(p, "MD5");
  e.sha3_256 = file_digest(p, "SHA3-256");
  return e;
}

void ProductWriter::commit() {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(temp_)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), temp_).generic_string());
  }
  std::sort(files.begin(), files.end());
  nlohmann::json list = nlohmann::json::array();
  std::uint64_t total = 0;
  for (const auto& f : files) {
    const auto e = describe(f);
    total += e.size;
    list.push_back({{"path", e.path}, {"size", e.size}, {"md5", e.md5}, {"sha3-256", e.sha3_256}});
  }
  // BLAKE3, which CDSE also shows, is in neither OpenSSL 3.0 nor a Debian 12 package: SHA3-256
  // (what the SAFE manifests use) is recorded instead.
  nlohmann::json sidecar = {{"product", final_.filename().string()}, {"size", total}, {"files", list}};
  const fs::path sidecar_path = final_.string() + ".checksums.json";
  const fs::path sidecar_tmp = temp_.string() + ".checksums.json";
  {
    std::ofstream out(sidecar_tmp, std::ios::binary | std::ios::trunc);
    out << sidecar.dump(1) << "\n";
    if (!out) throw Error(ErrorCode::internal, "cannot write " + sidecar_tmp.string());
  }
  fs::rename(sidecar_tmp, sidecar_path);
  std::error_code ec;
  fs::rename(temp_, final_, ec);
  if (ec) {
    // Another process published the same product meanwhile: same seed, same bytes; keep theirs.
    fs::remove_all(temp_, ec);
  }
  committed_ = true;
}

SynthReport run_synth(const SynthOptions& options, const std::function<void(const std::string&)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  World world(options.region, options.seed);
  const auto root = eodata_root(options.data_dir);
  fs::create_directories(root);

  auto generators = builtin_generators();
  std::set<std::string> known;
  for (const auto& g : generators) known.insert(g->id());
  for (const auto& m : options.missions) {
    if (!known.count(m)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error(ErrorCode::invalid_parameter, "unknown mission '" + m + "' (known: " + list + ")", "missions");
    }
  }
  if (options.scale != 1 && options.scale != 2 && options.scale != 5 && options.scale != 10) {
    throw Error(ErrorCode::invalid_parameter, "scale must be 1, 2, 5 or 10", "scale");
  }
  if (options.to_day < options.from_day) throw Error(ErrorCode::invalid_parameter, "--to is before --from", "to");

  std::vector<Task> tasks;
  for (const auto& g : generators) {
    if (!options.missions.count(g->id())) continue;
    auto planned = g->plan(options, world);
    for (auto& t : planned) tasks.push_back(std::move(t));
  }
  SynthReport report;
  report.planned = tasks.size();

  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  auto worker = [&] {
    while (true) {
      const std::size_t i = next.fetch_add(1);
      if (i >= tasks.size()) return;
      const auto& task = tasks[i];
      if (ProductWriter::exists(root, task.key)) {
        std::lock_guard lock(mutex);
        ++report.cached;
        continue;
      }
      try {
        ProductWriter writer(root, task.key);
        task.run(writer);
        writer.commit();
        std::uint64_t bytes = 0;
        for (const auto& e : fs::recursive_directory_iterator(root / task.key)) {
          if (e.is_regular_file()) bytes += e.file_size();
        }
        std::lock_guard lock(mutex);
        ++report.generated;
        report.bytes += bytes;
        if (progress) progress(task.key);
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(task.key + ": " + e.what());
        log::error("synth: {} failed: {}", task.key, e.what());
      }
    }
  };
  const unsigned n = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < n; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!failures.empty()) {
    throw Error(ErrorCode::internal, fmt::format("{} product(s) failed, first: {}", failures.size(), failures.front()));
  }
  return report;
}

}  // namespace ds::synth
