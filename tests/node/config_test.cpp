// config.toml: the pure reader (every kind of refusal at its line and column) and bringing a
// real archive's peer list in step with a file.
#include "node/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "store/store_fixture.h"

namespace fieldsync::node {
namespace {

using store::testing::keyNumber;
using store::testing::TempArchive;

std::string keyHex(std::uint8_t n) { return keyNumber(n).publicKey().hex(); }

Config parsed(const std::string& text) {
  auto config = parseConfig(text);
  if (!config.ok())
    ADD_FAILURE() << config.error().line << ":" << config.error().column << ": "
                  << config.error().message;
  return config.ok() ? *config : Config{};
}

/// The refusal of text; fails the test when text is accepted.
ConfigError refusal(const std::string& text) {
  auto config = parseConfig(text);
  if (config.ok()) {
    ADD_FAILURE() << "accepted:\n" << text;
    return {};
  }
  return config.error();
}

#define EXPECT_REFUSED_AT(text, wantLine, wantColumn, fragment)          \
  do {                                                                   \
    const ConfigError e = refusal(text);                                 \
    EXPECT_EQ(e.line, wantLine) << e.message;                            \
    EXPECT_EQ(e.column, wantColumn) << e.message;                        \
    EXPECT_NE(e.message.find(fragment), std::string::npos) << e.message; \
  } while (false)

TEST(ConfigReader, EmptyFileIsAllDefaults) {
  const Config config = parsed("");
  EXPECT_EQ(config.listen.value, "tcp://0.0.0.0:7420");
  EXPECT_EQ(config.listen.source.kind, Source::Default);
  EXPECT_TRUE(config.dial.value);
  EXPECT_FALSE(config.beacon.value) << "the LAN beacon is off unless turned on";
  EXPECT_EQ(config.logLevel.value, LogLevel::Info);
  EXPECT_FALSE(config.peers) << "no [peers]: the archive's list rules";
}

TEST(ConfigReader, ReadsEverySettingWithItsLine) {
  const std::string text =
      "# a node in Goma\n"
      "listen = \"tcp://192.0.2.7:7200\"\n"
      "dial = false\n"
      "beacon = true\n"
      "log_level = \"debug\"\n"
      "\n"
      "[peers.bukavu]\n"
      "address = \"tcp://bukavu.example.org:7420\"\n"
      "key = \"" +
      keyHex(2) +
      "\"\n"
      "interval = \"10m\"\n"
      "max_backoff = 7200\n"
      "rate = \"64k\"\n"
      "daily_budget = \"50M\"\n"
      "\n"
      "[peers.\"hq.kinshasa\"]\n"
      "address = \"tcp://[2001:db8::1]:7420\"\n"
      "key = \"" +
      keyHex(3) + "\"\n";
  const Config config = parsed(text);
  EXPECT_EQ(config.listen.value, "tcp://192.0.2.7:7200");
  EXPECT_EQ(config.listen.source, (Source{.kind = Source::File, .line = 2}));
  EXPECT_FALSE(config.dial.value);
  EXPECT_EQ(config.dial.source.line, 3u);
  EXPECT_TRUE(config.beacon.value);
  EXPECT_EQ(config.beacon.source.line, 4u);
  EXPECT_EQ(config.logLevel.value, LogLevel::Debug);
  EXPECT_EQ(config.logLevel.source.line, 5u);
  ASSERT_TRUE(config.peers);
  ASSERT_EQ(config.peers->size(), 2u);
  const PeerConfig& bukavu = (*config.peers)[0];
  EXPECT_EQ(bukavu.name, "bukavu");
  EXPECT_EQ(bukavu.line, 7u);
  EXPECT_EQ(bukavu.address.value, "tcp://bukavu.example.org:7420");
  EXPECT_EQ(bukavu.key.value, keyNumber(2).publicKey());
  EXPECT_EQ(bukavu.interval.value, 600);
  EXPECT_EQ(bukavu.interval.source.line, 10u);
  EXPECT_EQ(bukavu.maxBackoff.value, 7200);
  EXPECT_EQ(bukavu.rate.value, 64'000u);
  EXPECT_EQ(bukavu.dailyBudget.value, 50'000'000u);
  const PeerConfig& hq = (*config.peers)[1];
  EXPECT_EQ(hq.name, "hq.kinshasa");
  EXPECT_EQ(hq.interval.value, store::DEFAULT_PEER_INTERVAL);
  EXPECT_EQ(hq.interval.source.kind, Source::Default);
  EXPECT_EQ(hq.rate.value, 0u);
}

TEST(ConfigReader, AcceptsInlineTablesAndAnEmptyPeerList) {
  const Config empty = parsed("[peers]\n");
  ASSERT_TRUE(empty.peers);
  EXPECT_TRUE(empty.peers->empty());
  EXPECT_EQ(empty.peersLine, 1u);
  const Config inline_ = parsed("peers = { a = { address = \"tcp://10.0.0.1:7420\", key = \"" +
                                keyHex(4) + "\", rate = \"unlimited\" } }\n");
  ASSERT_TRUE(inline_.peers);
  ASSERT_EQ(inline_.peers->size(), 1u);
  EXPECT_EQ((*inline_.peers)[0].rate.value, 0u);
}

TEST(ConfigReader, ListenAcceptsWildcards) {
  EXPECT_EQ(parsed("listen = \"tcp://*:7420\"").listen.value, "tcp://*:7420");
  EXPECT_EQ(parsed("listen = \"tcp://127.0.0.1:*\"").listen.value, "tcp://127.0.0.1:*");
  EXPECT_EQ(parsed("listen = \"tcp://[::1]:7420\"").listen.value, "tcp://[::1]:7420");
}

TEST(ConfigReader, SyntaxErrorNamesLineAndColumn) {
  EXPECT_REFUSED_AT("listen = \"tcp://0.0.0.0:7420\"\nbeacon = tru\n", 2u, 13u,
                    "expected 'true', saw 'tru\\n'");
  EXPECT_REFUSED_AT("[peers.a\n", 1u, 9u, "not valid TOML");
  EXPECT_REFUSED_AT("dial = true\ndial = false\n", 2u, 8u,
                    "cannot redefine existing boolean 'dial'");
}

TEST(ConfigReader, UnknownKeysAreErrorsNotIgnored) {
  EXPECT_REFUSED_AT("listen = \"tcp://*:7420\"\nlog_levle = \"debug\"\n", 2u, 1u,
                    "unknown key \"log_levle\"");
  EXPECT_REFUSED_AT("[peers.a]\naddress = \"tcp://10.0.0.1:7420\"\nkey = \"" + keyHex(2) +
                        "\"\n  intervall = \"5m\"\n",
                    4u, 3u, "unknown key \"intervall\" in [peers.a]");
  EXPECT_REFUSED_AT("[server]\nlisten = \"tcp://*:1\"\n", 1u, 2u, "unknown key \"server\"");
}

TEST(ConfigReader, WrongTypesNameTheKeyAndTheTypes) {
  EXPECT_REFUSED_AT("beacon = \"yes\"\n", 1u, 10u, "beacon must be true or false, not a string");
  EXPECT_REFUSED_AT("listen = 7420\n", 1u, 10u, "listen must be a string");
  EXPECT_REFUSED_AT("[[peers]]\nname = \"a\"\n", 1u, 1u, "peers must be a table");
  EXPECT_REFUSED_AT("[peers]\na = 3\n", 2u, 5u, "peers.a must be a table");
  EXPECT_REFUSED_AT(
      "[peers.a]\naddress = \"tcp://10.0.0.1:7420\"\nkey = \"" + keyHex(2) + "\"\ninterval = 1.5\n",
      4u, 12u, "peers.a.interval must be a duration");
}

TEST(ConfigReader, BadValuesAreRefusedWhereTheyAre) {
  const std::string head =
      "[peers.a]\naddress = \"tcp://10.0.0.1:7420\"\nkey = \"" + keyHex(2) + "\"\n";
  EXPECT_REFUSED_AT(head + "interval = -5\n", 4u, 12u, "out of range (1s to 30d)");
  EXPECT_REFUSED_AT(head + "interval = \"-5m\"\n", 4u, 12u, "not a duration");
  EXPECT_REFUSED_AT(head + "max_backoff = \"31d\"\n", 4u, 15u, "out of range");
  EXPECT_REFUSED_AT(head + "rate = -1\n", 4u, 8u, "out of range");
  EXPECT_REFUSED_AT(head + "rate = \"2G\"\n", 4u, 8u, "out of range (at most 1G");
  EXPECT_REFUSED_AT(head + "daily_budget = \"lots\"\n", 4u, 16u, "not a number of bytes");
  EXPECT_REFUSED_AT("log_level = \"verbose\"\n", 1u, 13u, "not a level");
  EXPECT_REFUSED_AT("listen = \"0.0.0.0:7420\"\n", 1u, 10u, "not an address to listen on");
  EXPECT_REFUSED_AT("listen = \"tcp://0.0.0.0:70000\"\n", 1u, 10u, "not an address to listen on");
  EXPECT_REFUSED_AT("[peers.a]\naddress = \"tcp://10.0.0.1\"\nkey = \"" + keyHex(2) + "\"\n", 2u,
                    11u, "not a peer address");
  const ConfigError escapedNewline =
      refusal("[peers.a]\naddress = \"tcp://a.example\\nb.org:7420\"\n");
  EXPECT_EQ(escapedNewline.message.find('\n'), std::string::npos)
      << "one line: " << escapedNewline.message;
  EXPECT_NE(escapedNewline.message.find("a.example\\nb.org"), std::string::npos)
      << escapedNewline.message;
  EXPECT_REFUSED_AT("[peers.a]\naddress = \"tcp://10.0.0.1:7420\"\nkey = \"abc\"\n", 3u, 7u,
                    "not a public key");
  EXPECT_REFUSED_AT("[peers.\"a b\"]\naddress = \"tcp://10.0.0.1:7420\"\n", 1u, 8u,
                    "peer name \"a b\"");
}

TEST(ConfigReader, PeerNeedsAKeyAndKeysAreUniqueButAnAddressIsOptional) {
  // No address: a partner reached only by stick, with the default (empty) address.
  const Config stickOnly = parsed("[peers.a]\nkey = \"" + keyHex(2) + "\"\n");
  ASSERT_TRUE(stickOnly.peers);
  ASSERT_EQ(stickOnly.peers->size(), 1u);
  EXPECT_TRUE((*stickOnly.peers)[0].address.value.empty());
  EXPECT_EQ((*stickOnly.peers)[0].address.source.kind, Source::Default);
  EXPECT_REFUSED_AT("[peers.a]\naddress = \"\"\nkey = \"" + keyHex(2) + "\"\n", 2u, 11u,
                    "not a peer address");
  EXPECT_REFUSED_AT("[peers.a]\naddress = \"tcp://10.0.0.1:7420\"\n", 1u, 8u, "has no key");
  EXPECT_REFUSED_AT("[peers.a]\naddress = \"tcp://10.0.0.1:7420\"\nkey = \"" + keyHex(2) +
                        "\"\n[peers.b]\naddress = \"tcp://10.0.0.2:7420\"\nkey = \"" + keyHex(2) +
                        "\"\n",
                    6u, 7u, "peer a has this key already");
}

TEST(ConfigReader, RefusesALongFileUnreadAndBadUtf8) {
  const ConfigError tooLong = refusal(std::string(MAX_CONFIG_BYTES + 1, '#'));
  EXPECT_EQ(tooLong.line, 0u);
  EXPECT_NE(tooLong.message.find("at most"), std::string::npos);
  EXPECT_REFUSED_AT("listen = \"tcp://\xff:1\"\n", 1u, 17u, "not UTF-8");
  EXPECT_REFUSED_AT("# \xc3\xa9t\xc3\xa9\nbeacon = false\n\xc3\xa9\xc3\n", 3u, 2u, "not UTF-8");
  EXPECT_REFUSED_AT(std::string("dial = true\0\n", 13), 1u, 12u, "NUL");
}

TEST(ConfigReader, TheDocumentedExampleIsValid) {
  std::ifstream in(std::string(FIELDSYNC_DOCS_DIR) + "/config.example.toml", std::ios::binary);
  ASSERT_TRUE(in);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Config config = parsed(text);
  ASSERT_TRUE(config.peers);
  ASSERT_EQ(config.peers->size(), 3u);
  EXPECT_EQ((*config.peers)[0].dailyBudget.value, 50'000'000u);
  EXPECT_EQ((*config.peers)[1].name, "hq.kinshasa");
  EXPECT_EQ((*config.peers)[1].interval.value, 3600);
  EXPECT_EQ((*config.peers)[2].name, "komanda");
  EXPECT_TRUE((*config.peers)[2].address.value.empty());  // reached only by stick
}

TEST(ConfigReader, NonAsciiOutsideStringsIsRefusedBeforeTheTomlLibrarySeesIt) {
  // toml++ 3.3 reaches undefined behaviour on non-ASCII (found by fuzz_config; upstream #190,
  // #295): outside strings it is refused first, at its place.
  EXPECT_REFUSED_AT("dial = true\ni\xca\xb4 = 1\n", 2u, 2u,
                    "non-ASCII character outside a quoted string or a comment");
  EXPECT_REFUSED_AT("\xcc\xaa", 1u, 1u, "non-ASCII character outside");
  // In a string, where TOML allows them, the library sees '?' (every value here is ASCII).
  EXPECT_REFUSED_AT("log_level = \"\"\"\\\n  \xc2\xa7\"\"\"\n", 1u, 13u,
                    "log_level: \"?\" is not a level");
  // Where TOML allows them, they are read as usual.
  const Config config = parsed(
      "# Bureau de Goma \xe2\x80\x94 \xc3\xa9t\xc3\xa9\n"
      "[peers.\"bukavu\"] # \xc2\xa7\n"
      "address = \"tcp://10.0.0.1:7420\" # \xe2\x80\x80\n"
      "key = \"" +
      keyHex(2) + "\"\n");
  ASSERT_TRUE(config.peers);
  EXPECT_EQ((*config.peers)[0].name, "bukavu");
  const ConfigError inString = refusal(
      "log_level = \"d\xc3\xa9"
      "bug\"\n");
  EXPECT_NE(inString.message.find("not a level"), std::string::npos) << inString.message;
  const ConfigError inLiteral = refusal("log_level = '''\n\xc3\xa9'''\n");
  EXPECT_NE(inLiteral.message.find("not a level"), std::string::npos) << inLiteral.message;
}

TEST(ConfigReader, ListenAddressCheck) {
  EXPECT_FALSE(checkListenAddress("tcp://0.0.0.0:7420"));
  EXPECT_FALSE(checkListenAddress("tcp://*:*"));
  EXPECT_TRUE(checkListenAddress("udp://0.0.0.0:7420"));
  EXPECT_TRUE(checkListenAddress("tcp://0.0.0.0:0"));
  EXPECT_TRUE(checkListenAddress(""));
}

// --- The peer list in the archive ----------------------------------------------------------

store::PeerRecord listedPeer(const std::string& name, std::uint8_t key) {
  store::PeerRecord peer;
  peer.name = name;
  peer.address = "tcp://10.0.0." + std::to_string(key) + ":7420";
  peer.key = keyNumber(key).publicKey();
  return peer;
}

void put(store::Archive& archive, const store::PeerRecord& peer) {
  archive.write([&](store::WriteTxn& txn) {
    ASSERT_TRUE(store::putPeer(txn, peer, store::IfNameListed::Replace).ok());
  });
}

TEST(ConfigPeers, WithoutPeersTableTheArchiveListStaysAsItIs) {
  TempArchive archive;
  put(*archive.archive, listedPeer("a", 2));
  const Config config = parsed("log_level = \"warn\"\n");
  EXPECT_TRUE(planPeers(config, store::listPeers(archive.archive->beginRead())).empty());
  auto changes = applyPeers(*archive.archive, config, keyNumber(1).publicKey());
  ASSERT_TRUE(changes.ok());
  EXPECT_TRUE(changes->empty());
  EXPECT_EQ(store::listPeers(archive.archive->beginRead()).size(), 1u);
}

TEST(ConfigPeers, ApplyAddsUpdatesAndRemovesToMatchTheFile) {
  TempArchive archive;
  auto kept = listedPeer("kept", 2);
  kept.state.objectsIn = 42;  // history that an update of its settings keeps
  put(*archive.archive, kept);
  put(*archive.archive, listedPeer("gone", 3));
  const Config config =
      parsed("[peers.kept]\naddress = \"tcp://10.0.0.2:7420\"\nkey = \"" + keyHex(2) +
             "\"\ninterval = \"10m\"\n[peers.new]\naddress = \"tcp://10.0.0.4:7420\"\nkey = \"" +
             keyHex(4) + "\"\n");

  const auto plan = planPeers(config, store::listPeers(archive.archive->beginRead()));
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].kind, PeerChange::Remove);
  EXPECT_EQ(plan[0].name, "gone");
  EXPECT_EQ(plan[1].kind, PeerChange::Update);
  EXPECT_EQ(plan[1].details, std::vector<std::string>{"interval 5m -> 10m"});
  EXPECT_EQ(plan[2].kind, PeerChange::Add);
  EXPECT_EQ(plan[2].name, "new");

  auto changes = applyPeers(*archive.archive, config, keyNumber(1).publicKey());
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  EXPECT_EQ(changes->size(), 3u);
  const auto peers = store::listPeers(archive.archive->beginRead());
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].name, "kept");
  EXPECT_EQ(peers[0].settings.interval, 600);
  EXPECT_EQ(peers[0].state.objectsIn, 42u);
  EXPECT_EQ(peers[1].name, "new");
  EXPECT_EQ(peers[1].key, keyNumber(4).publicKey());

  // Applied: nothing more to do, and applying again changes nothing.
  EXPECT_TRUE(planPeers(config, peers).empty());
  auto again = applyPeers(*archive.archive, config, keyNumber(1).publicKey());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST(ConfigPeers, ANewKeyIsAnotherNodeWithoutHistory) {
  TempArchive archive;
  auto peer = listedPeer("a", 2);
  peer.state.objectsIn = 7;
  put(*archive.archive, peer);
  const Config config =
      parsed("[peers.a]\naddress = \"tcp://10.0.0.2:7420\"\nkey = \"" + keyHex(5) + "\"\n");
  ASSERT_TRUE(applyPeers(*archive.archive, config, keyNumber(1).publicKey()).ok());
  const auto stored = store::findPeer(archive.archive->beginRead(), "a");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->key, keyNumber(5).publicKey());
  EXPECT_EQ(stored->state.objectsIn, 0u);
}

TEST(ConfigPeers, AKeyMovesFromARemovedNameToADeclaredOne) {
  TempArchive archive;
  put(*archive.archive, listedPeer("old-name", 2));
  const Config config =
      parsed("[peers.new-name]\naddress = \"tcp://10.0.0.2:7420\"\nkey = \"" + keyHex(2) + "\"\n");
  auto changes = applyPeers(*archive.archive, config, keyNumber(1).publicKey());
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  const auto peers = store::listPeers(archive.archive->beginRead());
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].name, "new-name");
}

TEST(ConfigPeers, OwnKeyIsRefusedAndNothingChanges) {
  TempArchive archive;
  put(*archive.archive, listedPeer("a", 2));
  const Config config =
      parsed("[peers.self]\naddress = \"tcp://10.0.0.1:7420\"\nkey = \"" + keyHex(1) + "\"\n");
  auto changes = applyPeers(*archive.archive, config, keyNumber(1).publicKey());
  ASSERT_FALSE(changes.ok());
  EXPECT_EQ(changes.error().line, 3u);
  EXPECT_EQ(changes.error().column, 7u);
  EXPECT_NE(changes.error().message.find("own key"), std::string::npos);
  const auto peers = store::listPeers(archive.archive->beginRead());
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].name, "a");
}

TEST(ConfigPeers, AnEmptyPeersTableEmptiesTheList) {
  TempArchive archive;
  put(*archive.archive, listedPeer("a", 2));
  auto changes = applyPeers(*archive.archive, parsed("[peers]\n"), keyNumber(1).publicKey());
  ASSERT_TRUE(changes.ok());
  EXPECT_TRUE(store::listPeers(archive.archive->beginRead()).empty());
}

}  // namespace
}  // namespace fieldsync::node
