// The reading room's speed on a big archive: the front page and searches of a 100,000-clipping
// archive, in server time (from the request's values to the finished HTML, its read
// transaction included: what a WebServer handler does), beside a bare reference measured in
// the same run: the same rows read straight from the store (list or search, then each
// clipping's stored bytes), without decoding, judging or rendering. Also the whole round trip
// through a real WebServer on loopback with cpp-httplib's client. Targets (issue 16): front
// page under 50 ms, search under 100 ms of server time. A plain program printing a table.
// Usage: web_bench [CLIPPINGS]   (default 100000; docs/benchmarks.md)
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench/clippings.h"
#include "node/web_model.h"
#include "node/web_pages.h"
#include "node/web_server.h"
#include "protocol/keys.h"
#include "store/archive.h"
#include "store/ingest.h"

using namespace fieldsync;

namespace {

using Clock = std::chrono::steady_clock;

/// The median of runs of fn, in milliseconds.
double medianMs(int runs, const std::function<void()>& fn) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  char pattern[] = "/tmp/fieldsync-web-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return 1;
  const std::filesystem::path dir(pattern);
  int status = 0;
  {
    auto archive = store::Archive::open({.dir = dir / "archive", .create = true});
    auto key = protocol::SecretKey::generate();
    archive->write([&](store::WriteTxn& txn) {
      txn.setAnchor({key.publicKey(), protocol::Role::Coordinator, "Bench hub"});
    });
    const auto start = Clock::now();
    const auto clippings = bench::syntheticClippings(n);
    for (std::size_t at = 0; at < n; at += 10000) {
      std::vector<protocol::Clipping> batch(
          clippings.begin() + static_cast<std::ptrdiff_t>(at),
          clippings.begin() + static_cast<std::ptrdiff_t>(std::min(n, at + 10000)));
      (void)store::ingestClippings(*archive, key, batch,
                                   1700000000 + static_cast<std::int64_t>(at));
    }
    std::printf("archive: %zu synthetic clippings (bench/clippings.h), built in %.1f s\n", n,
                std::chrono::duration<double>(Clock::now() - start).count());

    const node::web::NodeInfo node{"Bench hub", key.publicKey().hex()};
    constexpr int RUNS = 30;
    struct Case {
      const char* what;
      const char* query;  // the query string
      double targetMs;
    };
    const Case cases[] = {{"front page (50 newest)", "", 50},
                          {"front page, page 20", "page=20", 50},
                          {"search: displaced", "q=displaced", 100},
                          {"search: humanitarian crisis", "q=humanitarian+crisis", 100},
                          {"search + tag filter", "q=displaced&tag=region:mali", 100}};
    std::printf("\n%-30s %10s %10s %7s %10s %8s\n", "page", "server ms", "bare ms", "ratio",
                "http ms", "target");
    node::WebOptions options;
    options.listen = "127.0.0.1:0";
    node::WebServer server(*archive, options);
    std::thread serving([&] { server.run(); });
    httplib::Client client("127.0.0.1", server.port());
    for (const auto& c : cases) {
      std::multimap<std::string, std::string> params;
      httplib::detail::parse_query_text(c.query, params);
      const auto filters = node::web::parseFilters(params);
      if (!filters) {
        std::printf("%s: %s\n", c.what, filters.error().message.c_str());
        status = 1;
        continue;
      }
      std::size_t rows = 0, bytes = 0;
      const double serverMs = medianMs(RUNS, [&] {
        const auto txn = archive->beginRead();
        const auto view = node::web::listView(txn, node, *filters);
        rows = view.rows.size();
        bytes = node::web::renderList(view).size();
      });
      // The bare reference: the same ids from the store's index, and each row's bytes.
      const double bareMs = medianMs(RUNS, [&] {
        const auto txn = archive->beginRead();
        const std::size_t need = filters->page * filters->perPage + 1;
        std::vector<protocol::ObjectId> ids;
        if (filters->q.empty()) {
          store::ListQuery query;
          query.kind = protocol::Kind::Clipping;
          query.limit = need;
          ids = txn.list(query);
        } else {
          ids = txn.search(filters->q, filters->tag.empty() ? need : SIZE_MAX);
        }
        // With a filter the store cannot apply (a tag beside words), every matching id is
        // found; the bytes read are those of one page.
        std::size_t sum = 0;
        for (std::size_t i = (filters->page - 1) * filters->perPage; i < ids.size() && i < need;
             ++i)
          sum += txn.get(ids[i])->size();
        if (sum == 0 && !ids.empty()) std::abort();
      });
      const std::string path = std::string("/?") + c.query;
      const double httpMs = medianMs(RUNS, [&] {
        auto res = client.Get(path.c_str());
        if (!res || res->status != 200) std::abort();
      });
      std::printf("%-30s %10.2f %10.2f %6.1fx %10.2f %6.0f ms  (%zu rows, %zu kB)\n", c.what,
                  serverMs, bareMs, serverMs / bareMs, httpMs, c.targetMs, rows, bytes / 1024);
      if (serverMs > c.targetMs) status = 1;
    }
    server.stop();
    serving.join();
  }
  std::filesystem::remove_all(dir);
  std::printf("\n%s\n",
              status == 0 ? "every page within its target" : "SOME PAGE MISSED ITS TARGET");
  return status;
}
