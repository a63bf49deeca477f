#include "node/web_server.h"

#include <httplib.h>
#include <sodium.h>

#include <atomic>
#include <chrono>

#include "node/web_model.h"
#include "node/web_pages.h"
#include "protocol/minisign.h"
#include "store/provenance.h"

namespace fieldsync::node {
namespace {

/// host and port of "HOST:PORT" or "[V6]:PORT".
std::pair<std::string, int> parseListen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  const auto bad = [&] {
    return Error("--listen " + listen + ": expected HOST:PORT, e.g. 127.0.0.1:7480");
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) throw bad();
  std::string host = listen.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) throw bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    throw bad();  // a bare IPv6 address needs brackets
  }
  int port = 0;
  for (const char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) throw bad();
    port = port * 10 + (c - '0');
  }
  if (port > 65535) throw bad();
  return {host, port};
}

std::int64_t systemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* HTML = "text/html; charset=utf-8";

}  // namespace

bool isLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct WebServer::Impl {
  const store::Archive& archive;
  WebOptions options;
  LogSink log;
  web::NodeInfo node;
  httplib::Server server;
  std::atomic<bool> stopping{false};

  Impl(const store::Archive& a, WebOptions o, LogSink l)
      : archive(a), options(std::move(o)), log(std::move(l)) {
    node.name = options.nodeName;
    node.key = options.nodeKey;
    if (!options.clock) options.clock = systemNow;
  }

  void page(httplib::Response& res, int status, std::string html) {
    res.status = status;
    res.set_content(std::move(html), HTML);
  }
  void refuse(httplib::Response& res, const web::Refusal& refusal) {
    page(res, refusal.status, web::renderError(node.name, refusal.status, refusal.message));
  }

  /// Basic authentication with the password (any user name), compared in constant time.
  bool authorised(const httplib::Request& req) const {
    if (options.password.empty()) return true;
    const auto header = req.get_header_value("Authorization");
    constexpr std::string_view BASIC = "Basic ";
    if (header.size() > 1024 || header.rfind(BASIC, 0) != 0) return false;
    const auto decoded = protocol::base64Decode(std::string_view(header).substr(BASIC.size()));
    if (!decoded) return false;
    const std::string pair(decoded->begin(), decoded->end());
    const auto colon = pair.find(':');
    if (colon == std::string::npos) return false;
    const std::string given = pair.substr(colon + 1);
    return given.size() == options.password.size() &&
           sodium_memcmp(given.data(), options.password.data(), given.size()) == 0;
  }

  void routes() {
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      // Nothing changes the archive: every method but GET and HEAD is refused before routing.
      if (req.method != "GET" && req.method != "HEAD") {
        res.set_header("Allow", "GET, HEAD");
        page(res, 405, web::renderError(node.name, 405, "this reading room is read-only"));
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!authorised(req)) {
        res.set_header("WWW-Authenticate", "Basic realm=\"fieldsync\", charset=\"UTF-8\"");
        page(res, 401, web::renderError(node.name, 401, "this reading room asks for a password"));
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty())
        page(res, res.status, web::renderError(node.name, res.status, "nothing here by that name"));
    });
    server.set_exception_handler([this](const httplib::Request& req, httplib::Response& res,
                                        std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      log.error("web: " + req.path + ": " + what);
      page(res, 500, web::renderError(node.name, 500, "the archive could not be read: " + what));
    });
    server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      log.debug("web: " + req.method + " " + req.path + " " + std::to_string(res.status));
    });

    server.Get("/style.css", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(web::styleSheet()), "text/css; charset=utf-8");
      res.set_header("Cache-Control", "max-age=3600");
    });
    server.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
      const auto filters = web::parseFilters(req.params);
      if (!filters) {
        web::ListView view;
        view.nodeName = node.name;
        view.problem = filters.error().message;
        return page(res, 400, web::renderList(view));
      }
      const auto txn = archive.beginRead();
      page(res, 200, web::renderList(web::listView(txn, node, *filters)));
    });
    server.Get("/print", [this](const httplib::Request& req, httplib::Response& res) {
      const auto filters = web::parseFilters(req.params);
      if (!filters) return refuse(res, filters.error());
      const auto txn = archive.beginRead();
      page(res, 200, web::renderPrint(web::printSearch(txn, node, *filters)));
    });
    server.Get(
        R"(/c/([0-9a-fA-F]{8,64}))", [this](const httplib::Request& req, httplib::Response& res) {
          const auto txn = archive.beginRead();
          const auto graph = store::loadTrust(txn);
          const std::string text = req.matches[1];
          if (auto view = web::clippingView(txn, graph, text))
            return page(res, 200, web::renderClipping(node.name, *view));
          if (auto notice = web::retractedView(txn, graph, text))
            return page(res, 410,
                        web::renderRetracted(node.name, *protocol::Digest::fromHex(text), *notice));
          refuse(res, {404, "no clipping " + text + " in this archive"});
        });
    server.Get("/releases", [this](const httplib::Request&, httplib::Response& res) {
      const auto txn = archive.beginRead();
      page(res, 200, web::renderReleases(web::releasesView(txn, node)));
    });
    server.Get(R"(/r/([^/]{1,200}))", [this](const httplib::Request& req, httplib::Response& res) {
      const auto txn = archive.beginRead();
      auto view = web::releaseView(txn, node, std::string(req.matches[1]));
      if (!view) return refuse(res, view.error());
      page(res, 200, web::renderRelease(*view));
    });
    server.Get(R"(/r/([^/]{1,200})/print)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 const auto txn = archive.beginRead();
                 auto view = web::printRelease(txn, node, std::string(req.matches[1]));
                 if (!view) return refuse(res, view.error());
                 page(res, 200, web::renderPrint(*view));
               });
    server.Get(R"(/r/([^/]{1,200})/manifest)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 const auto txn = archive.beginRead();
                 auto text = web::releaseManifestText(txn, std::string(req.matches[1]));
                 if (!text) return refuse(res, text.error());
                 res.set_content(*text, "text/plain; charset=utf-8");
                 res.set_header("Content-Disposition", "attachment; filename=\"manifest\"");
               });
    server.Get(R"(/r/([^/]{1,200})/minisign.pub)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 const auto txn = archive.beginRead();
                 auto text = web::releaseSignerKey(txn, std::string(req.matches[1]));
                 if (!text) return refuse(res, text.error());
                 res.set_content(*text, "text/plain; charset=utf-8");
                 res.set_header("Content-Disposition", "attachment; filename=\"minisign.pub\"");
               });
    server.Get("/status", [this](const httplib::Request&, httplib::Response& res) {
      const auto txn = archive.beginRead();
      page(res, 200, web::renderStatus(web::statusView(txn, node, options.clock())));
    });
  }
};

WebServer::WebServer(const store::Archive& archive, WebOptions options, LogSink log)
    : m_impl(std::make_unique<Impl>(archive, std::move(options), std::move(log))) {
  if (sodium_init() < 0) throw Error("sodium_init failed");
  auto& impl = *m_impl;
  const auto [host, port] = parseListen(impl.options.listen);
  auto& server = impl.server;
  const int threads = impl.options.threads < 1 ? 1 : impl.options.threads;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(threads));
  };
  server.set_default_headers({{"Content-Security-Policy", WEB_CSP},
                              {"X-Content-Type-Options", "nosniff"},
                              {"Referrer-Policy", "no-referrer"},
                              {"X-Frame-Options", "DENY"},
                              {"Cache-Control", "no-cache"}});
  server.set_payload_max_length(4096);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(10, 0);
  server.set_keep_alive_max_count(100);
  impl.routes();
  if (port == 0) {
    const int bound = server.bind_to_any_port(host);
    if (bound < 0) throw Error("web: cannot listen on " + impl.options.listen);
    m_port = static_cast<std::uint16_t>(bound);
  } else {
    if (!server.bind_to_port(host, port))
      throw Error("web: cannot listen on " + impl.options.listen +
                  " (in use, or not an address of this computer)");
    m_port = static_cast<std::uint16_t>(port);
  }
  m_address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
              std::to_string(m_port);
  m_beyondLoopback = !isLoopbackHost(host);
}

WebServer::~WebServer() { stop(); }

void WebServer::run() {
  if (m_impl->stopping) return;
  if (!m_impl->server.listen_after_bind() && !m_impl->stopping)
    throw Error("web: the server on " + m_address + " stopped on an error");
}

void WebServer::stop() {
  m_impl->stopping = true;
  m_impl->server.stop();
}

}  // namespace fieldsync::node
