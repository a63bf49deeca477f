// The field (issue 13): offices and a hub over the links offices have, each a named profile of
// the link emulator (tests/support/link_emulator.h), and a USB stick carried once a day. For
// each profile: how long a backlog takes to reach the hub beside the link-limited minimum,
// bytes on the wire beside the compressed objects, bytes past a daily budget, duplicate
// deliveries and round trips per session. A plain program printing tables; every node is a
// real node::Daemon with a real archive in a temporary folder, all in this process
// (tests/support/gossip_network.h). Results and the commands: docs/benchmarks.md ("Field
// links").
//
//   field_bench [--full] [--profiles=lan,satellite,modem,stick] [--offices=2]
//               [--backlog=PROFILE:N,...] [--seed=N] [--modem-cut-mean-s=60]
//               [--budget-share=0.25] [--no-budget] [--manual=lan,...]
//               [--min-backoff-s=S] [--max-backoff-s=S] [--deadline-s=S] [--stick-days=D]
//               [--stick-news=N] [--progress] [--log]
//
// Sizes: the default is the quick run (about 2 minutes here); --full is the documented run
// (about 15 minutes, most of it the 2G modem).
//
//   profile    link (each way)                        quick backlog   full backlog
//   lan        1 ms one way, no cap, no cuts          1,000           1,000
//   satellite  8,000 B/s (64 kbit/s), 300 ms one way,   100           1,000
//              a cut every 30 s
//   modem      1,200 B/s (9.6 kbit/s), 500 ms one way,   20             250
//              cuts at random (exponential gaps, mean --modem-cut-mean-s, seeded by --seed)
//   stick      no network: a bundle carried each way  1,000 (3 days)  1,000 (7 days)
//              once a simulated day
//
// The backlog is split between the offices (office 1 takes the remainder). Clippings are
// bench/clippings.h's synthetic ones: the fixture's vocabulary at its frequencies, no two
// alike, about 3.5 kB each and 1.2 kB compressed, so they compress as a real archive does
// and not as copies would. At 1,200 B/s a thousand of them take about 16 minutes of link time
// alone, hence the smaller modem backlog (`--backlog=modem:1000` runs it anyway).
//
// Each network profile runs three times: the references (a bare TCP stream through a link of
// the profile for its rate, an in-step `sync` by hand for the handshake and round trip, and on
// --manual profiles a `sync` by hand of the whole backlog), the backlog (until the hub holds it
// or the deadline: --deadline-s, else 6 times the minimum, at least 60 s) and, unless
// --no-budget, the backlog again with a daily budget (beside the backlog run on capped links).
// --min-backoff-s and --max-backoff-s change the daemons' first back-off step (shipped: 10 s)
// and its cap (shipped: each peer's own, an hour by default); --log prints every daemon's log
// lines, --progress the hub's count as it grows.
//
// Per-peer settings: each office lists the hub with the profile's rate cap (and, in the budget
// run, a daily budget), and the hub lists each office the same way, through
// store::updatePeerSettings as `fieldsync peers set` does; the daemons follow them
// (node/peer_link.h). The stick is `bundle export --for` and `bundle import` through the store:
// bundles that say what their writer holds (store::BundleSigner).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "clippings.h"
#include "node/client.h"
#include "protocol/sync.h"
#include "store/bundle.h"
#include "store/ingest.h"
#include "store/peers.h"
#include "store/sync_index.h"
#include "support/gossip_network.h"

namespace {
using fieldsync::bench::syntheticClippings;
using namespace fieldsync;
using namespace std::chrono_literals;
using testing::GossipNetwork;
using testing::NetworkOptions;
using Clock = std::chrono::steady_clock;
using Ids = std::set<protocol::ObjectId>;

constexpr std::int64_t SIGNED_AT = 1'700'000'000;
constexpr std::size_t HUB = 0;  // node 0; the offices are nodes 1..offices

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void printLoad(const char* when) {
  double load[3] = {};
  if (getloadavg(load, 3) == 3)
    std::printf("[load average %s: %.2f %.2f %.2f]\n", when, load[0], load[1], load[2]);
  std::fflush(stdout);
}

std::string withCommas(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string ratio(double value, int decimals = 2) {
  if (!std::isfinite(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.*fx", decimals, value);
  return text;
}

// --- Profiles and options --------------------------------------------------------------------

enum class Cuts { None, Every, Random };

struct Profile {
  std::string name;
  std::string description;  // for the tables
  std::chrono::milliseconds oneWay{0};
  std::uint64_t bytesPerSecond = 0;  // each way; 0: no cap
  Cuts cuts = Cuts::None;
  std::chrono::milliseconds cutInterval{0};  // Every: the period; Random: the mean gap
  bool stick = false;                        // no network: bundles carried once a day
  std::size_t quickBacklog = 0;
  std::size_t fullBacklog = 0;
  std::chrono::milliseconds roundTrip() const { return 2 * oneWay; }
};

std::vector<Profile> shippedProfiles(std::chrono::milliseconds modemCutMean) {
  return {
      {"lan", "1 ms one way, no cap, no cuts", 1ms, 0, Cuts::None, 0ms, false, 1000, 1000},
      {"satellite", "64 kbit/s (8,000 B/s), 600 ms round trip, a cut every 30 s", 300ms, 8000,
       Cuts::Every, 30s, false, 100, 1000},
      {"modem", "2G: 9.6 kbit/s (1,200 B/s), 1 s round trip, cuts at random", 500ms, 1200,
       Cuts::Random, modemCutMean, false, 20, 250},
      {"stick", "no network: a bundle each way once a (simulated) day", 0ms, 0, Cuts::None, 0ms,
       true, 1000, 1000},
  };
}

struct Args {
  bool full = false;
  std::vector<std::string> profiles{"lan", "satellite", "modem", "stick"};
  std::size_t offices = 2;
  std::map<std::string, std::size_t> backlog;  // overrides, by profile
  std::uint64_t seed = 20261205;
  std::chrono::milliseconds modemCutMean{60'000};
  double budgetShare = 0.25;
  bool budget = true;
  std::set<std::string> manual{"lan"};  // profiles that also time a manual sync of the backlog
  std::optional<std::chrono::milliseconds> minBackoff;  // the daemons' first back-off step
  std::optional<std::chrono::milliseconds> maxBackoff;  // and its cap (else each peer's own)
  std::optional<std::chrono::seconds> deadline;
  std::optional<std::size_t> stickDays;
  std::size_t stickNews = 20;  // clippings each office imports each later day
  bool progress = false;
  bool log = false;
};

std::vector<std::string> splitList(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream list(value);
  for (std::string item; std::getline(list, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "field_bench: %s (the options are at the top of bench/field_bench.cpp)\n",
               why.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    try {
      if (name == "--full") {
        args.full = true;
      } else if (name == "--profiles") {
        args.profiles = splitList(value);
      } else if (name == "--offices") {
        args.offices = std::stoul(value);
        if (args.offices == 0) usage("--offices: at least 1");
      } else if (name == "--backlog") {
        for (const auto& item : splitList(value)) {
          const auto colon = item.find(':');
          if (colon == std::string::npos) usage("--backlog takes PROFILE:N,...");
          args.backlog[item.substr(0, colon)] = std::stoul(item.substr(colon + 1));
        }
      } else if (name == "--seed") {
        args.seed = std::stoull(value);
      } else if (name == "--modem-cut-mean-s") {
        args.modemCutMean = std::chrono::milliseconds(std::lround(std::stod(value) * 1000));
      } else if (name == "--budget-share") {
        args.budgetShare = std::stod(value);
      } else if (name == "--no-budget") {
        args.budget = false;
      } else if (name == "--manual") {
        const auto list = splitList(value);
        args.manual = {list.begin(), list.end()};
      } else if (name == "--min-backoff-s") {
        args.minBackoff = std::chrono::milliseconds(std::lround(std::stod(value) * 1000));
      } else if (name == "--max-backoff-s") {
        args.maxBackoff = std::chrono::milliseconds(std::lround(std::stod(value) * 1000));
      } else if (name == "--deadline-s") {
        args.deadline = std::chrono::seconds(std::stol(value));
      } else if (name == "--stick-days") {
        args.stickDays = std::stoul(value);
      } else if (name == "--stick-news") {
        args.stickNews = std::stoul(value);
      } else if (name == "--progress") {
        args.progress = true;
      } else if (name == "--log") {
        args.log = true;
      } else {
        usage("unknown argument " + arg);
      }
    } catch (const std::logic_error&) {  // stoul and friends
      usage("bad value in " + arg);
    }
  }
  return args;
}

std::size_t backlogOf(const Profile& profile, const Args& args) {
  const auto it = args.backlog.find(profile.name);
  if (it != args.backlog.end()) return it->second;
  return args.full ? profile.fullBacklog : profile.quickBacklog;
}

/// Office o's share (o from 1): the backlog split evenly, office 1 taking the remainder.
std::size_t shareOf(std::size_t backlog, std::size_t offices, std::size_t o) {
  return backlog / offices + (o == 1 ? backlog % offices : 0);
}

/// Office o's backlog: synthetic clippings of its own (seeds differ, so no two offices share
/// a clipping); office 1's are those every other benchmark uses.
std::vector<protocol::Clipping> backlogClippings(std::size_t count, std::size_t o,
                                                 std::uint64_t day = 0) {
  return syntheticClippings(count, bench::SYNTHETIC_SEED + (o - 1) + 1000 * day);
}

/// Signs and stores clippings in node o's archive under its author key, 500 to a transaction;
/// the ids stored.
Ids ingest(GossipNetwork& net, std::size_t o, const std::vector<protocol::Clipping>& clippings,
           std::int64_t signedAt) {
  Ids ids;
  for (std::size_t done = 0; done < clippings.size(); done += 500) {
    const std::vector<protocol::Clipping> part(
        clippings.begin() + static_cast<std::ptrdiff_t>(done),
        clippings.begin() + static_cast<std::ptrdiff_t>(std::min(done + 500, clippings.size())));
    const auto result = store::ingestClippings(net.archive(o), net.node(o).author, part, signedAt);
    ids.insert(result.stored.begin(), result.stored.end());
  }
  return ids;
}

// --- Bare references -------------------------------------------------------------------------

/// The objects of `archive` that pass `keep`, in sync order (signedAt, then id), packed into
/// batches as a session packs them (node/session.h: at most batchBytes raw and batchObjects a
/// batch, zstd at the session's level, one packer for all): the sum of the batch contents.
/// With the session's default batch size this is "the compressed objects" of every table.
std::uint64_t packedBytes(const store::Archive& archive,
                          const std::function<bool(const protocol::ObjectId&)>& keep,
                          std::size_t batchBytes, std::uint64_t* batches = nullptr) {
  const node::SessionOptions session;
  const auto txn = archive.beginRead();
  const store::ArchiveRangeIndex index(txn);
  protocol::sync::BatchPacker packer(session.compressionLevel);
  std::uint64_t packed = 0;
  std::vector<std::span<const std::uint8_t>> batch;
  std::size_t batchRaw = 0;
  std::uint32_t number = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    packed += packer.pack(number++, batch).content.size();
    batch.clear();
    batchRaw = 0;
  };
  for (const auto& key : index.keys(0, index.size())) {
    if (!keep(key.id)) continue;
    const auto bytes = *txn.get(key.id);
    if (!batch.empty() &&
        (batchRaw + bytes.size() > batchBytes || batch.size() >= session.batchObjects)) {
      flush();
    }
    batch.push_back(bytes);
    batchRaw += bytes.size();
  }
  flush();
  if (batches) *batches = number;
  return packed;
}

std::uint64_t packedBytes(const store::Archive& archive, const Ids& ids,
                          std::size_t batchBytes = node::SessionOptions{}.batchBytes,
                          std::uint64_t* batches = nullptr) {
  return packedBytes(
      archive, [&](const protocol::ObjectId& id) { return ids.contains(id); }, batchBytes, batches);
}

testing::LinkOptions linkOptionsOf(const Profile& profile) {
  testing::LinkOptions link;
  link.latency = profile.oneWay;
  link.bytesPerSecond = profile.bytesPerSecond;
  // A slow link's queue is short (a modem's, a terminal's), not a MiB of loopback buffer.
  if (profile.bytesPerSecond) link.bufferLimit = 16u << 10;
  return link;
}

/// Bytes per second a bare TCP stream gets through a link of the profile (no cuts, no
/// fieldsync): `bytes` sent through a fresh link, timed from the first byte received to the
/// last, so neither the latency nor the token bucket's first burst counts.
double measureLinkRate(const Profile& profile, std::uint64_t bytes) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listener);
    throw std::system_error(errno, std::generic_category(), "bind");
  }
  testing::LinkOptions options = linkOptionsOf(profile);
  options.targetPort = ntohs(address.sin_port);
  testing::Link link(options);

  Clock::time_point first, last;
  std::uint64_t firstChunk = 0, received = 0;
  std::thread receiver([&] {
    const int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) return;
    std::vector<char> buffer(64 << 10);
    for (;;) {
      const auto n = ::recv(connection, buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      if (received == 0) {
        first = Clock::now();
        firstChunk = static_cast<std::uint64_t>(n);
      }
      received += static_cast<std::uint64_t>(n);
      last = Clock::now();
    }
    ::close(connection);
  });
  // Sends everything, half-closes; on failure unblocks the receiver before throwing.
  const int sender = ::socket(AF_INET, SOCK_STREAM, 0);
  auto finish = [&](const char* failed) {
    const int error = errno;
    if (failed) ::shutdown(listener, SHUT_RDWR);  // an accept() still waiting returns
    if (sender >= 0) ::shutdown(sender, SHUT_WR);
    receiver.join();
    if (sender >= 0) ::close(sender);
    ::close(listener);
    if (failed) throw std::system_error(error, std::generic_category(), failed);
  };
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(link.port());
  if (sender < 0 || ::connect(sender, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    finish("connect");
  }
  const std::vector<char> block(bytes, 'x');
  for (std::size_t sent = 0; sent < block.size();) {
    const auto n = ::send(sender, block.data() + sent, block.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) finish("send");
    sent += static_cast<std::size_t>(n);
  }
  finish(nullptr);
  if (received != bytes) throw std::runtime_error("the bare stream lost bytes");
  return static_cast<double>(received - firstChunk) / seconds(last - first);
}

// --- Session reports -------------------------------------------------------------------------

/// Every session report of a run, from both sides, as the daemons' hooks deliver them.
class Reports {
 public:
  struct Entry {
    bool dialed = false;  // this side dialed (the office); else it answered (the hub)
    node::SessionReport report;
  };
  void add(bool dialed, const node::SessionReport& report) {
    std::lock_guard lock(m_mutex);
    m_entries.push_back({dialed, report});
  }
  std::vector<Entry> entries() const {
    std::lock_guard lock(m_mutex);
    return m_entries;
  }

 private:
  mutable std::mutex m_mutex;
  std::vector<Entry> m_entries;
};

/// What the reports of a run add up to.
struct ReportSums {
  std::uint64_t sessions = 0;                     // sessions dialed (each counted once)
  std::uint64_t failed = 0;                       // of which not ok
  std::uint64_t objectsIn = 0, duplicatesIn = 0;  // both sides
  double meanTrips = 0;  // reconciliation round trips of the dialed sessions that ended well
  std::uint32_t maxTrips = 0;
  double duplicateShare() const {
    const auto received = objectsIn + duplicatesIn;
    return received ? static_cast<double>(duplicatesIn) / static_cast<double>(received) : 0.0;
  }
};

ReportSums sumReports(const Reports& reports) {
  ReportSums sums;
  std::uint64_t okSessions = 0, trips = 0;
  for (const auto& [dialed, report] : reports.entries()) {
    sums.objectsIn += report.stats.objectsIn;
    sums.duplicatesIn += report.stats.duplicatesIn;
    if (!dialed) continue;
    ++sums.sessions;
    if (!report.ok) {
      ++sums.failed;
      continue;
    }
    ++okSessions;
    trips += report.stats.roundTrips();
    sums.maxTrips = std::max(sums.maxTrips, report.stats.roundTrips());
  }
  if (okSessions) sums.meanTrips = static_cast<double>(trips) / static_cast<double>(okSessions);
  return sums;
}

// --- A star of daemons over a profile --------------------------------------------------------

struct Star {
  std::unique_ptr<Reports> reports = std::make_unique<Reports>();
  std::unique_ptr<GossipNetwork> net;
  std::vector<Ids> own;  // [o]: the ids office o imported (own[0], the hub's, stays empty)
};

/// The hub (node 0, only answers: an office behind a satellite terminal cannot be dialed) and
/// `offices` offices that dial it, each through links of the profile. Peer records on both
/// sides carry the profile's rate, set as `fieldsync peers set` sets it. Nothing runs yet.
Star makeStar(const Profile& profile, const Args& args, std::uint64_t seed) {
  Star star;
  NetworkOptions options;
  options.daemon.seed = seed;  // shipped settings otherwise
  if (args.minBackoff) options.daemon.minBackoff = *args.minBackoff;
  if (args.maxBackoff) options.daemon.maxBackoff = *args.maxBackoff;
  options.link = linkOptionsOf(profile);
  Reports* reports = star.reports.get();
  options.daemon.onDialed = [reports](const node::SessionReport& r) { reports->add(true, r); };
  options.daemon.server.onSession = [reports](const node::SessionReport& r) {
    reports->add(false, r);
  };
  const std::uint64_t rate = profile.bytesPerSecond;
  options.perNode = [](std::size_t i, node::DaemonOptions& o) {
    if (i == HUB) o.dial = false;
  };
  if (args.log) {
    const auto epoch = Clock::now();
    options.log = [epoch](const std::string& line) {
      std::printf("  %8.2f %s\n", seconds(Clock::now() - epoch), line.c_str());
      std::fflush(stdout);
    };
  }
  std::vector<testing::Edge> edges;
  for (std::size_t o = 1; o <= args.offices; ++o) edges.emplace_back(HUB, o);
  star.net = std::make_unique<GossipNetwork>(1 + args.offices, edges, options);
  star.own.resize(1 + args.offices);

  auto setPeer = [&](std::size_t on, std::size_t peer) {
    star.net->archive(on).write([&](store::WriteTxn& txn) {
      const auto updated =
          store::updatePeerSettings(txn, "node" + std::to_string(peer),
                                    [&](store::PeerSettings& settings) { settings.rate = rate; });
      if (!updated) throw std::runtime_error("peers set: " + updated.error().message);
    });
  };
  for (std::size_t o = 1; o <= args.offices; ++o) {
    setPeer(o, HUB);
    setPeer(HUB, o);
  }
  return star;
}

/// The hub is up long before an office comes back online: start it, and give its server time
/// to read its peer list, before the clock starts.
void startHub(GossipNetwork& net) {
  net.start(HUB);
  std::this_thread::sleep_for(300ms);
}

void startCuts(const Profile& profile, GossipNetwork& net, std::uint64_t seed) {
  std::uint64_t n = 0;
  for (auto* link : net.allLinks()) {
    if (profile.cuts == Cuts::Every) link->setCutSchedule(profile.cutInterval);
    if (profile.cuts == Cuts::Random) link->setRandomCuts(profile.cutInterval, seed + 7919 * ++n);
  }
}

struct LinkBytes {
  std::uint64_t up = 0;    // office -> hub, both links of every office
  std::uint64_t down = 0;  // hub -> office
  std::uint64_t cuts = 0;
  std::uint64_t total() const { return up + down; }
};

/// Bytes on office o's links (o = 0: every office's), both of its links (the one it dials
/// through carries its sessions; the hub never dials, so the other stays idle).
LinkBytes linkBytes(GossipNetwork& net, std::size_t offices, std::size_t only = 0) {
  LinkBytes bytes;
  for (std::size_t o = 1; o <= offices; ++o) {
    if (only && o != only) continue;
    const auto dialed = net.link(o, HUB)->counters();
    const auto answered = net.link(HUB, o)->counters();
    bytes.up += dialed.toTarget.bytesForwarded + answered.fromTarget.bytesForwarded;
    bytes.down += dialed.fromTarget.bytesForwarded + answered.toTarget.bytesForwarded;
    bytes.cuts += dialed.cuts;
  }
  return bytes;
}

std::uint64_t hubCount(GossipNetwork& net) { return net.state(HUB).count; }

// --- A network profile -----------------------------------------------------------------------

struct References {
  double rate = 0;           // measured bytes per second of a bare stream; 0: not capped
  double sessionFloor = 0;   // seconds of an in-step session, handshake included
  double manual = 0;         // seconds of `sync` of the backlog by hand, no cuts; 0: not run
  std::uint64_t packed = 0;  // the backlog, compressed as sessions pack it (1 MiB)
  std::uint64_t packedLinkBatch = 0;  // the same in the link's batches (batchBytesFor)
  std::uint64_t linkBatches = 0;      // how many of them
  std::size_t linkBatchBytes = 0;
  std::uint64_t largestShare = 0;  // the packed bytes of the office with the most
  double minimum = 0;              // the link-limited minimum, seconds
};

/// The references of a profile, measured in this run on links of the profile without cuts.
References measureReferences(const Profile& profile, const Args& args, std::size_t backlog) {
  References refs;
  if (profile.bytesPerSecond) {
    refs.rate = measureLinkRate(profile, profile.bytesPerSecond * 4);
  }
  // The in-step session: an office and the hub, both empty, one `sync` by hand through a
  // link of the profile: the link's handshake and the session's one round trip.
  Args one = args;
  one.offices = 1;
  Star star = makeStar(profile, one, args.seed);
  GossipNetwork& net = *star.net;
  startHub(net);
  node::SyncOptions sync;
  sync.session.rate = profile.bytesPerSecond;  // as `sync` plans it from the peer's record
  const std::string address = "tcp://127.0.0.1:" + std::to_string(net.link(1, HUB)->port());
  const int tries = profile.oneWay >= 100ms ? 1 : 3;
  refs.sessionFloor = 1e9;
  for (int t = 0; t < tries; ++t) {
    const auto started = Clock::now();
    const auto report = node::syncOnce(net.archive(1), net.node(1).identity, address,
                                       net.node(HUB).identity.publicKey(), "node0", sync);
    if (!report.ok) throw std::runtime_error("in-step session failed: " + report.failure);
    refs.sessionFloor = std::min(refs.sessionFloor, seconds(Clock::now() - started));
  }
  if (args.manual.contains(profile.name)) {
    // The whole backlog in one archive, synced by hand into the hub over one link of the
    // profile. Uncapped, the hub's CPU is the bound (it verifies and stores every office's
    // share), so the reference carries all of them.
    for (std::size_t o = 1; o <= args.offices; ++o) {
      (void)ingest(net, 1, backlogClippings(shareOf(backlog, args.offices, o), o),
                   SIGNED_AT + static_cast<std::int64_t>(o));
    }
    const auto started = Clock::now();
    const auto report = node::syncOnce(net.archive(1), net.node(1).identity, address,
                                       net.node(HUB).identity.publicKey(), "node0", sync);
    if (!report.ok) throw std::runtime_error("manual sync failed: " + report.failure);
    refs.manual = seconds(Clock::now() - started);
  }
  net.stopAll();
  return refs;
}

struct BacklogRun {
  std::size_t backlog = 0;
  std::uint64_t arrived = 0;  // of the backlog, at the hub
  bool complete = false;
  double seconds = 0;
  LinkBytes wire;
  std::uint64_t forwardedPacked = 0;  // compressed bytes of what offices received from others
  ReportSums sums;
};

std::chrono::seconds deadlineOf(const Args& args, const References& refs) {
  if (args.deadline) return *args.deadline;
  const double estimate = refs.rate > 0 ? refs.minimum : 30.0;
  return std::chrono::seconds(std::max<std::int64_t>(60, std::llround(6 * estimate)));
}

/// Waits for what is in flight to land (acks, Done, the last reports) and the counters to
/// settle.
void settle(const Profile& profile) {
  std::this_thread::sleep_for(std::max(1500ms, 3 * profile.roundTrip()));
}

/// The offices' backlog compressed, from the archives as they are before anything moves, and
/// the link-limited minimum from it: refs' packed sizes and minimum.
void fillPacked(const Profile& profile, Star& star, References& refs) {
  GossipNetwork& net = *star.net;
  refs.linkBatchBytes =
      node::batchBytesFor(profile.bytesPerSecond, node::SessionOptions{}.batchBytes);
  refs.packed = refs.packedLinkBatch = refs.linkBatches = refs.largestShare = 0;
  for (std::size_t o = 1; o < star.own.size(); ++o) {
    const auto& archive = net.archive(o);
    const auto packed = packedBytes(archive, star.own[o]);
    refs.packed += packed;
    refs.largestShare = std::max(refs.largestShare, packed);
    std::uint64_t batches = 0;
    refs.packedLinkBatch += packedBytes(archive, star.own[o], refs.linkBatchBytes, &batches);
    refs.linkBatches += batches;
  }
  // Every office has a link of its own: the backlog is there once the largest share is. The
  // office learns what the hub lacks one round trip into the session (as an in-step session
  // learns they are equal), and its first batch lands half a round trip later.
  refs.minimum = refs.rate > 0 ? refs.sessionFloor + seconds(profile.oneWay) +
                                     static_cast<double>(refs.largestShare) / refs.rate
                               : refs.manual;
}

/// The backlog run; fills in refs' compressed sizes and the minimum.
BacklogRun runBacklog(const Profile& profile, const Args& args, References& refs,
                      std::size_t backlog) {
  Star star = makeStar(profile, args, args.seed);
  GossipNetwork& net = *star.net;
  for (std::size_t o = 1; o <= args.offices; ++o) {
    star.own[o] = ingest(net, o, backlogClippings(shareOf(backlog, args.offices, o), o),
                         SIGNED_AT + static_cast<std::int64_t>(o));
  }
  fillPacked(profile, star, refs);
  BacklogRun run;
  run.backlog = backlog;
  const auto deadline = deadlineOf(args, refs);
  startHub(net);
  startCuts(profile, net, args.seed);
  const auto started = Clock::now();
  net.startAll();
  std::uint64_t shown = 0;
  auto lastShown = started;
  const auto took = GossipNetwork::waitFor(
      [&] {
        const auto count = hubCount(net);
        if (args.progress && count != shown && Clock::now() - lastShown > 5s) {
          std::printf("  %6.1f s: the hub holds %s\n", seconds(Clock::now() - started),
                      withCommas(count).c_str());
          std::fflush(stdout);
          shown = count;
          lastShown = Clock::now();
        }
        return count >= backlog;
      },
      deadline, profile.bytesPerSecond ? 50ms : 5ms);
  run.seconds = took ? seconds(*took) : seconds(Clock::now() - started);
  run.complete = static_cast<bool>(took);
  run.arrived = hubCount(net);
  settle(profile);
  run.wire = linkBytes(net, args.offices);
  net.stopAll();
  run.sums = sumReports(*star.reports);
  // What the offices received from one another through the hub (store and forward) crossed
  // their links too: count it in the compressed reference.
  for (std::size_t o = 1; o <= args.offices && args.offices > 1; ++o) {
    run.forwardedPacked += packedBytes(
        net.archive(o), [&](const protocol::ObjectId& id) { return !star.own[o].contains(id); },
        node::SessionOptions{}.batchBytes);
  }
  return run;
}

struct BudgetRun {
  std::uint64_t budget = 0;     // per office link, bytes a day
  std::uint64_t pastWire = 0;   // the worst office link: wire bytes past its budget
  std::uint64_t pastCount = 0;  // the same link: the daemon's own count past the budget
  std::uint64_t arrived = 0;    // objects at the hub when traffic stopped
  bool spent = false;           // every office's budget was spent (by its own count)
  bool allArrived = false;      // the whole backlog arrived: the budget did not stop it
  double seconds = 0;
};

/// The backlog again, from scratch, with a daily budget of budgetShare of each office's
/// compressed share on both sides of its link: traffic until every budget is spent and the
/// links fall quiet, then what passed the budget.
/// The run needs no other: it may run beside the backlog run (links are its bound, not CPU).
BudgetRun runBudget(const Profile& profile, const Args& args, References refs,
                    std::size_t backlog) {
  BudgetRun run;
  Star star = makeStar(profile, args, args.seed + 1);
  GossipNetwork& net = *star.net;
  for (std::size_t o = 1; o <= args.offices; ++o) {
    star.own[o] = ingest(net, o, backlogClippings(shareOf(backlog, args.offices, o), o),
                         SIGNED_AT + static_cast<std::int64_t>(o));
  }
  fillPacked(profile, star, refs);
  // The budget is per link; every office gets the one of the largest share (office 1's).
  run.budget = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(args.budgetShare * static_cast<double>(refs.largestShare)));
  for (std::size_t o = 1; o <= args.offices; ++o) {
    for (const auto& [on, peer] : {std::pair{o, HUB}, std::pair{HUB, o}}) {
      net.archive(on).write([&](store::WriteTxn& txn) {
        const auto updated =
            store::updatePeerSettings(txn, "node" + std::to_string(peer),
                                      [&](store::PeerSettings& s) { s.dailyBudget = run.budget; });
        if (!updated) throw std::runtime_error("peers set: " + updated.error().message);
      });
    }
  }
  startHub(net);
  startCuts(profile, net, args.seed + 1);
  const auto started = Clock::now();
  net.startAll();
  const auto quietFor = std::max<Clock::duration>(3s, 4 * profile.roundTrip());
  std::uint64_t lastBytes = ~std::uint64_t{0};
  auto quietSince = Clock::now();
  auto spentEverywhere = [&] {
    for (std::size_t o = 1; o <= args.offices; ++o) {
      const auto hub = store::findPeer(net.archive(o).beginRead(), "node0");
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      if (!hub || store::budgetLeftToday(*hub, now) != std::uint64_t{0}) return false;
    }
    return true;
  };
  const auto done = GossipNetwork::waitFor(
      [&] {
        const auto bytes = linkBytes(net, args.offices).total();
        if (bytes != lastBytes) {
          lastBytes = bytes;
          quietSince = Clock::now();
        }
        if (hubCount(net) >= backlog) return true;  // the budget did not bind
        return Clock::now() - quietSince > quietFor && spentEverywhere();
      },
      deadlineOf(args, refs), 100ms);
  run.seconds = seconds(Clock::now() - started);
  (void)done;
  settle(profile);
  run.spent = spentEverywhere();
  run.arrived = hubCount(net);
  run.allArrived = run.arrived >= backlog;
  for (std::size_t o = 1; o <= args.offices; ++o) {
    const auto wire = linkBytes(net, args.offices, o).total();
    const auto hub = store::findPeer(net.archive(o).beginRead(), "node0");
    const std::uint64_t counted = hub ? hub->state.budgetUsed : 0;
    run.pastWire = std::max(run.pastWire, wire > run.budget ? wire - run.budget : 0);
    run.pastCount = std::max(run.pastCount, counted > run.budget ? counted - run.budget : 0);
  }
  net.stopAll();
  return run;
}

struct NetworkRow {
  Profile profile;
  References refs;
  BacklogRun backlog;
  std::optional<BudgetRun> budget;
};

NetworkRow runNetworkProfile(const Profile& profile, const Args& args) {
  const std::size_t backlog = backlogOf(profile, args);
  NetworkRow row{profile, {}, {}, {}};
  std::printf("-- %s: %s; backlog %s clippings over %zu office(s)\n", profile.name.c_str(),
              profile.description.c_str(), withCommas(backlog).c_str(), args.offices);
  std::fflush(stdout);
  // Uncapped, a run takes a fraction of a second and the machine's load shows: the median of
  // UNCAPPED_RUNS runs, each of the reference and of the backlog.
  constexpr int UNCAPPED_RUNS = 3;
  const int runs = profile.bytesPerSecond ? 1 : UNCAPPED_RUNS;
  std::vector<References> refs;
  for (int i = 0; i < runs; ++i) refs.push_back(measureReferences(profile, args, backlog));
  std::sort(refs.begin(), refs.end(),
            [](const References& a, const References& b) { return a.manual < b.manual; });
  row.refs = refs[refs.size() / 2];
  // On a capped link the budget run goes beside the backlog run: both wait on their links.
  std::future<BudgetRun> budget;
  if (args.budget && profile.bytesPerSecond) {
    budget = std::async(std::launch::async, runBudget, profile, args, row.refs, backlog);
  }
  std::vector<BacklogRun> backlogs;
  for (int i = 0; i < runs; ++i) backlogs.push_back(runBacklog(profile, args, row.refs, backlog));
  std::sort(backlogs.begin(), backlogs.end(),
            [](const BacklogRun& a, const BacklogRun& b) { return a.seconds < b.seconds; });
  row.backlog = backlogs[backlogs.size() / 2];
  std::printf(
      "   references: bare stream %s B/s; in-step session %.2f s; manual sync %s; backlog %s B "
      "compressed (1 MiB batches), %s B in the link's batches (%s B raw); minimum %.1f s\n",
      row.refs.rate > 0 ? withCommas(std::llround(row.refs.rate)).c_str() : "unlimited",
      row.refs.sessionFloor,
      row.refs.manual > 0 ? (std::to_string(row.refs.manual).substr(0, 5) + " s").c_str() : "-",
      withCommas(row.refs.packed).c_str(), withCommas(row.refs.packedLinkBatch).c_str(),
      withCommas(row.refs.linkBatchBytes).c_str(), row.refs.minimum);
  std::printf("   backlog: %s of %s at the hub after %.1f s%s\n",
              withCommas(row.backlog.arrived).c_str(), withCommas(backlog).c_str(),
              row.backlog.seconds, row.backlog.complete ? "" : " (deadline)");
  std::fflush(stdout);
  if (args.budget) {
    row.budget = budget.valid() ? budget.get() : runBudget(profile, args, row.refs, backlog);
    std::printf(
        "   budget %s B a day per link: %s B past it on the wire after %.1f s, %s of %s "
        "at the hub%s%s\n",
        withCommas(row.budget->budget).c_str(), withCommas(row.budget->pastWire).c_str(),
        row.budget->seconds, withCommas(row.budget->arrived).c_str(), withCommas(backlog).c_str(),
        row.budget->spent ? "" : " (budget not spent)",
        row.budget->allArrived ? " (all: the session that crossed the budget went on)" : "");
    std::fflush(stdout);
  }
  return row;
}

// --- The stick -------------------------------------------------------------------------------

/// What `fieldsync bundle export --for PEER` selects (cli/cmd_bundle.cpp): what the peer is
/// not known to hold, from its last in-step session and its latest stick.
store::BundleSelection stickSelection(const std::string& peer) {
  store::BundleSelection selection;
  selection.forPeer = peer;
  return selection;
}

struct Carry {
  std::uint64_t objects = 0;  // in the bundle
  std::uint64_t stored = 0;   // new to the receiver
  std::uint64_t already = 0;  // the receiver held them: duplicates
  std::uint64_t bundleBytes = 0;
  std::uint64_t newPacked = 0;  // the new objects, compressed as sessions pack them
};

/// One stick from node `from` to node `to`: export --for, then import, through the store API
/// (the bundle held in memory, as the file on the stick would hold it).
Carry carry(GossipNetwork& net, std::size_t from, std::size_t to, std::int64_t day) {
  Carry c;
  std::vector<std::uint8_t> stick;
  // --for implies --holdings: the stick says what its writer holds, signed by its node key.
  const protocol::SecretKey& identity = net.node(from).identity;
  const store::BundleSigner signer{
      identity.publicKey(),
      [&identity](std::span<const std::uint8_t> message) { return identity.sign(message); }};
  const auto exported = store::exportBundle(
      net.archive(from), stickSelection("node" + std::to_string(to)),
      [&](std::span<const std::uint8_t> bytes) {
        stick.insert(stick.end(), bytes.begin(), bytes.end());
      },
      SIGNED_AT + day * store::SECONDS_PER_DAY, {}, {}, signer);
  if (!exported) throw std::runtime_error("export: " + exported.error());
  c.objects = exported.value().objects;
  c.bundleBytes = stick.size();
  const std::uint64_t seqBefore = net.archive(to).beginRead().lastSeq();
  std::size_t offset = 0;
  const auto imported =
      store::importBundle(net.archive(to), [&](std::span<std::uint8_t> buffer) -> std::size_t {
        const std::size_t n = std::min(buffer.size(), stick.size() - offset);
        std::memcpy(buffer.data(), stick.data() + offset, n);
        offset += n;
        return n;
      });
  if (!imported || !imported.value().ok()) throw std::runtime_error("import of a stick failed");
  c.stored = imported.value().stored;
  c.already = imported.value().alreadyPresent;
  Ids fresh;
  for (const auto& entry : net.archive(to).beginRead().since(seqBefore)) fresh.insert(entry.id);
  c.newPacked = packedBytes(net.archive(to), fresh);
  return c;
}

struct StickRow {
  std::size_t backlog = 0;
  std::size_t days = 0;
  std::optional<std::size_t> arrivedOnDay;  // the backlog whole at the hub
  Carry total;
};

StickRow runStick(const Profile& profile, const Args& args) {
  StickRow row;
  row.backlog = backlogOf(profile, args);
  row.days = args.stickDays.value_or(args.full ? 7 : 3);
  std::printf(
      "-- stick: %s; backlog %s clippings over %zu office(s), %zu days, %zu new "
      "clippings an office a later day\n",
      profile.description.c_str(), withCommas(row.backlog).c_str(), args.offices, row.days,
      args.stickNews);
  Args noNetwork = args;
  Star star = makeStar(profile, noNetwork, args.seed);  // daemons made, never started
  GossipNetwork& net = *star.net;
  for (std::size_t o = 1; o <= args.offices; ++o) {
    star.own[o] = ingest(net, o, backlogClippings(shareOf(row.backlog, args.offices, o), o),
                         SIGNED_AT + static_cast<std::int64_t>(o));
  }
  std::printf(
      "\n| day | stick | objects | new to the receiver | already held | bundle bytes | "
      "new objects compressed | bundle / new compressed |\n| --- | --- | --- | --- | --- | --- | "
      "--- | --- |\n");
  auto add = [&](const Carry& c, std::size_t day, const std::string& what) {
    row.total.objects += c.objects;
    row.total.stored += c.stored;
    row.total.already += c.already;
    row.total.bundleBytes += c.bundleBytes;
    row.total.newPacked += c.newPacked;
    std::printf(
        "| %zu | %s | %s | %s | %s | %s | %s | %s |\n", day, what.c_str(),
        withCommas(c.objects).c_str(), withCommas(c.stored).c_str(), withCommas(c.already).c_str(),
        withCommas(c.bundleBytes).c_str(), withCommas(c.newPacked).c_str(),
        c.newPacked
            ? ratio(static_cast<double>(c.bundleBytes) / static_cast<double>(c.newPacked)).c_str()
            : "-");
    std::fflush(stdout);
  };
  for (std::size_t day = 1; day <= row.days; ++day) {
    if (day > 1) {
      for (std::size_t o = 1; o <= args.offices; ++o) {
        const auto news = backlogClippings(args.stickNews, o, day);
        const auto ids = ingest(
            net, o, news, SIGNED_AT + static_cast<std::int64_t>(day) * store::SECONDS_PER_DAY);
        star.own[o].insert(ids.begin(), ids.end());
      }
    }
    // Each office's stick reaches the hub in the morning and goes back in the evening.
    for (std::size_t o = 1; o <= args.offices; ++o) {
      add(carry(net, o, HUB, static_cast<std::int64_t>(day)), day,
          "office " + std::to_string(o) + " -> hub");
    }
    if (!row.arrivedOnDay) {
      bool all = true;
      const auto txn = net.archive(HUB).beginRead();
      for (std::size_t o = 1; o <= args.offices; ++o) {
        for (const auto& id : star.own[o]) all = all && txn.contains(id);
      }
      if (all) row.arrivedOnDay = day;
    }
    for (std::size_t o = 1; o <= args.offices; ++o) {
      add(carry(net, HUB, o, static_cast<std::int64_t>(day)), day,
          "hub -> office " + std::to_string(o));
    }
  }
  std::printf("\n");
  return row;
}

// --- Tables ----------------------------------------------------------------------------------

void printNetworkTable(const std::vector<NetworkRow>& rows, const std::optional<StickRow>& stick,
                       const Args& args) {
  std::printf(
      "\n| profile | backlog | at the hub | time | minimum | time / minimum | wire bytes (up, "
      "down) | compressed objects | wire / compressed | daily budget | past the budget: wire (in "
      "link "
      "batches, share of the budget); daemon's count | duplicates | round trips per session, mean "
      "(max) | in-step session "
      "(round trips) | sessions dialed (failed) | cuts |\n");
  std::printf(
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
      "| --- |\n");
  for (const auto& row : rows) {
    const auto& b = row.backlog;
    const auto& r = row.refs;
    const std::uint64_t reference = r.packed + b.forwardedPacked;
    std::string budget = "-", past = "-";
    if (row.budget) {
      budget = withCommas(row.budget->budget) + " B";
      const double batch = r.linkBatches ? static_cast<double>(r.packedLinkBatch) /
                                               static_cast<double>(r.linkBatches)
                                         : 0.0;
      char batches[32];
      std::snprintf(batches, sizeof batches, "%.1f",
                    batch > 0 ? static_cast<double>(row.budget->pastWire) / batch : 0.0);
      past = withCommas(row.budget->pastWire) + " B (" + batches + " link batches, " +
             std::to_string(std::lround(100.0 * static_cast<double>(row.budget->pastWire) /
                                        static_cast<double>(row.budget->budget))) +
             "% of it); " + withCommas(row.budget->pastCount) + " B" +
             (row.budget->spent ? "" : " (not spent)") +
             (row.budget->allArrived ? "; all arrived" : "");
    }
    char duplicates[32];
    std::snprintf(duplicates, sizeof duplicates, "%.1f%%", 100 * b.sums.duplicateShare());
    char trips[32];
    if (b.sums.sessions > b.sums.failed) {
      std::snprintf(trips, sizeof trips, "%.1f (%u)", b.sums.meanTrips, b.sums.maxTrips);
    } else {
      std::snprintf(trips, sizeof trips, "none ended well");
    }
    char floor[48];
    std::snprintf(floor, sizeof floor, "%.2f s (%.1f)", r.sessionFloor,
                  r.sessionFloor / seconds(row.profile.roundTrip()));
    char time[32], minimum[48];
    std::snprintf(time, sizeof time, "%.*f s%s", b.seconds < 10 ? 2 : 1, b.seconds,
                  b.complete ? "" : "+");
    std::snprintf(minimum, sizeof minimum, "%.*f s%s", r.minimum < 10 ? 2 : 1, r.minimum,
                  r.rate > 0 ? "" : (r.manual > 0 ? " (manual sync)" : ""));
    std::printf(
        "| %s | %s | %s%s | %s | %s | %s | %s (%s, %s) | %s%s | %s | %s | %s | %s | %s | "
        "%s | %s (%s) | %s |\n",
        row.profile.name.c_str(), withCommas(b.backlog).c_str(), withCommas(b.arrived).c_str(),
        b.complete ? "" : " (deadline)", time, r.minimum > 0 ? minimum : "-",
        b.complete && r.minimum > 0 ? ratio(b.seconds / r.minimum).c_str() : "-",
        withCommas(b.wire.total()).c_str(), withCommas(b.wire.up).c_str(),
        withCommas(b.wire.down).c_str(), withCommas(reference).c_str(),
        b.forwardedPacked ? " (with forwarded)" : "",
        b.complete
            ? ratio(static_cast<double>(b.wire.total()) / static_cast<double>(reference)).c_str()
            : "-",
        budget.c_str(), past.c_str(), duplicates, trips, floor, withCommas(b.sums.sessions).c_str(),
        withCommas(b.sums.failed).c_str(), withCommas(b.wire.cuts).c_str());
  }
  if (stick) {
    const auto& t = stick->total;
    char duplicates[32];
    std::snprintf(
        duplicates, sizeof duplicates, "%.1f%%",
        t.objects ? 100.0 * static_cast<double>(t.already) / static_cast<double>(t.objects) : 0.0);
    std::printf(
        "| stick | %s | %s | %s | 1 day | %s | %s (all sticks, %zu days) | %s | %s | - | - | %s | "
        "- (one way) | - | - | - |\n",
        withCommas(stick->backlog).c_str(),
        stick->arrivedOnDay ? withCommas(stick->backlog).c_str() : "not all",
        stick->arrivedOnDay ? ("day " + std::to_string(*stick->arrivedOnDay)).c_str() : "-",
        stick->arrivedOnDay ? ratio(static_cast<double>(*stick->arrivedOnDay)).c_str() : "-",
        withCommas(t.bundleBytes).c_str(), stick->days, withCommas(t.newPacked).c_str(),
        t.newPacked
            ? ratio(static_cast<double>(t.bundleBytes) / static_cast<double>(t.newPacked)).c_str()
            : "-",
        duplicates);
  }
  std::printf(
      "\nminimum: the in-step session's time on the profile's link (handshake and one round "
      "trip, measured) + the largest office's compressed share / the bare stream's measured "
      "rate; on an uncapped link, `sync` by hand of the whole backlog into the hub over one link "
      "of the profile (the hub's CPU is the bound). "
      "Compressed objects: the objects in sync order packed as sessions pack them (zstd 3, "
      "1 MiB batches), plus what offices received from one another through the hub. Wire: the "
      "emulator's counters, both directions of every office's links, until %s after arrival. "
      "Duplicates: duplicatesIn / (objectsIn + duplicatesIn) over every session report, both "
      "sides (sticks: objects already held / objects carried). Round trips: "
      "SessionStats::roundTrips() of the sessions that ended well (reconciliation only; the "
      "link's handshake is not in it). Link batch: a batch of the size sessions pick for the "
      "link's rate (node::batchBytesFor), compressed, on average; budget: %.0f%% of the largest "
      "office's compressed share, a day, on both ends of each office's link; in-step session: its "
      "time, and that time in round "
      "trips of the link, handshake included.\n",
      "the counters settled (max(1.5 s, 3 round trips))", 100 * args.budgetShare);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::printf(
      "field_bench: %s run, seed %llu (budget runs %llu), %zu office(s), modem cut mean %.0f s, "
      "back-off %s to %s\n",
      args.full ? "full" : "quick", static_cast<unsigned long long>(args.seed),
      static_cast<unsigned long long>(args.seed + 1), args.offices,
      std::chrono::duration<double>(args.modemCutMean).count(),
      args.minBackoff
          ? (withCommas(static_cast<std::uint64_t>(args.minBackoff->count())) + " ms").c_str()
          : "shipped (10 s)",
      args.maxBackoff
          ? (withCommas(static_cast<std::uint64_t>(args.maxBackoff->count())) + " ms").c_str()
          : "the peer's max (shipped)");
  printLoad("at the start");
  const auto started = Clock::now();
  std::vector<NetworkRow> rows;
  std::optional<StickRow> stick;
  try {
    for (const auto& name : args.profiles) {
      const auto profiles = shippedProfiles(args.modemCutMean);
      const auto it = std::find_if(profiles.begin(), profiles.end(),
                                   [&](const Profile& p) { return p.name == name; });
      if (it == profiles.end()) usage("unknown profile " + name);
      if (it->stick) {
        stick = runStick(*it, args);
      } else {
        rows.push_back(runNetworkProfile(*it, args));
      }
    }
    printNetworkTable(rows, stick, args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "field_bench: %s\n", e.what());
    return 1;
  }
  std::printf("\n[%.0f s in all]\n", seconds(Clock::now() - started));
  printLoad("at the end");
  return 0;
}
