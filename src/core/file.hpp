#pragma once
// RAII ownership of a POSIX file descriptor, and positional reads that retry on EINTR.

#include <cstddef>
#include <cstdint>
#include <utility>

namespace ds {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Reads up to `size` bytes at `offset`. Returns the count (> 0). Throws ds::Error(internal) on an
// I/O error and when the file ends before `offset` ("file shrank while being read").
std::size_t pread_some(int fd, char* out, std::size_t size, std::uint64_t offset);

}  // namespace ds
