#pragma once
// Streaming response bodies. A BodyStream is pulled by the server in buffer-sized pieces, so a
// response of any size (a product ZIP, a file range) never sits in memory. A RangedSource is
// content with a known size that can be opened at any byte offset: it is what makes HTTP ranges
// (single and multi-range) work the same way over a file and over a ZIP assembled on the fly.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ds::http {

class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Total bytes the stream will produce, when known in advance (sent as Content-Length).
  virtual std::optional<std::uint64_t> size() const = 0;
  // Copies up to `capacity` bytes into `out`; returns the count, 0 at the end.
  // Throws ds::Error on failure; the server then aborts the connection (the client sees a short body).
  virtual std::size_t read(char* out, std::size_t capacity) = 0;
  // Pacing: how long the server should wait (without blocking a thread) before the next read().
  // Streams that throttle their rate return a positive delay; the default never waits.
  virtual std::chrono::steady_clock::duration pause() { return {}; }
};

// A request body taken piece by piece as it arrives, for routes that declare streamed bodies
// (Router::stream_bodies): an upload of any size reaches its destination without being held in
// memory or spooled. The server calls write() for each piece, in order, then hands the request
// (with Request::body_sink set and Request::body empty) to the handler, which completes the work.
// write() throws ds::Error to refuse the request: the server answers that error and closes the
// connection. A sink destroyed before its handler ran (client gone, error) must leave no trace.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void write(const char* data, std::size_t size) = 0;
};

class RangedSource {
 public:
  virtual ~RangedSource() = default;
  virtual std::uint64_t size() const = 0;
  // A stream of exactly `length` bytes starting at `offset` (offset + length <= size()).
  virtual std::unique_ptr<BodyStream> open(std::uint64_t offset, std::uint64_t length) const = 0;
};

// A regular file as a RangedSource. Throws ds::Error(not_found) if it cannot be opened.
std::shared_ptr<RangedSource> file_source(const std::filesystem::path& path);
// In-memory bytes as a RangedSource.
std::shared_ptr<RangedSource> memory_source(std::string bytes);

// A stream produced by a callback: `fill(out, capacity)` returns bytes written, 0 at the end.
// Size unknown => chunked transfer coding.
std::shared_ptr<BodyStream> generator_stream(std::function<std::size_t(char*, std::size_t)> fill,
                                             std::optional<std::uint64_t> size = std::nullopt);

// Concatenation of in-memory pieces and ranged parts; used for multipart/byteranges.
struct StreamPart {
  std::string prefix;  // bytes sent before the part (e.g. a multipart boundary and headers)
  std::shared_ptr<const RangedSource> source;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
std::shared_ptr<BodyStream> concat_stream(std::vector<StreamPart> parts, std::string suffix);

}  // namespace ds::http
