// Crash safety, with the real binary: `import`, `bundle import` and `serve` (during a sync from
// another node) are killed with SIGKILL at random moments, many times over. After each kill
// the archive opens, `verify --all` passes, and nothing that was reported as imported or
// acknowledged to a peer is missing; running the same work again completes it with no
// duplicates. The kill moments are drawn from FIELDSYNC_SEED (printed; set it to replay a
// run) over the measured length of an uncut run, so kills land before, during and after the
// commits. Each test prints how its kills fell (docs/reliability.md quotes them).
#include <algorithm>

#include "cli/crash_fixture.h"

namespace fieldsync::clitest {
namespace {

// Under a sanitizer every process runs several times slower, and what the kills test is the
// store's recovery, not memory: half the kills there; the release build makes them all.
#ifdef FIELDSYNC_SANITIZED
constexpr int KILL_SHARE = 2;
#else
constexpr int KILL_SHARE = 1;
#endif

/// How the kills of a test fell.
struct Phases {
  std::map<std::string, int> counts;
  void add(const std::string& phase) { ++counts[phase]; }
  std::string summary() const {
    std::string text;
    for (const auto& [phase, n] : counts)
      text += (text.empty() ? "" : ", ") + phase + ": " + std::to_string(n);
    return text;
  }
};

std::chrono::microseconds randomDelay(std::mt19937_64& random, Clock::duration span) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(span).count();
  return std::chrono::microseconds(std::uniform_int_distribution<long>(0, micros)(random));
}

class Crash : public CrashFixture {
 protected:
  /// A copy of the node at from, as a fresh start for one run.
  fs::path copyHome(const fs::path& from, const std::string& name) {
    const fs::path to = m_dir / name;
    fs::remove_all(to);
    fs::copy(from, to, fs::copy_options::recursive);
    return to;
  }
};

// `fieldsync import` stores each file in one transaction and prints the file's line once it is
// committed. Killed at any moment, the archive holds whole files only, every file it printed,
// verifies, and a second import completes it with no clipping stored twice.
TEST_F(Crash, ImportKilledAtRandomMomentsKeepsEveryFileItReportedAndNothingHalfWritten) {
  std::mt19937_64 random(testSeed());
  constexpr int FILES = 10, EACH = 80, RUNS = 16 / KILL_SHARE;
  std::vector<std::string> args{"import"};
  for (int f = 0; f < FILES; ++f) {
    const auto file = m_dir / ("file" + std::to_string(f) + ".jsonl");
    spit(file, generatedClippings("file" + std::to_string(f), EACH));
    args.push_back(file.string());
  }
  const auto office = makeNode("office", m_dir / "template");

  // One uncut import gives the span the kills are drawn over.
  // The quicker of two, so one slowed by a busy machine does not stretch the span.
  Clock::duration span = Clock::duration::max();
  for (int i = 0; i < 2; ++i) {
    const auto calibration = copyHome(office.home, "calibration");
    const auto started = Clock::now();
    auto full = run(calibration, args);
    span = std::min(span, (Clock::now() - started) * 6 / 5);
    ASSERT_EQ(full.status, 0) << full.err;
    fs::remove_all(calibration);
  }
  std::cout << "an uncut import of " << FILES << " files of " << EACH << " clippings: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(span * 5 / 6).count() << " ms"
            << std::endl;

  Phases phases;
  for (int r = 0; r < RUNS; ++r) {
    const auto home = copyHome(office.home, "run");
    const auto delay = randomDelay(random, span);
    auto import = spawn(home, args);
    std::this_thread::sleep_for(delay);
    import->signal(SIGKILL);
    const auto status = import->waitExit(30s);
    ASSERT_TRUE(status);

    // The files the import said it stored: only whole lines count.
    std::set<int> reported;
    std::string out = import->out();
    out.erase(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
    for (int f = 0; f < FILES; ++f) {
      const auto line = "file" + std::to_string(f) + ".jsonl (jsonl): " + std::to_string(EACH) +
                        " new clippings signed and stored";
      if (out.find(line) != std::string::npos) reported.insert(f);
    }
    // Whole files only, and every reported one.
    std::map<int, int> perFile;
    for (const auto& [id, title] : objects(home)) {
      ++perFile[std::stoi(title.substr(4, title.find(' ') - 4))];
    }
    for (const auto& [f, n] : perFile) {
      EXPECT_EQ(n, EACH) << "file " << f << " is half-stored (run " << r << ", killed after "
                         << delay.count() << " us)";
    }
    for (const int f : reported) {
      EXPECT_EQ(perFile[f], EACH) << "file " << f << " was reported and is missing (run " << r
                                  << ")";
    }
    std::string verified;
    EXPECT_EQ(verifyAll(home, &verified), 0) << verified;

    const std::string phase =
        *status == 0                               ? "finished before the kill"
        : reported.empty() && perFile.empty()      ? "killed before the first commit"
        : static_cast<int>(perFile.size()) < FILES ? "killed between commits"
                                                   : "killed after the last commit";
    phases.add(phase);
    if (*status != 0) {
      EXPECT_EQ(*status, -SIGKILL) << import->err();
    }
    std::cout << "run " << r << ": killed " << delay.count() << " us in, " << perFile.size()
              << " of " << FILES << " files stored (" << reported.size() << " reported): " << phase
              << std::endl;

    // Importing again completes the work: every clipping once.
    auto again = run(home, args);
    EXPECT_EQ(again.status, 0) << again.err;
    std::set<std::string> titles;
    std::size_t count = 0;
    for (const auto& [id, title] : objects(home)) {
      titles.insert(title);
      ++count;
    }
    EXPECT_EQ(count, static_cast<std::size_t>(FILES * EACH));
    EXPECT_EQ(titles.size(), count) << "a clipping was stored twice";
  }
  std::cout << RUNS << " imports killed: " << phases.summary() << std::endl;
}

// `bundle import` commits one batch of objects per transaction (here 100). Killed at any
// moment, the archive holds the bundle's first k whole batches, verifies, and a second import
// completes it with every object once.
TEST_F(Crash, BundleImportKilledAtRandomMomentsKeepsWholeBatchesAndCompletesOnTheNextRun) {
  std::mt19937_64 random(testSeed());
  constexpr int OBJECTS = 1200, BATCH = 100, RUNS = 16 / KILL_SHARE;
  const auto source = makeNode("source", m_dir / "source");
  spit(m_dir / "all.jsonl", generatedClippings("wire", OBJECTS));
  ASSERT_EQ(run(source, {"import", (m_dir / "all.jsonl").string()}).status, 0);
  const auto stick = (m_dir / "stick.fsb").string();
  ASSERT_EQ(run(source, {"bundle", "export", stick}).status, 0);
  std::vector<std::string> order;  // the bundle's objects, in bundle (and so import) order
  {
    auto listed = run(source, {"bundle", "list", stick, "--json"});
    ASSERT_EQ(listed.status, 0) << listed.err;
    const auto bundle = json::parse(listed.out);
    for (const auto& o : bundle["objects"]) order.push_back(o["id"].get<std::string>());
  }
  ASSERT_EQ(order.size(), static_cast<std::size_t>(OBJECTS));
  const std::set<std::string> all(order.begin(), order.end());
  const auto hub = makeNode("hub", m_dir / "template", {source.key});
  const std::vector<std::string> args{"bundle", "import", stick, "--batch-objects",
                                      std::to_string(BATCH)};

  // The quicker of two, so one slowed by a busy machine does not stretch the span.
  Clock::duration span = Clock::duration::max();
  for (int i = 0; i < 2; ++i) {
    const auto calibration = copyHome(hub.home, "calibration");
    const auto started = Clock::now();
    auto full = run(calibration, args);
    span = std::min(span, (Clock::now() - started) * 6 / 5);
    ASSERT_EQ(full.status, 0) << full.err;
    fs::remove_all(calibration);
  }
  std::cout << "an uncut bundle import of " << OBJECTS << " objects in batches of " << BATCH << ": "
            << std::chrono::duration_cast<std::chrono::milliseconds>(span * 5 / 6).count() << " ms"
            << std::endl;

  Phases phases;
  for (int r = 0; r < RUNS; ++r) {
    const auto home = copyHome(hub.home, "run");
    const auto delay = randomDelay(random, span);
    auto import = spawn(home, args);
    std::this_thread::sleep_for(delay);
    import->signal(SIGKILL);
    const auto status = import->waitExit(30s);
    ASSERT_TRUE(status);

    const auto stored = ids(home);
    const std::size_t k = stored.size();
    EXPECT_TRUE(k % BATCH == 0 || k == order.size()) << k << " objects: a batch is half-stored";
    EXPECT_EQ(stored, std::set<std::string>(order.begin(), order.begin() + static_cast<long>(k)))
        << "the archive holds other objects than the bundle's first " << k;
    if (*status == 0) {
      EXPECT_EQ(stored, all) << "the import reported success";
    } else {
      EXPECT_EQ(*status, -SIGKILL) << import->err();
    }
    std::string verified;
    EXPECT_EQ(verifyAll(home, &verified), 0) << verified;

    const std::string phase = *status == 0     ? "finished before the kill"
                              : k == 0         ? "killed before the first commit"
                              : k < all.size() ? "killed between commits"
                                               : "killed after the last commit";
    phases.add(phase);
    std::cout << "run " << r << ": killed " << delay.count() << " us in, " << k << " of " << OBJECTS
              << " objects stored: " << phase << std::endl;

    auto again = run(home, args);
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(ids(home), all);
  }
  std::cout << RUNS << " bundle imports killed: " << phases.summary() << std::endl;
}

// `serve` is killed at a random moment of a sync from another node, many times. The client
// (the library's, in this process) records each batch the server acknowledged: after every
// kill the server's archive holds all of them and verifies. The server is started again;
// a last sync completes and both archives hold the union, each object once.
TEST_F(Crash, ServeKilledDuringSyncKeepsEveryAcknowledgedObjectAndTheNextSyncConverges) {
  std::mt19937_64 random(testSeed());
  constexpr int ROUNDS = 12 / KILL_SHARE, EACH = 400, BACK = 100;
  const auto nairobi = makeNode("nairobi", m_dir / "nairobi");
  const auto goma = makeNode("goma", m_dir / "goma", {nairobi.key});
  trust(nairobi, goma.key);
  ASSERT_EQ(run(goma, {"peers", "add", "nairobi", "tcp://192.0.2.1:7420", nairobi.key}).status, 0);
  std::string address;
  auto server = serve(goma, &address);
  ASSERT_TRUE(server);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  ASSERT_EQ(run(nairobi, {"peers", "add", "goma", address, goma.key}).status, 0);
  auto client = store::Home::open(nairobi.home);

  // Each round both sides get clippings the other lacks, so there is a transfer to cut.
  auto feed = [&](int round) {
    const auto there = m_dir / "feed.jsonl";
    spit(there, generatedClippings("nairobi" + std::to_string(round), EACH));
    ASSERT_EQ(run(nairobi, {"import", there.string()}).status, 0);
    spit(there, generatedClippings("goma" + std::to_string(round), BACK));
    ASSERT_EQ(run(goma, {"import", there.string()}).status, 0);
  };

  feed(0);
  const auto started = Clock::now();
  const auto uncut = syncRecordingAcks(*client, address, goma.key, 50);
  const auto span = (Clock::now() - started) * 6 / 5;
  ASSERT_TRUE(uncut.report.ok) << uncut.report.failure;
  EXPECT_EQ(uncut.ids.size(), static_cast<std::size_t>(EACH));
  std::cout << "an uncut sync of " << EACH << " objects out and " << BACK << " in: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(span * 5 / 6).count() << " ms"
            << std::endl;

  Phases phases;
  std::size_t ackedTotal = 0;
  for (int round = 1; round <= ROUNDS; ++round) {
    feed(round);
    const auto delay = randomDelay(random, span);
    Acked acked;
    std::thread syncing([&] { acked = syncRecordingAcks(*client, address, goma.key, 50); });
    std::this_thread::sleep_for(delay);
    server->signal(SIGKILL);
    const auto status = server->waitExit(30s);
    syncing.join();
    ASSERT_EQ(status, -SIGKILL) << server->err();

    const auto held = ids(goma.home);
    for (const auto& id : acked.ids) {
      EXPECT_TRUE(held.count(id)) << "acknowledged object " << id << " is missing (round " << round
                                  << ")";
    }
    std::string verified;
    EXPECT_EQ(verifyAll(goma.home, &verified), 0) << verified;
    ackedTotal += acked.ids.size();

    const std::string phase = acked.report.ok     ? "finished before the kill"
                              : acked.ids.empty() ? "killed before the first acknowledgement"
                                                  : "killed between acknowledgements";
    phases.add(phase);
    std::cout << "round " << round << ": server killed " << delay.count() << " us in, "
              << acked.ids.size() << " objects acknowledged, server holds " << held.size() << ": "
              << phase << (acked.report.ok ? "" : " (" + acked.report.failure + ")") << std::endl;
    server = serve(goma, &address, port);
    ASSERT_TRUE(server);
  }
  std::cout << ROUNDS << " servers killed: " << phases.summary() << "; " << ackedTotal
            << " objects acknowledged in cut sessions, none missing" << std::endl;

  const auto last = syncRecordingAcks(*client, address, goma.key, 50);
  ASSERT_TRUE(last.report.ok) << last.report.failure;
  EXPECT_TRUE(last.report.inStep);
  const auto theirs = objects(goma.home);
  const auto mine = objects(nairobi.home);
  EXPECT_EQ(theirs, mine);
  const std::size_t expected = static_cast<std::size_t>((ROUNDS + 1) * (EACH + BACK));
  EXPECT_EQ(theirs.size(), expected);
  std::set<std::string> titles;
  for (const auto& [id, title] : theirs) titles.insert(title);
  EXPECT_EQ(titles.size(), expected) << "an object is stored twice";
  EXPECT_EQ(verifyAll(goma.home), 0);
  EXPECT_EQ(verifyAll(nairobi.home), 0);
  server->signal(SIGTERM);
  EXPECT_EQ(server->waitExit(30s), 0) << server->err();
}

}  // namespace
}  // namespace fieldsync::clitest
