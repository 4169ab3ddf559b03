#include "http/server.hpp"

#include <array>
#include <atomic>
#include <csignal>
#include <list>
#include <mutex>
#include <span>
#include <thread>

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "http/body.hpp"

namespace ds::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using net::redirect_error;
using net::use_awaitable;

namespace {

// Runs a streamed request body's sink call; the error to answer with when it fails (its own
// ds::Error, or a logged internal error for anything else).
template <typename F>
std::optional<Error> sink_error(const Request& req, F&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    log::error("request body sink for {} failed: {}", req.path, e.what());
    return Error(ErrorCode::internal, "internal error");
  }
  return std::nullopt;
}

// One cached Date header per thread per second: formatting a date costs more than routing.
const std::string& http_date_now() {
  thread_local std::string cached;
  thread_local std::int64_t cached_second = -1;
  const auto now = std::chrono::system_clock::now();
  const auto sec = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (sec != cached_second) {
    cached = format_http_date(now);
    cached_second = sec;
  }
  return cached;
}

// Appends `s` as a JSON string literal. Control bytes and non-ASCII bytes are escaped as \u00XX
// so that a line always parses, whatever a client put in its request target or User-Agent.
// A bearer token passed as ?token=… (CDSE's zipper style) must not end up in the access log.
std::string redact_token(std::string_view target) {
  std::string out(target);
  const auto q = out.find('?');
  if (q == std::string::npos) return out;
  std::size_t pos = q + 1;
  while (pos < out.size()) {
    const auto amp = out.find('&', pos);
    const std::size_t end = amp == std::string::npos ? out.size() : amp;
    if (out.compare(pos, 6, "token=") == 0 && end > pos + 6) {
      out.replace(pos + 6, end - pos - 6, "REDACTED");
      pos = pos + 6 + 8 + 1;
      continue;
    }
    pos = end + 1;
  }
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x80) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

struct Connection {
  explicit Connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  bool busy = false;  // between the first byte of a request and the last byte of its response (strand-only)
  bool closed = false;
};

}  // namespace

// One io_context per thread: a connection lives on one thread from accept to close, so no request
// ever wakes another thread (a wake-up costs more than a small request on a VM), and no strand is
// needed. Handlers that block (heavy processing) must hand their work to a worker pool.
std::vector<std::unique_ptr<net::io_context>> make_contexts(unsigned n) {
  std::vector<std::unique_ptr<net::io_context>> out;
  for (unsigned i = 0; i < n; ++i) out.push_back(std::make_unique<net::io_context>(1));
  return out;
}

struct Server::Impl {
  Impl(const Config& c, const Pipeline& p, Metrics& m)
      : config(c),
        pipeline(p),
        metrics(m),
        threads(c.threads ? c.threads : std::max(1u, std::thread::hardware_concurrency())),
        contexts(make_contexts(threads)),
        ioc(*contexts.front()),
        acceptor(ioc),
        signals(ioc, SIGINT, SIGTERM),
        drain_timer(ioc) {}

  const Config& config;
  const Pipeline& pipeline;
  Metrics& metrics;
  unsigned threads;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  net::io_context& ioc;  // the first context: acceptor, signals, drain timer
  std::size_t next_context = 0;
  // Keeps the other contexts running while they have no connection.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  tcp::acceptor acceptor;
  net::signal_set signals;
  net::steady_timer drain_timer;
  std::atomic<bool> stopping{false};
  std::chrono::steady_clock::time_point drain_deadline;

  std::mutex conns_mutex;
  std::list<std::shared_ptr<Connection>> conns;
  // One per context, see heartbeat().
  std::vector<std::unique_ptr<net::steady_timer>> heartbeats;

  // Asio re-arms its timer descriptor (a system call) whenever a new timer becomes the earliest
  // of its thread, which a connection's timeout would be on nearly every request of a keep-alive
  // connection. A timer due within a second, re-armed every second, stays earlier than any
  // connection's (their timeouts are longer by default), so those cost no system call.
  void heartbeat(net::steady_timer& timer) {
    timer.expires_after(std::chrono::seconds(1));
    timer.async_wait([this, &timer](const beast::error_code& ec) {
      if (!ec && !stopping) heartbeat(timer);
    });
  }

  awaitable<void> accept_loop();
  awaitable<void> session(std::shared_ptr<Connection> conn);
  awaitable<bool> write_response(Connection& conn, Request& req, Response& res, std::uint64_t& bytes_out);
  awaitable<bool> write_rest(Connection& conn, const Request& req, Response& res, std::span<char> buffer,
                             std::uint64_t sent, std::optional<std::uint64_t> size, bool keep_alive,
                             std::uint64_t& bytes_out);
  void begin_shutdown();
  void check_drained();
  void log_request(const Request& req, int status, std::uint64_t bytes, double seconds);
};

Server::Server(const Config& config, const Pipeline& pipeline, Metrics& metrics)
    : impl_(std::make_unique<Impl>(config, pipeline, metrics)) {}

Server::~Server() = default;

unsigned short Server::listen() {
  auto [host, port] = split_listen(impl_->config.listen);
  beast::error_code ec;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) throw Error(ErrorCode::invalid_parameter, "listen: '" + host + "' is not an IP address", "listen");
  tcp::endpoint endpoint(address, port);
  auto& acc = impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(ErrorCode::service_unavailable, "cannot listen on " + impl_->config.listen + ": " + ec.message(),
                "listen");
  }
  return acc.local_endpoint().port();
}

void Server::run() {
  auto& im = *impl_;
  im.signals.async_wait([&im](const beast::error_code& ec, int sig) {
    if (ec) return;
    log::info("signal {} received: draining in-flight requests", sig);
    im.begin_shutdown();
  });
  net::co_spawn(im.ioc, im.accept_loop(), net::detached);
  for (auto& context : im.contexts) {
    im.heartbeats.push_back(std::make_unique<net::steady_timer>(*context));
    im.heartbeat(*im.heartbeats.back());
  }
  for (unsigned i = 1; i < im.threads; ++i) im.guards.push_back(net::make_work_guard(*im.contexts[i]));
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < im.threads; ++i) pool.emplace_back([&im, i] { im.contexts[i]->run(); });
  im.ioc.run();
  for (auto& t : pool) t.join();
}

void Server::stop() {
  net::post(impl_->ioc, [im = impl_.get()] { im->begin_shutdown(); });
}

void Server::Impl::begin_shutdown() {
  if (stopping.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  drain_deadline = std::chrono::steady_clock::now() + config.http.drain_timeout;
  {
    std::lock_guard lock(conns_mutex);
    for (auto& c : conns) {
      // Idle connections are closed now; busy ones close after their current response.
      net::post(c->stream.get_executor(), [c] {
        if (!c->busy && !c->closed) {
          beast::error_code ignored;
          c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
          c->stream.cancel();
        }
      });
    }
  }
  check_drained();
}

void Server::Impl::check_drained() {
  std::size_t open;
  {
    std::lock_guard lock(conns_mutex);
    open = conns.size();
  }
  if (open == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
    if (open > 0) log::warn("drain timeout: closing {} connection(s) with requests still in flight", open);
    guards.clear();
    for (auto& c : contexts) c->stop();
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(20));
  drain_timer.async_wait([this](const beast::error_code& ec) {
    if (!ec) check_drained();
  });
}

awaitable<void> Server::Impl::accept_loop() {
  while (!stopping) {
    beast::error_code ec;
    auto& target = *contexts[next_context++ % contexts.size()];
    tcp::socket socket = co_await acceptor.async_accept(target, redirect_error(use_awaitable, ec));
    if (ec) {
      if (stopping || ec == net::error::operation_aborted) break;
      // Out of file descriptors and the like: back off briefly rather than spin.
      log::warn("accept failed: {}", ec.message());
      net::steady_timer t(ioc, std::chrono::milliseconds(50));
      beast::error_code wait_ec;
      co_await t.async_wait(redirect_error(use_awaitable, wait_ec));
      continue;
    }
    if (static_cast<std::size_t>(metrics.connections_open.load()) >= config.http.max_connections) {
      metrics.connections_rejected.fetch_add(1);
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // Asynchronous operations do not depend on it; write_message's first attempt must not block.
    socket.non_blocking(true, ignored);
    auto conn = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(conns_mutex);
      conns.push_back(conn);
    }
    metrics.connections_open.fetch_add(1);
    metrics.connections_total.fetch_add(1);
    auto executor = conn->stream.get_executor();
    net::co_spawn(executor, session(conn), [this, conn](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("connection ended by exception: {}", ex.what());
        } catch (...) {
        }
      }
      conn->closed = true;
      beast::error_code ignored2;
      conn->stream.socket().close(ignored2);
      metrics.connections_open.fetch_sub(1);
      std::lock_guard lock(conns_mutex);
      conns.remove(conn);
    });
  }
}

void Server::Impl::log_request(const Request& req, int status, std::uint64_t bytes, double seconds) {
  if (req.ctx.stats) {
    req.ctx.stats->observe(status, seconds, bytes);
  } else {
    metrics.unmatched()->observe(status, seconds, bytes);
  }
  if (!access_log_enabled()) return;
  // Built by hand: this runs for every request and a JSON DOM would cost more than the request.
  std::string line;
  line.reserve(512);
  line += "{\"ts\":";
  append_json_string(line, format_iso8601(std::chrono::system_clock::now()));
  line += ",\"request_id\":";
  append_json_string(line, req.ctx.request_id);
  line += ",\"remote\":";
  append_json_string(line, req.ctx.remote_addr);
  line += ",\"method\":";
  append_json_string(line, req.method_text);
  line += ",\"target\":";
  append_json_string(line, redact_token(std::string_view(req.target).substr(0, 2048)));
  line += ",\"route\":";
  append_json_string(line, req.ctx.route);
  line +=
      fmt::format(",\"status\":{},\"bytes\":{},\"duration_ms\":{:.3f},\"principal\":", status, bytes, seconds * 1e3);
  append_json_string(line, req.ctx.principal);
  if (auto ua = req.header("User-Agent")) {
    line += ",\"user_agent\":";
    append_json_string(line, ua->substr(0, 256));
  }
  for (const auto& [k, v] : req.ctx.log_fields.items()) {
    line += ',';
    append_json_string(line, k);
    line += ':';
    line += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  line += '}';
  write_access_log(line);
}

namespace {

// Writes what `sr` holds: first straight to the socket (non-blocking, see accept_loop), which takes
// a small answer whole without a round through the event loop or a timer; what the socket does
// not take then goes asynchronously, under the stream's write timeout.
template <class Serializer>
awaitable<void> write_message(beast::tcp_stream& stream, Serializer& sr, beast::error_code& ec) {
  bhttp::write(stream.socket(), sr, ec);
  if (ec == net::error::would_block || ec == net::error::try_again) {
    ec = {};
    co_await bhttp::async_write(stream, sr, redirect_error(use_awaitable, ec));
  }
}

}  // namespace

awaitable<bool> Server::Impl::write_response(Connection& conn, Request& req, Response& res, std::uint64_t& bytes_out) {
  const bool keep_alive = req.keep_alive && !stopping;
  const bool head = req.method == Method::head;
  bhttp::response<bhttp::string_body> msg;
  msg.version(11);
  msg.result(static_cast<unsigned>(res.status));
  for (const auto& [name, value] : res.headers) msg.insert(name, value);
  msg.set(bhttp::field::date, http_date_now());
  msg.set(bhttp::field::server, "dataspace/" DATASPACE_VERSION);
  msg.keep_alive(keep_alive);
  const bool no_body_status = res.status == 204 || res.status == 304 || res.status < 200;

  conn.stream.expires_after(config.http.write_timeout);
  if (!res.stream) {
    if (no_body_status) {
      res.body.clear();
    } else {
      msg.content_length(res.body.size());
    }
    if (!head) msg.body() = std::move(res.body);
    bhttp::serializer<false, bhttp::string_body> sr(msg);
    if (head) sr.split(true);
    beast::error_code ec;
    if (head) {
      co_await bhttp::async_write_header(conn.stream, sr, redirect_error(use_awaitable, ec));
    } else {
      co_await write_message(conn.stream, sr, ec);
      bytes_out = msg.body().size();
    }
    co_return !ec && keep_alive;
  }

  // Streamed body: header first, then the stream in pieces, with Content-Length when the size is
  // known and chunked transfer coding otherwise.
  const auto size = res.stream->size();
  if (size) {
    msg.content_length(*size);
  } else if (!no_body_status) {
    msg.chunked(true);
  }
  // Pieces of up to 256 KiB, no larger than the body (small ranges are most of GDAL's reads),
  // left uninitialised: they are always written before they are sent.
  const std::size_t capacity =
      static_cast<std::size_t>(std::clamp<std::uint64_t>(size.value_or(256 * 1024), 1, 256 * 1024));
  const std::unique_ptr<char[]> piece(new char[capacity]);
  const auto buffer = std::span<char>(piece.get(), capacity);
  if (size && *size > 0 && *size <= capacity && !head && !no_body_status) {
    // A small body read whole goes out with the header in one write: one system call and one
    // segment instead of two, which is most of a 16 KiB ranged read's cost beside the client's.
    std::size_t n = 0;
    try {
      n = res.stream->read(buffer.data(), buffer.size());
    } catch (const std::exception& e) {
      log::error("request {}: body stream failed before its first byte: {}", req.ctx.request_id, e.what());
      co_return false;
    }
    if (n == *size) {
      bhttp::response<bhttp::buffer_body> whole{std::move(msg.base())};
      whole.body().data = buffer.data();
      whole.body().size = n;
      whole.body().more = false;
      beast::error_code ec;
      bhttp::serializer<false, bhttp::buffer_body> wsr(whole);
      co_await write_message(conn.stream, wsr, ec);
      if (ec) co_return false;
      bytes_out = n;
      co_return keep_alive;
    }
    // A paced stream gave less: the header, then that piece, then the rest as below.
    bhttp::serializer<false, bhttp::string_body> sr(msg);
    sr.split(true);
    beast::error_code hec;
    co_await bhttp::async_write_header(conn.stream, sr, redirect_error(use_awaitable, hec));
    if (hec) co_return false;
    if (n > 0) {
      beast::error_code ec;
      co_await net::async_write(conn.stream, net::buffer(buffer.data(), n), redirect_error(use_awaitable, ec));
      if (ec) co_return false;
    }
    bytes_out = n;
    co_return co_await write_rest(conn, req, res, buffer, n, size, keep_alive, bytes_out);
  }
  bhttp::serializer<false, bhttp::string_body> sr(msg);
  sr.split(true);
  beast::error_code hec;
  co_await bhttp::async_write_header(conn.stream, sr, redirect_error(use_awaitable, hec));
  if (hec) co_return false;
  if (head || no_body_status) co_return keep_alive;
  co_return co_await write_rest(conn, req, res, buffer, 0, size, keep_alive, bytes_out);
}

// The streamed body after its header (and `sent` bytes already written), in pieces of `buffer`.
awaitable<bool> Server::Impl::write_rest(Connection& conn, const Request& req, Response& res, std::span<char> buffer,
                                         std::uint64_t sent, std::optional<std::uint64_t> size, bool keep_alive,
                                         std::uint64_t& bytes_out) {
  while (true) {
    std::size_t n = 0;
    if (const auto wait = res.stream->pause(); wait > std::chrono::steady_clock::duration::zero()) {
      net::steady_timer pacing(conn.stream.get_executor(), wait);
      beast::error_code pec;
      co_await pacing.async_wait(redirect_error(use_awaitable, pec));
    }
    try {
      n = res.stream->read(buffer.data(), buffer.size());
    } catch (const std::exception& e) {
      // Headers are gone already: the only honest signal left is to cut the connection short.
      log::error("request {}: body stream failed after {} bytes: {}", req.ctx.request_id, sent, e.what());
      co_return false;
    }
    if (n == 0) break;
    conn.stream.expires_after(config.http.write_timeout);
    beast::error_code ec;
    if (size) {
      co_await net::async_write(conn.stream, net::buffer(buffer.data(), n), redirect_error(use_awaitable, ec));
    } else {
      co_await net::async_write(conn.stream, bhttp::make_chunk(net::buffer(buffer.data(), n)),
                                redirect_error(use_awaitable, ec));
    }
    if (ec) {
      bytes_out = sent;
      co_return false;
    }
    sent += n;
    bytes_out = sent;
    if (size && sent > *size) co_return false;
  }
  if (!size) {
    beast::error_code ec;
    co_await net::async_write(conn.stream, bhttp::make_chunk_last(), redirect_error(use_awaitable, ec));
    if (ec) co_return false;
  } else if (sent != *size) {
    log::error("request {}: body stream produced {} of {} bytes", req.ctx.request_id, sent, *size);
    co_return false;
  }
  co_return keep_alive;
}

awaitable<void> Server::Impl::session(std::shared_ptr<Connection> conn) {
  beast::flat_buffer buffer;
  std::string remote;
  {
    beast::error_code ec;
    auto ep = conn->stream.socket().remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
  }
  bool first = true;
  while (!stopping) {
    // Wait for the first byte of the next request: the idle timeout applies (the head timeout on a
    // fresh connection). Then the whole head must arrive within header_timeout.
    if (buffer.size() == 0) {
      conn->stream.expires_after(first ? std::min(config.http.idle_timeout, config.http.header_timeout)
                                       : config.http.idle_timeout);
      beast::error_code ec;
      const std::size_t n =
          co_await conn->stream.async_read_some(buffer.prepare(8192), redirect_error(use_awaitable, ec));
      if (ec) co_return;
      buffer.commit(n);
    }
    first = false;
    conn->busy = true;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(config.http.header_limit, UINT32_MAX)));
    // The limit that applies depends on the route (streamed bodies may be larger): the largest one
    // here, the right one checked once the head is known.
    const std::uint64_t largest_body =
        std::max<std::uint64_t>(config.http.body_limit, pipeline.router().max_streamed_body());
    parser.body_limit(largest_body);
    conn->stream.expires_after(config.http.header_timeout);
    beast::error_code hec;
    // Most heads arrive whole in the first read: parse them from the buffer, without a round
    // through the event loop; read more only when the parser needs it.
    bool parsed = false;
    if (buffer.size() > 0) {
      buffer.consume(parser.put(buffer.data(), hec));
      if (hec == bhttp::error::need_more) {
        hec = {};
      } else {
        parsed = hec || parser.is_header_done();
      }
    }
    if (!parsed) co_await bhttp::async_read_header(conn->stream, buffer, parser, redirect_error(use_awaitable, hec));

    Request req;
    req.ctx.remote_addr = remote;
    auto reject_and_close = [&](Error error, bool linger = false) -> awaitable<void> {
      req.keep_alive = false;
      if (req.target.empty()) req.target = "/";
      if (req.method_text.empty()) req.method_text = "-";
      if (req.path.empty()) split_target(req);
      Response res = pipeline.reject(req, error);
      std::uint64_t bytes = 0;
      metrics.in_flight.fetch_add(1);
      co_await write_response(*conn, req, res, bytes);
      metrics.in_flight.fetch_sub(1);
      log_request(req, res.status, bytes,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - req.ctx.start).count());
      if (linger) {
        // Lingering close: stop sending, then read and discard what the client is still sending
        // for a moment (bounded in time and bytes), so that it reads our answer instead of a reset.
        beast::error_code ignored;
        conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        conn->stream.expires_after(std::chrono::seconds(2));
        std::array<char, 16384> scratch{};
        std::size_t drained = 0;
        while (drained < 64u * 1024 * 1024) {
          beast::error_code rec;
          drained += co_await conn->stream.async_read_some(net::buffer(scratch), redirect_error(use_awaitable, rec));
          if (rec) break;
        }
      }
    };

    const auto too_large = [](std::uint64_t limit) {
      return Error(ErrorCode::payload_too_large, "request body exceeds " + std::to_string(limit) + " bytes");
    };
    if (hec) {
      if (hec == bhttp::error::body_limit) {
        // A declared Content-Length over the limit is refused before any body byte is read. The
        // request line has been parsed, so the error is rendered in the format of the path asked.
        req.target = std::string(parser.get().target());
        split_target(req);
        const auto* streamed = pipeline.router().streamed_bodies_for(req.path);
        co_await reject_and_close(too_large(streamed ? streamed->max_bytes : config.http.body_limit), true);
      } else if (hec == bhttp::error::header_limit) {
        co_await reject_and_close(Error(ErrorCode::header_too_large,
                                        "request head exceeds " + std::to_string(config.http.header_limit) + " bytes"));
      } else if (hec == beast::error::timeout) {
        co_await reject_and_close(Error(ErrorCode::request_timeout, "request head not received in time"));
      } else if (hec != bhttp::error::end_of_stream && hec != net::error::eof && hec != net::error::connection_reset &&
                 hec != net::error::operation_aborted) {
        co_await reject_and_close(Error(ErrorCode::bad_request, "malformed request: " + hec.message()));
      }
      co_return;
    }

    {
      auto& h = parser.get();
      req.method_text = std::string(h.method_string());
      req.method = parse_method(req.method_text);
      req.target = std::string(h.target());
      split_target(req);
      for (const auto& f : h) req.headers.add(std::string(f.name_string()), std::string(f.value()));
      req.keep_alive = h.keep_alive();
    }

    // The body's limit: http.body_limit, or the route's own when it streams bodies into a sink
    // (decided from the head by the route's factory, which may refuse the request right away).
    std::shared_ptr<BodySink> sink;
    std::uint64_t body_limit = config.http.body_limit;
    const auto declared = parser.content_length();
    if (!parser.is_done()) {
      if (const auto* streamed = pipeline.router().streamed_bodies_for(req.path)) {
        if (declared && *declared > streamed->max_bytes) {
          co_await reject_and_close(too_large(streamed->max_bytes), true);
          co_return;
        }
        std::optional<Error> refused = sink_error(req, [&] { sink = streamed->factory(req); });
        if (refused) {
          co_await reject_and_close(std::move(*refused), true);
          co_return;
        }
        if (sink) body_limit = streamed->max_bytes;
      }
      if (declared && *declared > body_limit) {
        co_await reject_and_close(too_large(body_limit), true);
        co_return;
      }
      parser.body_limit(body_limit);  // chunked bodies are checked as they arrive
    }

    // Body (if any), with its own deadline. Clients that wait for "100 Continue" get it first.
    const auto body_error = [&](const beast::error_code& bec) -> std::optional<Error> {
      if (bec == bhttp::error::body_limit) return too_large(body_limit);
      if (bec == beast::error::timeout) return Error(ErrorCode::request_timeout, "request body not received in time");
      if (bec != net::error::eof && bec != bhttp::error::partial_message && bec != net::error::connection_reset &&
          bec != net::error::operation_aborted)
        return Error(ErrorCode::bad_request, "malformed request body: " + bec.message());
      return std::nullopt;  // the client went away: nobody to answer
    };
    if (!parser.is_done()) {
      if (auto expect = req.header("Expect"); expect && iequals(*expect, "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        conn->stream.expires_after(config.http.write_timeout);
        beast::error_code cec;
        co_await bhttp::async_write(conn->stream, cont, redirect_error(use_awaitable, cec));
        if (cec) co_return;
      }
      if (sink) {
        // Piece by piece into the sink; http.body_timeout applies to each piece (a large upload
        // may take longer than that as a whole, as long as it keeps moving).
        bhttp::request_parser<bhttp::buffer_body> body_parser(std::move(parser));
        std::vector<char> piece(256 * 1024);
        while (!body_parser.is_done()) {
          body_parser.get().body().data = piece.data();
          body_parser.get().body().size = piece.size();
          conn->stream.expires_after(config.http.body_timeout);
          beast::error_code bec;
          co_await bhttp::async_read_some(conn->stream, buffer, body_parser, redirect_error(use_awaitable, bec));
          if (bec == bhttp::error::need_buffer) bec = {};
          if (bec) {
            if (auto e = body_error(bec)) co_await reject_and_close(std::move(*e), bec == bhttp::error::body_limit);
            co_return;
          }
          const std::size_t got = piece.size() - body_parser.get().body().size;
          if (got == 0) continue;
          std::optional<Error> refused = sink_error(req, [&] { sink->write(piece.data(), got); });
          if (refused) {
            co_await reject_and_close(std::move(*refused), true);
            co_return;
          }
        }
      } else {
        conn->stream.expires_after(config.http.body_timeout);
        beast::error_code bec;
        co_await bhttp::async_read(conn->stream, buffer, parser, redirect_error(use_awaitable, bec));
        if (bec) {
          if (auto e = body_error(bec)) co_await reject_and_close(std::move(*e), bec == bhttp::error::body_limit);
          co_return;
        }
      }
    }
    if (sink) {
      req.body_sink = std::move(sink);
    } else {
      req.body = std::move(parser.get().body());
    }

    metrics.in_flight.fetch_add(1);
    Response res = pipeline.handle(req);
    std::uint64_t bytes = 0;
    const bool again = co_await write_response(*conn, req, res, bytes);
    metrics.in_flight.fetch_sub(1);
    log_request(req, res.status, bytes,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - req.ctx.start).count());
    conn->busy = false;
    if (!again) {
      beast::error_code ignored;
      conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

}  // namespace ds::http
