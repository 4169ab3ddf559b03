#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <random>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/file.hpp"
#include "storage/object_store.hpp"

namespace ds::storage {

namespace fs = std::filesystem;

void validate_key(std::string_view key) {
  auto bad = [&](const std::string& why) {
    throw Error(ErrorCode::invalid_parameter, "invalid object key: " + why, "key");
  };
  if (key.empty()) bad("empty");
  if (key.size() > 1024) bad("longer than 1024 bytes");
  if (key.front() == '/') bad("must not start with '/'");
  if (key.find('\0') != std::string_view::npos) bad("contains NUL");
  std::size_t start = 0;
  while (start <= key.size()) {
    const auto slash = key.find('/', start);
    const std::string_view seg =
        key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty()) {
      if (slash == std::string_view::npos) bad("must not end with '/'");
      bad("empty path segment");
    }
    if (seg == "." || seg == "..") bad("'.' and '..' segments are not allowed");
    if (seg.substr(0, 5) == ".tmp-") bad("segments starting with '.tmp-' are reserved");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

void validate_bucket(std::string_view b) {
  auto bad = [&](const std::string& why) {
    throw Error(ErrorCode::invalid_parameter, "invalid bucket name '" + std::string(b) + "': " + why, "bucket");
  };
  if (b.size() < 3 || b.size() > 63) bad("must be 3 to 63 characters");
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      bad("only lowercase letters, digits, '-' and '.'");
    }
  }
  if (!std::isalnum(static_cast<unsigned char>(b.front())) || !std::isalnum(static_cast<unsigned char>(b.back()))) {
    bad("must start and end with a letter or digit");
  }
  if (b.find("..") != std::string_view::npos) bad("must not contain '..'");
}

namespace {

ObjectInfo info_of(const std::string& key, const struct stat& st) {
  ObjectInfo i;
  i.key = key;
  i.size = static_cast<std::uint64_t>(st.st_size);
  const auto ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  i.modified = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
  i.etag = fmt::format("\"{:x}-{:x}\"", ns, i.size);
  return i;
}

using Fd = UniqueFd;

// Reads a range of a file through a descriptor it may share with other readers (pread only).
class FileReader final : public ObjectReader {
 public:
  FileReader(std::shared_ptr<const Fd> fd, std::uint64_t offset, std::uint64_t length)
      : fd_(std::move(fd)), pos_(offset), remaining_(length), size_(length) {}
  std::uint64_t size() const override { return size_; }
  std::size_t read(char* out, std::size_t capacity) override {
    if (remaining_ == 0) return 0;
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, remaining_));
    const std::size_t n = pread_some(fd_->get(), out, want, pos_);
    pos_ += n;
    remaining_ -= n;
    return n;
  }

 private:
  std::shared_ptr<const Fd> fd_;
  std::uint64_t pos_, remaining_, size_;
};

// The reader of [offset, offset + length) of a file of `size` bytes.
std::unique_ptr<ObjectReader> range_reader(std::shared_ptr<const Fd> fd, const std::string& key, std::uint64_t size,
                                           std::uint64_t offset, std::optional<std::uint64_t> length) {
  if (offset > size || (offset == size && size > 0 && length.value_or(1) > 0)) {
    throw Error(ErrorCode::range_not_satisfiable,
                fmt::format("offset {} is beyond the {} bytes of {}", offset, size, key));
  }
  const std::uint64_t n = std::min(length.value_or(size - offset), size - offset);
  return std::make_unique<FileReader>(std::move(fd), offset, n);
}

class OpenedFile final : public OpenedObject {
 public:
  OpenedFile(std::shared_ptr<const Fd> fd, ObjectInfo info) : fd_(std::move(fd)), info_(std::move(info)) {}
  const ObjectInfo& info() const override { return info_; }
  std::unique_ptr<ObjectReader> read(std::uint64_t offset, std::optional<std::uint64_t> length) const override {
    return range_reader(fd_, info_.key, info_.size, offset, length);
  }

 private:
  std::shared_ptr<const Fd> fd_;
  ObjectInfo info_;
};

// Opens a regular file for reading: the descriptor and its stat, or nullopt when there is none.
std::optional<std::pair<std::shared_ptr<const Fd>, struct stat>> open_file(const std::string& path) {
  int raw;
  do {
    raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) return std::nullopt;
  auto fd = std::make_shared<const Fd>(raw);
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return std::pair{std::move(fd), st};
}

class FileWriter final : public ObjectWriter {
 public:
  FileWriter(fs::path temp, fs::path final_path, std::string key, int fd)
      : temp_(std::move(temp)), final_(std::move(final_path)), key_(std::move(key)), fd_(fd) {}
  ~FileWriter() override {
    if (!committed_) {
      std::error_code ec;
      fs::remove(temp_, ec);
    }
  }
  void write(const char* data, std::size_t size) override {
    while (size > 0) {
      const ssize_t n = ::write(fd_.get(), data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Error(ErrorCode::internal, std::string("cannot write object: ") + std::strerror(errno));
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  }
  ObjectInfo commit() override {
    if (::fsync(fd_.get()) != 0)
      throw Error(ErrorCode::internal, std::string("cannot sync object: ") + std::strerror(errno));
    ::close(fd_.release());
    std::error_code ec;
    fs::create_directories(final_.parent_path(), ec);
    if (ec) {
      throw Error(ErrorCode::conflict, "cannot store " + key_ + ": a parent of this key is an object", "key");
    }
    if (fs::is_directory(final_)) {
      throw Error(ErrorCode::conflict, "cannot store " + key_ + ": other objects are stored under this key as a prefix",
                  "key");
    }
    fs::rename(temp_, final_, ec);
    if (ec) throw Error(ErrorCode::internal, "cannot publish object " + key_ + ": " + ec.message());
    committed_ = true;
    struct stat st {};
    ::stat(final_.c_str(), &st);
    return info_of(key_, st);
  }

 private:
  fs::path temp_, final_;
  std::string key_;
  Fd fd_;
  bool committed_ = false;
};

std::string hex_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

std::optional<std::string> hex_decode(std::string_view s) {
  if (s.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = s[i + k];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else
        return std::nullopt;
    }
    out += static_cast<char>(v);
  }
  return out;
}

class LocalStore final : public ObjectStore {
 public:
  explicit LocalStore(fs::path root) : root_(std::move(root)) { fs::create_directories(root_); }

  std::vector<std::string> buckets() const override {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(root_)) {
      const auto name = e.path().filename().string();
      if (!e.is_directory()) continue;
      try {
        validate_bucket(name);
        out.push_back(name);
      } catch (const Error&) {
        // not a bucket (e.g. a stray folder an operator made); never served
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  bool bucket_exists(const std::string& bucket) const override {
    validate_bucket(bucket);
    return fs::is_directory(root_ / bucket);
  }

  void create_bucket(const std::string& bucket) override {
    validate_bucket(bucket);
    fs::create_directories(root_ / bucket);
  }

  std::optional<ObjectInfo> head(const std::string& bucket, const std::string& key) const override {
    const auto path = object_file(bucket, key);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return info_of(key, st);
  }

  std::shared_ptr<const OpenedObject> open(const std::string& bucket, const std::string& key) const override {
    auto file = open_file(object_file(bucket, key));
    if (!file) return nullptr;
    return std::make_shared<OpenedFile>(std::move(file->first), info_of(key, file->second));
  }

  std::unique_ptr<ObjectReader> get(const std::string& bucket, const std::string& key, std::uint64_t offset,
                                    std::optional<std::uint64_t> length) const override {
    auto file = open_file(object_file(bucket, key));
    if (!file) throw Error(ErrorCode::not_found, "no object " + key + " in bucket " + bucket, "key");
    return range_reader(std::move(file->first), key, static_cast<std::uint64_t>(file->second.st_size), offset, length);
  }

  ListResult list(const std::string& bucket, const ListRequest& req) const override {
    validate_bucket(bucket);
    const fs::path base = root_ / bucket;
    if (!fs::is_directory(base)) throw Error(ErrorCode::not_found, "no bucket " + bucket, "bucket");
    std::string after = req.start_after;
    if (!req.continuation.empty()) {
      auto decoded = req.continuation.size() > 1 && req.continuation[0] == 'k' ? hex_decode(req.continuation.substr(1))
                                                                               : std::nullopt;
      if (!decoded) throw Error(ErrorCode::invalid_parameter, "invalid continuation token", "continuation-token");
      after = std::max(after, *decoded);
    }
    const std::size_t max_keys = std::min<std::size_t>(req.max_keys, 1000);
    ListResult out;
    if (max_keys == 0) return out;
    std::string last;
    std::size_t emitted = 0;
    // Emits an item in key order; returns false to stop the walk.
    auto emit = [&](const std::string& key, const struct stat* st, bool is_prefix) -> bool {
      if (emitted == max_keys) {
        out.truncated = true;
        out.next_continuation = "k" + hex_encode(last);
        return false;
      }
      if (is_prefix) {
        out.common_prefixes.push_back(key);
      } else {
        out.objects.push_back(info_of(key, *st));
      }
      last = key;
      ++emitted;
      return true;
    };
    const bool slash = req.delimiter == "/";
    const auto& prefix = req.prefix;
    std::string last_prefix;  // for delimiters other than "/": collapse runs of one prefix

    std::function<bool(const fs::path&, const std::string&)> walk = [&](const fs::path& dir, const std::string& rel) {
      std::vector<std::pair<std::string, bool>> entries;  // (name, is_dir)
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        auto name = e.path().filename().string();
        if (name.rfind(".tmp-", 0) == 0) continue;
        std::error_code tec;
        const bool is_dir = e.is_directory(tec);
        if (!is_dir && !e.is_regular_file(tec)) continue;
        entries.emplace_back(std::move(name), is_dir);
      }
      // Key order: a directory sorts as its name followed by '/'.
      std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return (a.first + (a.second ? "/" : "")) < (b.first + (b.second ? "/" : ""));
      });
      for (const auto& [name, is_dir] : entries) {
        if (is_dir) {
          const std::string p = rel + name + "/";
          // Skip subtrees that cannot hold a key under the prefix, or hold only keys <= after.
          const bool within = p.rfind(prefix, 0) == 0 || prefix.rfind(p, 0) == 0;
          if (!within) continue;
          if (p <= after && after.rfind(p, 0) != 0) continue;
          if (slash && p.size() > prefix.size() && p.rfind(prefix, 0) == 0) {
            if (p > after && !emit(p, nullptr, true)) return false;
            continue;
          }
          if (!walk(dir / name, p)) return false;
        } else {
          const std::string key = rel + name;
          if (key.rfind(prefix, 0) != 0 || key <= after) continue;
          if (!req.delimiter.empty() && !slash) {
            const auto pos = key.find(req.delimiter, prefix.size());
            if (pos != std::string::npos) {
              const std::string cp = key.substr(0, pos + req.delimiter.size());
              if (cp == last_prefix || cp <= after) continue;
              last_prefix = cp;
              if (!emit(cp, nullptr, true)) return false;
              continue;
            }
          }
          struct stat st {};
          if (::stat((dir / name).c_str(), &st) != 0) continue;
          if (!emit(key, &st, false)) return false;
        }
      }
      return true;
    };
    walk(base, "");
    return out;
  }

  std::unique_ptr<ObjectWriter> put(const std::string& bucket, const std::string& key) override {
    const auto final_path = object_path(bucket, key);
    if (!fs::is_directory(root_ / bucket)) throw Error(ErrorCode::not_found, "no bucket " + bucket, "bucket");
    thread_local std::mt19937_64 rng(std::random_device{}());
    const auto temp = root_ / bucket / fmt::format(".tmp-put-{:016x}", rng());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(ErrorCode::internal, std::string("cannot create object: ") + std::strerror(errno));
    return std::make_unique<FileWriter>(temp, final_path, key, fd);
  }

  bool remove(const std::string& bucket, const std::string& key) override {
    const auto path = object_path(bucket, key);
    if (!fs::is_regular_file(path)) return false;
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) throw Error(ErrorCode::internal, "cannot delete " + key + ": " + ec.message());
    // Folders exist only to hold keys: drop the ones left empty.
    const fs::path bucket_dir = root_ / bucket;
    for (fs::path p = path.parent_path(); p != bucket_dir && p.string().size() > bucket_dir.string().size();
         p = p.parent_path()) {
      if (!fs::is_empty(p, ec) || ec) break;
      fs::remove(p, ec);
    }
    return true;
  }

  std::string vsi_path(const std::string& bucket, const std::string& key) const override {
    return object_path(bucket, key).string();
  }

 private:
  fs::path object_path(const std::string& bucket, const std::string& key) const {
    validate_bucket(bucket);
    validate_key(key);
    return root_ / bucket / key;
  }

  // The same as a plain string, for the read paths (fs::path splits every component).
  std::string object_file(const std::string& bucket, const std::string& key) const {
    validate_bucket(bucket);
    validate_key(key);
    std::string out;
    out.reserve(root_text_.size() + bucket.size() + key.size() + 2);
    out.append(root_text_).append(1, '/').append(bucket).append(1, '/').append(key);
    return out;
  }

  fs::path root_;
  std::string root_text_ = root_.string();
};

}  // namespace

std::unique_ptr<ObjectStore> make_local_store(fs::path root) { return std::make_unique<LocalStore>(std::move(root)); }

}  // namespace ds::storage
