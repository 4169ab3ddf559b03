#include "http/body.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "core/file.hpp"

namespace ds::http {
namespace {

// A file descriptor shared by all streams opened on one FileSource, so a file replaced on disk
// mid-download keeps serving the version that the response's Content-Length describes.
using Fd = UniqueFd;

class FileStream final : public BodyStream {
 public:
  FileStream(std::shared_ptr<Fd> fd, std::uint64_t offset, std::uint64_t length)
      : fd_(std::move(fd)), pos_(offset), remaining_(length) {}
  std::optional<std::uint64_t> size() const override { return remaining_ + sent_; }
  std::size_t read(char* out, std::size_t capacity) override {
    if (remaining_ == 0) return 0;
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, remaining_));
    const std::size_t n = pread_some(fd_->get(), out, want, pos_);
    pos_ += n;
    remaining_ -= n;
    sent_ += n;
    return n;
  }

 private:
  std::shared_ptr<Fd> fd_;
  std::uint64_t pos_;
  std::uint64_t remaining_;
  std::uint64_t sent_ = 0;
};

class FileSource final : public RangedSource {
 public:
  FileSource(std::shared_ptr<Fd> fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}
  std::uint64_t size() const override { return size_; }
  std::unique_ptr<BodyStream> open(std::uint64_t offset, std::uint64_t length) const override {
    return std::make_unique<FileStream>(fd_, offset, length);
  }

 private:
  std::shared_ptr<Fd> fd_;
  std::uint64_t size_;
};

class MemoryStream final : public BodyStream {
 public:
  MemoryStream(std::shared_ptr<const std::string> bytes, std::uint64_t offset, std::uint64_t length)
      : bytes_(std::move(bytes)), pos_(offset), end_(offset + length) {}
  std::optional<std::uint64_t> size() const override { return end_ - pos_; }
  std::size_t read(char* out, std::size_t capacity) override {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, end_ - pos_));
    std::memcpy(out, bytes_->data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> bytes_;
  std::uint64_t pos_;
  std::uint64_t end_;
};

class MemorySource final : public RangedSource {
 public:
  explicit MemorySource(std::string bytes) : bytes_(std::make_shared<const std::string>(std::move(bytes))) {}
  std::uint64_t size() const override { return bytes_->size(); }
  std::unique_ptr<BodyStream> open(std::uint64_t offset, std::uint64_t length) const override {
    return std::make_unique<MemoryStream>(bytes_, offset, length);
  }

 private:
  std::shared_ptr<const std::string> bytes_;
};

class GeneratorStream final : public BodyStream {
 public:
  GeneratorStream(std::function<std::size_t(char*, std::size_t)> fill, std::optional<std::uint64_t> size)
      : fill_(std::move(fill)), size_(size) {}
  std::optional<std::uint64_t> size() const override { return size_; }
  std::size_t read(char* out, std::size_t capacity) override { return fill_(out, capacity); }

 private:
  std::function<std::size_t(char*, std::size_t)> fill_;
  std::optional<std::uint64_t> size_;
};

class ConcatStream final : public BodyStream {
 public:
  ConcatStream(std::vector<StreamPart> parts, std::string suffix)
      : parts_(std::move(parts)), suffix_(std::move(suffix)) {
    std::uint64_t total = suffix_.size();
    for (const auto& p : parts_) total += p.prefix.size() + p.length;
    size_ = total;
  }
  std::optional<std::uint64_t> size() const override { return size_; }
  std::size_t read(char* out, std::size_t capacity) override {
    std::size_t written = 0;
    while (written < capacity) {
      if (index_ == parts_.size()) {
        const auto n = std::min(capacity - written, suffix_.size() - suffix_pos_);
        std::memcpy(out + written, suffix_.data() + suffix_pos_, n);
        suffix_pos_ += n;
        written += n;
        break;
      }
      auto& part = parts_[index_];
      if (prefix_pos_ < part.prefix.size()) {
        const auto n = std::min(capacity - written, part.prefix.size() - prefix_pos_);
        std::memcpy(out + written, part.prefix.data() + prefix_pos_, n);
        prefix_pos_ += n;
        written += n;
        continue;
      }
      if (!current_) current_ = part.source->open(part.offset, part.length);
      const auto n = current_->read(out + written, capacity - written);
      written += n;
      if (n == 0) {
        current_.reset();
        prefix_pos_ = 0;
        ++index_;
      }
    }
    return written;
  }

 private:
  std::vector<StreamPart> parts_;
  std::string suffix_;
  std::uint64_t size_ = 0;
  std::size_t index_ = 0;
  std::size_t prefix_pos_ = 0;
  std::size_t suffix_pos_ = 0;
  std::unique_ptr<BodyStream> current_;
};

}  // namespace

std::shared_ptr<RangedSource> file_source(const std::filesystem::path& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw Error(ErrorCode::not_found, "cannot open " + path.filename().string());
  auto owner = std::make_shared<Fd>(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::not_found, path.filename().string() + " is not a regular file");
  }
  return std::make_shared<FileSource>(std::move(owner), static_cast<std::uint64_t>(st.st_size));
}

std::shared_ptr<RangedSource> memory_source(std::string bytes) {
  return std::make_shared<MemorySource>(std::move(bytes));
}

std::shared_ptr<BodyStream> generator_stream(std::function<std::size_t(char*, std::size_t)> fill,
                                             std::optional<std::uint64_t> size) {
  return std::make_shared<GeneratorStream>(std::move(fill), size);
}

std::shared_ptr<BodyStream> concat_stream(std::vector<StreamPart> parts, std::string suffix) {
  return std::make_shared<ConcatStream>(std::move(parts), std::move(suffix));
}

}  // namespace ds::http
