#pragma once
// The reading room: a read-only HTTP server over the archive (`fieldsync web`), with
// cpp-httplib. Pages come from node/web_model.h and node/web_pages.h.
//
// Safe by construction:
//   - it binds to loopback unless WebOptions::listen names another address (and then logs
//     that it listens beyond loopback);
//   - only GET and HEAD are answered; any other method gets 405 and changes nothing (the
//     server holds no write path to the archive: it takes a const Archive&);
//   - every response carries a strict Content-Security-Policy (no scripts, no third-party
//     resources, styles and images only from itself), X-Content-Type-Options: nosniff,
//     Referrer-Policy: no-referrer and frame-ancestors 'none';
//   - query strings, request bodies, headers and page sizes are bounded (web_model.h);
//   - with WebOptions::password set, every request needs it (HTTP Basic, any user name).
// Threads: run() serves on a small pool of threads, each request with its own ReadTxn;
// stop() may be called from any thread. Lifetime: the archive must outlive the server.
// Errors: a listen address that does not parse or cannot be bound throws Error.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "node/log.h"
#include "store/archive.h"

namespace fieldsync::node {

inline constexpr const char* DEFAULT_WEB_LISTEN = "127.0.0.1:7480";

/// The Content-Security-Policy every response carries.
inline constexpr const char* WEB_CSP =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'";

struct WebOptions {
  std::string listen = DEFAULT_WEB_LISTEN;  // HOST:PORT or [V6]:PORT; port 0: any free port
  std::string nodeName{};
  std::string nodeKey{};   // 64 hex, shown on /status
  std::string password{};  // empty: no password asked
  int threads = 4;
  /// Seconds since 1970 for /status ("as of"); empty: the system clock.
  std::function<std::int64_t()> clock{};
};

/// "127.0.0.1", "::1", "localhost" and the rest of 127.0.0.0/8 are loopback.
bool isLoopbackHost(const std::string& host);

class WebServer {
 public:
  /// Binds the listen address; throws Error when it does not parse or cannot be bound.
  WebServer(const store::Archive& archive, WebOptions options, LogSink log = {});
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  /// The bound address, "127.0.0.1:7480" (the real port when 0 was asked for).
  const std::string& address() const { return m_address; }
  std::uint16_t port() const { return m_port; }
  bool beyondLoopback() const { return m_beyondLoopback; }

  /// Serves until stop(). Throws Error when the server fails.
  void run();
  /// Ends run() (from any thread, also before run() started).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::string m_address;
  std::uint16_t m_port = 0;
  bool m_beyondLoopback = false;
};

}  // namespace fieldsync::node
