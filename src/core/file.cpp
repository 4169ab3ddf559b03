#include "core/file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.hpp"

namespace ds {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

std::size_t pread_some(int fd, char* out, std::size_t size, std::uint64_t offset) {
  ssize_t n;
  do {
    n = ::pread(fd, out, size, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw Error(ErrorCode::internal, std::string("read failed: ") + std::strerror(errno));
  if (n == 0) throw Error(ErrorCode::internal, "file shrank while being read");
  return static_cast<std::size_t>(n);
}

}  // namespace ds
