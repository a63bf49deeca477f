#include "node/config.h"

#include <toml++/toml.h>

#include <map>
#include <set>

#include "node/units.h"
#include "protocol/text.h"

namespace fieldsync::node {

namespace {

/// A refusal carried out of the tree walk; parseConfig turns it into its ConfigError.
struct Refused {
  ConfigError error;
};

std::uint32_t clamp32(std::uint64_t n) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(n, UINT32_MAX));
}

[[noreturn]] void refuse(const toml::source_region& at, std::string message) {
  throw Refused{ConfigError{.line = clamp32(at.begin.line),
                            .column = clamp32(at.begin.column),
                            .message = std::move(message)}};
}

std::string typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number with a fraction";
    case toml::node_type::boolean:
      return "true or false";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date and time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

/// The value's text for a message, cut short and without control characters.
std::string shown(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 80)) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  if (text.size() > 80) out += "...";
  return out + "\"";
}

/// text with control characters written as \n, \t or \xNN: toml++'s messages quote what
/// they saw, newlines included, and an error is one line.
std::string escaped(std::string_view text) {
  static constexpr char HEX[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += HEX[u >> 4];
      out += HEX[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

Source fileSource(const toml::node& node) {
  return {.kind = Source::File, .line = clamp32(node.source().begin.line)};
}

const std::string& needString(const toml::node& node, const std::string& what,
                              const char* expected) {
  const auto* s = node.as_string();
  if (!s) refuse(node.source(), what + " must be " + expected + ", not " + typeName(node));
  return s->get();
}

bool needBool(const toml::node& node, const std::string& what) {
  const auto* b = node.as_boolean();
  if (!b) refuse(node.source(), what + " must be true or false, not " + typeName(node));
  return b->get();
}

const toml::table& needTable(const toml::node& node, const std::string& what, const char* example) {
  const auto* t = node.as_table();
  if (!t) refuse(node.source(), what + " must be a table (" + example + "), not " + typeName(node));
  return *t;
}

[[noreturn]] void unknownKey(const toml::key& key, const std::string& where, const char* known) {
  refuse(key.source(), "unknown key " + shown(key.str()) + where + " (known keys: " + known + ")");
}

/// interval, max_backoff: a duration string ("10m", "1h30m") or an integer of seconds.
std::int64_t period(const toml::node& node, const std::string& what) {
  std::optional<std::int64_t> seconds;
  std::string text;
  if (const auto* i = node.as_integer()) {
    seconds = i->get();
    text = std::to_string(i->get());
  } else if (const auto* s = node.as_string()) {
    seconds = parseDuration(s->get());
    text = shown(s->get());
    if (!seconds)
      refuse(node.source(), what + ": not a duration: " + text +
                                " (expected a number with a unit s, m, h or d, such as \"30s\", "
                                "\"10m\", \"2h\" or \"1h30m\", or a number of seconds)");
  } else {
    refuse(node.source(), what + " must be a duration such as \"10m\", not " + typeName(node));
  }
  if (*seconds < store::MIN_PEER_PERIOD || *seconds > store::MAX_PEER_PERIOD)
    refuse(node.source(), what + ": " + text + " is out of range (1s to 30d)");
  return *seconds;
}

/// rate, daily_budget: a size string ("64k", "5M", "unlimited") or an integer of bytes.
std::uint64_t size(const toml::node& node, const std::string& what, std::uint64_t most,
                   const char* mostText) {
  std::uint64_t bytes = 0;
  std::string text;
  if (const auto* i = node.as_integer()) {
    text = std::to_string(i->get());
    if (i->get() < 0)
      refuse(node.source(),
             what + ": " + text + " is out of range (0 for unlimited, at most " + mostText + ")");
    bytes = static_cast<std::uint64_t>(i->get());
  } else if (const auto* s = node.as_string()) {
    text = shown(s->get());
    const auto parsed =
        s->get() == "unlimited" ? std::optional<std::uint64_t>(0) : parseSize(s->get());
    if (!parsed)
      refuse(node.source(),
             what + ": not a number of bytes: " + text +
                 " (expected a number, optionally with k, M, G or T for "
                 "thousands, millions, ...: 8000, \"64k\", \"5M\"; 0 for unlimited)");
    bytes = *parsed;
  } else {
    refuse(node.source(), what + " must be a size such as \"64k\", not " + typeName(node));
  }
  if (bytes > most)
    refuse(node.source(),
           what + ": " + text + " is out of range (at most " + mostText + "; 0 for unlimited)");
  return bytes;
}

/// toml++ 3.3 (Debian 12) reaches __builtin_unreachable, undefined behaviour, when it asks
/// whether some non-ASCII characters are whitespace (upstream issues #190 and #295, fixed after
/// 3.3; found here by fuzz/fuzz_config.cpp). So it never sees one: parseConfig checks the
/// UTF-8 itself, refuses non-ASCII outside strings and comments (TOML 1.0 allows it nowhere
/// else) with a message of its own, and hands toml++ a copy with every other non-ASCII
/// character written as '?'. Every value this file may hold is ASCII (addresses, hex keys,
/// names, levels, durations, sizes), so the copy reads the same, and a string that held
/// non-ASCII is refused as before, showing '?' for the character.
///
/// The screen below is a light scanner of strings and comments, for the message only: were it
/// ever wrong about where a string starts, toml++ would still see ASCII alone.
std::optional<ConfigError> screenNonAscii(std::string_view text) {
  enum class In { Plain, Comment, Basic, Literal, MultiBasic, MultiLiteral } in = In::Plain;
  std::uint32_t line = 1, column = 1;
  unsigned char before = '\n';  // the last character in plain text, spaces aside
  auto refuseHere = [&](const char* what) {
    return ConfigError{
        .line = line, .column = column, .message = std::string("not valid TOML: ") + what};
  };
  auto at = [&](std::size_t i, std::string_view s) { return text.substr(i, s.size()) == s; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (in) {
      case In::Plain: {
        if (c >= 0x80)
          return refuseHere("a non-ASCII character outside a quoted string or a comment");
        // A quote opens a string only where a key or a value may start; elsewhere (in the
        // middle of a bare word, which is not valid TOML) it is taken as plain text, so the
        // screen never thinks itself inside a string the library does not.
        const bool mayOpen =
            std::string_view("\n=[,{.").find(static_cast<char>(before)) != std::string_view::npos;
        if (c == '#')
          in = In::Comment;
        else if (mayOpen && at(i, "\"\"\""))
          in = In::MultiBasic, i += 2, column += 2;
        else if (mayOpen && c == '"')
          in = In::Basic;
        else if (mayOpen && at(i, "'''"))
          in = In::MultiLiteral, i += 2, column += 2;
        else if (mayOpen && c == '\'')
          in = In::Literal;
        if (c != ' ' && c != '\t' && c != '\r') before = c;
        break;
      }
      case In::Comment:
        if (c == '\n') in = In::Plain, before = c;
        break;
      case In::Basic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n')
          ++i, ++column;
        else if (c == '"' || c == '\n')
          in = In::Plain, before = c;
        break;
      case In::Literal:
        if (c == '\'' || c == '\n') in = In::Plain, before = c;
        break;
      case In::MultiBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i, ++column;  // an escape: the next character is not a closing quote
        } else if (at(i, "\"\"\"")) {
          in = In::Plain;
          i += 2, column += 2;
          while (i + 1 < text.size() && text[i + 1] == '"') ++i, ++column;  // up to two more
          before = '"';
        }
        break;
      case In::MultiLiteral:
        if (at(i, "'''")) {
          in = In::Plain;
          i += 2, column += 2;
          while (i + 1 < text.size() && text[i + 1] == '\'') ++i, ++column;
          before = '\'';
        }
        break;
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++column;  // a column is a character: UTF-8 continuation bytes do not count
    }
  }
  return std::nullopt;
}

constexpr const char* TOP_KEYS = "listen, dial, beacon, log_level, peers";
constexpr const char* PEER_KEYS = "address, key, interval, max_backoff, rate, daily_budget";

PeerConfig readPeer(const toml::key& name, const toml::node& node) {
  const std::string where = "peers." + std::string(name.str());
  if (auto problem = store::checkPeerName(name.str()))
    refuse(name.source(), "peer name " + shown(name.str()) +
                              ": a name is 1 to 64 of A-Z a-z 0-9 . _ - (quote it: "
                              "[peers.\"office.b\"])");
  const auto& table = needTable(node, where, "[peers.NAME] with key = ... and address = ...");
  PeerConfig peer;
  peer.name = std::string(name.str());
  peer.line = clamp32(name.source().begin.line);
  bool hasKey = false;  // no address: a partner reached only by stick
  for (auto&& [key, value] : table) {
    const std::string what = where + "." + std::string(key.str());
    if (key == "address") {
      const auto& text = needString(value, what, "a string: \"tcp://HOST:PORT\"");
      if (auto problem = store::checkPeerAddress(text))
        refuse(value.source(), what + ": " + problem->message);
      peer.address = {text, fileSource(value)};
    } else if (key == "key") {
      const auto& text = needString(value, what, "a string of 64 hex digits");
      const auto parsed = protocol::PublicKey::fromHex(text);
      if (!parsed)
        refuse(value.source(), what + ": not a public key: " + shown(text) +
                                   " (expected 64 hex digits, as `fieldsync id` prints them "
                                   "on the peer)");
      if (!protocol::toCurve(*parsed))
        refuse(value.source(),
               what + ": " + shown(text) + " is not a usable Ed25519 public key (a typo in it?)");
      peer.key = {*parsed, fileSource(value)};
      peer.keyColumn = clamp32(value.source().begin.column);
      hasKey = true;
    } else if (key == "interval") {
      peer.interval = {period(value, what), fileSource(value)};
    } else if (key == "max_backoff") {
      peer.maxBackoff = {period(value, what), fileSource(value)};
    } else if (key == "rate") {
      peer.rate = {size(value, what, store::MAX_PEER_RATE, "1G bytes per second"),
                   fileSource(value)};
    } else if (key == "daily_budget") {
      peer.dailyBudget = {size(value, what, store::MAX_PEER_DAILY_BUDGET, "1000T bytes"),
                          fileSource(value)};
    } else {
      unknownKey(key, " in [" + where + "]", PEER_KEYS);
    }
  }
  if (!hasKey)
    refuse(name.source(), "peer " + peer.name +
                              " has no key = \"...\" (64 hex digits, `fieldsync id` on the peer)");
  return peer;
}

Config readConfig(const toml::table& root) {
  Config config;
  for (auto&& [key, value] : root) {
    if (key == "listen") {
      const auto& text = needString(value, "listen", "a string: \"tcp://HOST:PORT\"");
      if (auto problem = checkListenAddress(text)) refuse(value.source(), "listen: " + *problem);
      config.listen = {text, fileSource(value)};
    } else if (key == "dial") {
      config.dial = {needBool(value, "dial"), fileSource(value)};
    } else if (key == "beacon") {
      config.beacon = {needBool(value, "beacon"), fileSource(value)};
    } else if (key == "log_level") {
      const auto& text =
          needString(value, "log_level", "a string: \"error\", \"warn\", \"info\" or \"debug\"");
      const auto level = parseLogLevel(text);
      if (!level)
        refuse(value.source(), "log_level: " + shown(text) +
                                   " is not a level (expected \"error\", \"warn\", \"info\" or "
                                   "\"debug\")");
      config.logLevel = {*level, fileSource(value)};
    } else if (key == "peers") {
      const auto& table = needTable(value, "peers", "[peers.NAME] sections, one per peer");
      config.peersLine = clamp32(key.source().begin.line);
      std::vector<PeerConfig> peers;
      std::map<protocol::PublicKey, std::string> keys;
      for (auto&& [name, peerNode] : table) {
        PeerConfig peer = readPeer(name, peerNode);
        const auto [it, added] = keys.emplace(peer.key.value, peer.name);
        if (!added)
          throw Refused{ConfigError{.line = peer.key.source.line,
                                    .column = peer.keyColumn,
                                    .message = "peers." + peer.name + ".key: peer " + it->second +
                                               " has this key already (a key names one peer)"}};
        peers.push_back(std::move(peer));
      }
      config.peers = std::move(peers);
    } else {
      unknownKey(key, "", TOP_KEYS);
    }
  }
  return config;
}

}  // namespace

Expected<Config, ConfigError> parseConfig(std::string_view text) {
  if (text.size() > MAX_CONFIG_BYTES)
    return ConfigError{.line = 0,
                       .column = 0,
                       .message = "the file is " + std::to_string(text.size()) +
                                  " bytes long; a configuration file is at most " +
                                  std::to_string(MAX_CONFIG_BYTES) + " bytes"};
  if (const auto bad = protocol::findInvalidUtf8(text)) {
    const std::string_view before = text.substr(0, *bad);
    const auto lineStart = before.rfind('\n');
    const std::string_view lastLine =
        lineStart == std::string_view::npos ? before : before.substr(lineStart + 1);
    return ConfigError{
        .line =
            clamp32(static_cast<std::uint64_t>(std::count(before.begin(), before.end(), '\n')) + 1),
        .column =
            clamp32(static_cast<std::uint64_t>(std::count_if(
                        lastLine.begin(), lastLine.end(),
                        [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; })) +
                    1),
        .message = "not valid TOML: not UTF-8 text, or a NUL byte"};
  }
  if (auto refused = screenNonAscii(text)) return *refused;
  std::string ascii;
  ascii.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80)
      ascii += c;
    else if ((u & 0xC0) != 0x80)
      ascii += '?';  // one character for one: lines and columns stay
  }
  try {
    const toml::table root = toml::parse(ascii);
    return readConfig(root);
  } catch (const toml::parse_error& e) {
    return ConfigError{.line = clamp32(e.source().begin.line),
                       .column = clamp32(e.source().begin.column),
                       .message = "not valid TOML: " + escaped(e.description())};
  } catch (const Refused& refused) {
    ConfigError error = refused.error;
    error.message = escaped(error.message);  // values quoted in it may hold "\n" escapes
    return error;
  }
}

std::optional<std::string> checkListenAddress(std::string_view endpoint) {
  // The peer address rules, with * allowed for the host (every interface) and the port (any).
  constexpr std::string_view SCHEME = "tcp://";
  std::string probe(endpoint);
  if (endpoint.starts_with(SCHEME)) {
    std::string_view rest = endpoint.substr(SCHEME.size());
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      std::string host(rest.substr(0, colon)), port(rest.substr(colon + 1));
      if (host == "*") host = "0.0.0.0";
      if (port == "*") port = "1";
      probe = std::string(SCHEME) + host + ":" + port;
    }
  }
  if (store::checkPeerAddress(probe))
    return "not an address to listen on: " + shown(endpoint) +
           " (expected tcp://HOST:PORT, for example tcp://0.0.0.0:7420 for every interface or "
           "tcp://192.0.2.7:7420, with a port of 1 to 65535)";
  return std::nullopt;
}

std::vector<PeerChange> planPeers(const Config& config,
                                  const std::vector<store::PeerRecord>& listed) {
  std::vector<PeerChange> changes;
  if (!config.peers) return changes;
  std::set<std::string> declared;
  for (const auto& peer : *config.peers) declared.insert(peer.name);
  for (const auto& record : listed)
    if (!declared.contains(record.name))
      changes.push_back({.kind = PeerChange::Remove, .name = record.name, .details = {}});
  for (const auto& peer : *config.peers) {
    const auto it = std::find_if(listed.begin(), listed.end(),
                                 [&](const auto& record) { return record.name == peer.name; });
    if (it == listed.end()) {
      changes.push_back({.kind = PeerChange::Add, .name = peer.name, .details = {}});
      continue;
    }
    std::vector<std::string> details;
    auto differ = [&](const char* what, const std::string& was, const std::string& now) {
      if (was != now) details.push_back(std::string(what) + " " + was + " -> " + now);
    };
    auto sizeText = [](std::uint64_t bytes) {
      return bytes == 0 ? std::string("unlimited") : formatSize(bytes);
    };
    const store::PeerSettings was = it->settings, now = peer.settings();
    auto addressText = [](const std::string& address) {
      return address.empty() ? std::string("(none: stick only)") : address;
    };
    differ("address", addressText(it->address), addressText(peer.address.value));
    differ("key", it->key.hex(), peer.key.value.hex());
    differ("interval", formatDuration(was.interval), formatDuration(now.interval));
    differ("max_backoff", formatDuration(was.maxBackoff), formatDuration(now.maxBackoff));
    differ("rate", sizeText(was.rate), sizeText(now.rate));
    differ("daily_budget", sizeText(was.dailyBudget), sizeText(now.dailyBudget));
    if (!details.empty())
      changes.push_back(
          {.kind = PeerChange::Update, .name = peer.name, .details = std::move(details)});
  }
  return changes;
}

Expected<std::vector<PeerChange>, ConfigError> applyPeers(store::Archive& archive,
                                                          const Config& config,
                                                          const protocol::PublicKey& ownKey) {
  if (!config.peers) return std::vector<PeerChange>{};
  for (const auto& peer : *config.peers)
    if (peer.key.value == ownKey)
      return ConfigError{.line = peer.key.source.line,
                         .column = peer.keyColumn,
                         .message = "peers." + peer.name +
                                    ".key is this node's own key: a peer "
                                    "is another node"};
  // Read, then write: a thread ends its reads before it writes (store/archive.h).
  auto changes = planPeers(config, store::listPeers(archive.beginRead()));
  if (changes.empty()) return changes;
  try {
    archive.write([&](store::WriteTxn& txn) {
      // Removals first, so a key may move from a removed name to a declared one.
      for (const auto& change : changes)
        if (change.kind == PeerChange::Remove) (void)store::removePeer(txn, change.name);
      for (const auto& peer : *config.peers) {
        // The record as stored in this batch (a running daemon may have just recorded a
        // session): the settings set in place, the rest kept.
        auto updated = store::updatePeerSettings(
            txn, peer.name, [&](store::PeerSettings& settings) { settings = peer.settings(); });
        store::PeerRecord record;
        if (updated.ok()) {
          record = *updated;
          if (record.address == peer.address.value && record.key == peer.key.value) continue;
          if (record.key != peer.key.value) record.state = {};  // another node: no history
        }
        record.name = peer.name;
        record.address = peer.address.value;
        record.key = peer.key.value;
        record.settings = peer.settings();
        auto put = store::putPeer(txn, record, store::IfNameListed::Replace);
        if (!put.ok())  // aborts the whole batch
          throw Refused{ConfigError{.line = peer.line,
                                    .column = 1,
                                    .message = "peer " + peer.name + ": " + put.error().message}};
      }
    });
  } catch (const Refused& refused) {
    return refused.error;
  }
  return changes;
}

}  // namespace fieldsync::node
