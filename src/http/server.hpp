#pragma once
// The HTTP/1.1 server: Boost.Beast over Asio, one strand per connection, a pool of threads sized to
// the cores. Enforces the request limits of HttpLimits (head size, body size, head/body/idle/write
// timeouts: a client sending one byte a second is cut off when its head deadline passes), keeps
// connections alive, answers HEAD, streams bodies, and shuts down gracefully: on stop() it closes
// the listener, closes idle connections, lets in-flight requests finish (up to drain_timeout), then
// returns from run().

#include <memory>
#include <string>

#include "core/config.hpp"
#include "http/middleware.hpp"

namespace ds::http {

class Server {
 public:
  Server(const Config& config, const Pipeline& pipeline, Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on config.listen. Returns the bound port (useful with port 0).
  // Throws ds::Error(service_unavailable) when the address cannot be bound.
  unsigned short listen();
  // Serves until stop() or SIGINT/SIGTERM, then drains. Runs the thread pool on the calling thread
  // plus (threads - 1) others.
  void run();
  // Starts a graceful shutdown. Thread-safe, idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds::http
