// fieldsync keys: this node's trust anchors (local settings) and the key certificates and
// revocations a coordinator signs (objects that travel with sync). The trust rules are
// protocol::TrustGraph's and the signing checks store::makeKeyCert's and makeRevocation's;
// this file parses, calls and prints.
#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "protocol/minisign.h"
#include "store/provenance.h"

namespace fieldsync::cli {
namespace {

protocol::Role parseRole(const std::string& text) {
  if (text == "coordinator") return protocol::Role::Coordinator;
  if (text == "field") return protocol::Role::Field;
  throw UsageError("--role must be coordinator or field, not \"" + text + "\"");
}

protocol::DecodedObject decoded(const protocol::VerifiedObject& object) {
  return {object.id(), object.payload(), object.signature()};
}

/// Stores a signed certificate or revocation in one write and prints it.
void storeAndPrint(store::Home& home, const protocol::VerifiedObject& object, bool json, bool quiet,
                   const std::string& what) {
  home.archive().write([&](store::WriteTxn& txn) { (void)txn.put(object); });
  if (json) {
    std::cout << objectJson(decoded(object), false) << '\n';
  } else {
    std::cout << what << " " << object.id().hex() << "\n";
    if (!quiet)
      std::cout << "Stored in this archive; it reaches other nodes with the archive (sync or "
                   "bundle).\n";
  }
}

nlohmann::json anchorJson(const std::optional<protocol::Anchor>& anchor) {
  if (!anchor) return nullptr;
  return {{"key", anchor->key.hex()},
          {"role", protocol::roleName(anchor->role)},
          {"name", anchor->name}};
}

// --- trust, untrust --------------------------------------------------------------------------

/// Whether any object in the archive is signed by key: a scan that stops at the first.
bool signedAnything(const store::ReadTxn& txn, const protocol::PublicKey& key) {
  bool found = false;
  txn.forEach([&](const protocol::ObjectId&, std::span<const std::uint8_t> bytes) {
    auto object = protocol::decode(bytes);
    found = object && object->payload.signer == key;
    return !found;
  });
  return found;
}

struct TrustOptions {
  std::string key, role, name;
  bool json = false;
};

int runTrust(const Global& global, const TrustOptions& o) {
  protocol::Anchor anchor{parseKey(o.key), parseRole(o.role), o.name};
  auto home = openHome(global);
  std::optional<protocol::Anchor> previous;
  {
    auto txn = home->archive().beginRead();
    for (const auto& a : txn.anchors())
      if (a.key == anchor.key) previous = a;
  }
  if (anchor.name.empty() && previous) anchor.name = previous->name;  // keep the name given before
  // Accepted either way (the key may sign tomorrow), but a key nothing here is signed by is
  // as likely a typo as a newcomer.
  const bool signsSomething =
      anchor.key == home->publicKey() || signedAnything(home->archive().beginRead(), anchor.key);
  const std::string warning = signsSomething ? ""
                                             : "no object in this archive is signed by " +
                                                   anchor.key.hex() + "; check it was not mistyped";
  home->archive().write([&](store::WriteTxn& txn) { txn.setAnchor(anchor); });
  if (o.json) {
    std::cout << nlohmann::json{{"anchor", anchorJson(anchor)},
                                {"previous", anchorJson(previous)},
                                {"warning", warning.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(warning)}}
              << '\n';
    return EXIT_OK;
  }
  if (!warning.empty()) std::cerr << "fieldsync: warning: " << warning << '\n';
  std::cout << "Trusting " << anchor.key.hex() << " as " << protocol::roleName(anchor.role)
            << " anchor" << (anchor.name.empty() ? "" : " \"" + forTerminal(anchor.name) + "\"");
  if (previous)
    std::cout << " (was " << protocol::roleName(previous->role)
              << (previous->name.empty() ? "" : " \"" + forTerminal(previous->name) + "\"") << ")";
  std::cout << '\n';
  return EXIT_OK;
}

int runUntrust(const Global& global, const std::string& text, bool json) {
  const auto key = parseKey(text);
  auto home = openHome(global);
  std::optional<protocol::Anchor> previous;
  {
    auto txn = home->archive().beginRead();
    for (const auto& a : txn.anchors())
      if (a.key == key) previous = a;
  }
  if (!previous)
    throw UsageError(key.hex() +
                     " is not one of this node's anchors; nothing changed "
                     "(`fieldsync keys list` shows them)");
  bool removed = false;
  home->archive().write([&](store::WriteTxn& txn) { removed = txn.removeAnchor(key); });
  if (!removed) throw UsageError(key.hex() + " is not one of this node's anchors; nothing changed");
  if (json) {
    std::cout << nlohmann::json{{"removed", anchorJson(previous)}} << '\n';
    return EXIT_OK;
  }
  std::cout << "No longer trusting " << key.hex() << " as an anchor (was "
            << protocol::roleName(previous->role)
            << (previous->name.empty() ? "" : " \"" + previous->name + "\"")
            << "); certificates from other trusted coordinators may still vouch for it\n";
  return EXIT_OK;
}

// --- list ------------------------------------------------------------------------------------

int runList(const Global& global, bool json) {
  auto home = openHome(global);
  const std::int64_t at = now();
  const auto rows = [&] {
    auto txn = home->archive().beginRead();
    return store::knownKeys(txn, home->publicKey(), home->name(), at);
  }();

  if (json) {
    auto keys = nlohmann::json::array();
    for (const auto& row : rows) {
      auto j = trustJson(row.key, row.name, row.verdict);
      j["anchor"] = row.anchor ? nlohmann::json(protocol::roleName(row.anchor->role))
                               : nlohmann::json(nullptr);
      j["self"] = row.self;
      j["revocation"] = revocationJson(row.verdict.revocation);
      auto certificates = nlohmann::json::array();
      for (const auto& c : row.certificates)
        certificates.push_back(
            {{"id", c.id.hex()},
             {"role", protocol::roleName(c.cert.role)},
             {"name", c.cert.name},
             {"validUntil", c.cert.validUntil ? nlohmann::json(isoTimeJson(c.cert.validUntil))
                                              : nlohmann::json(nullptr)}});
      j["certificates"] = certificates;
      keys.push_back(std::move(j));
    }
    std::cout << nlohmann::json{{"at", isoTimeJson(at)}, {"keys", keys}} << '\n';
    return EXIT_OK;
  }

  for (const auto& row : rows) {
    std::string status(protocol::trustStatusName(row.verdict.status));
    status.resize(10, ' ');
    std::string role = row.verdict.role ? std::string(protocol::roleName(*row.verdict.role)) : "-";
    role.resize(11, ' ');
    std::cout << row.key.hex() << "  " << status << "  " << role << "  "
              << (row.name.empty() ? "(no name)" : forTerminal(row.name));
    std::vector<std::string> notes;
    if (row.self) notes.push_back("this node");
    if (row.verdict.trusted() && row.verdict.path.size() > 1)
      notes.push_back("via " + describePath(row.verdict.path));
    else if (row.anchor)
      notes.push_back(std::string(protocol::roleName(row.anchor->role)) + " anchor");
    if (const auto& r = row.verdict.revocation)
      notes.push_back("revoked since " + isoTime(r->revocation.since) + " (revocation " +
                      shortHex(r->id.hex()) + ")");
    if (!notes.empty()) {
      std::cout << "  —";
      for (std::size_t i = 0; i < notes.size(); ++i) std::cout << (i ? "; " : " ") << notes[i];
    }
    std::cout << '\n';
  }
  return EXIT_OK;
}

// --- certify, revoke -------------------------------------------------------------------------

struct CertifyOptions {
  std::string key, role, name, until;
  bool json = false;
};

int runCertify(const Global& global, const CertifyOptions& o) {
  protocol::KeyCert cert{parseKey(o.key), parseRole(o.role), o.name, 0};
  const std::int64_t t = now();
  if (!o.until.empty()) {
    cert.validUntil = parseMomentOption("--until", o.until, DayEdge::End);
    if (cert.validUntil <= t)
      throw UsageError("--until " + o.until +
                       " is already past: the certificate would vouch "
                       "for nothing signed from now on");
  }
  auto home = openHome(global);
  auto key = loadSecretKey(global, *home);
  auto made = [&] {
    auto txn = home->archive().beginRead();
    return store::makeKeyCert(txn, key, cert, t);
  }();
  if (!made) throw UsageError(made.error());
  storeAndPrint(*home, made.value(), o.json, global.quiet, "Signed certificate");
  return EXIT_OK;
}

struct RevokeOptions {
  std::string key, since, reason;
  bool json = false;
};

int runRevoke(const Global& global, const RevokeOptions& o) {
  const std::int64_t t = now();
  protocol::Revocation revocation{parseKey(o.key), t, o.reason};
  if (!o.since.empty()) revocation.since = parseMomentOption("--since", o.since, DayEdge::Start);
  auto home = openHome(global);
  auto key = loadSecretKey(global, *home);
  auto made = [&] {
    auto txn = home->archive().beginRead();
    return store::makeRevocation(txn, key, revocation, t);
  }();
  if (!made) throw UsageError(made.error());
  storeAndPrint(*home, made.value(), o.json, global.quiet, "Signed revocation");
  if (!o.json && !global.quiet)
    std::cout << "Everything " << revocation.subject.hex() << " signed from "
              << isoTime(revocation.since) << " on is no longer trusted.\n";
  return EXIT_OK;
}

}  // namespace

void addKeys(CLI::App& app, Invocation& invocation) {
  auto* keys = app.add_subcommand("keys", "Trust anchors, key certificates and revocations");
  keys->require_subcommand(1);
  keys->footer(
      "Examples:\n"
      "  fieldsync keys trust 043bca2532a5...(64 hex) --role coordinator --name HQ\n"
      "  fieldsync keys list\n"
      "  fieldsync keys SUBCOMMAND --help");

  auto trust = std::make_shared<TrustOptions>();
  auto* cmd = keys->add_subcommand("trust", "Trust a key as an anchor of this node (local)");
  cmd->add_option("key", trust->key, "Public key, 64 hex digits")->required();
  cmd->add_option("--role", trust->role, "coordinator or field")->required();
  cmd->add_option("--name", trust->name, "Who holds the key, e.g. \"Nairobi hub\"");
  cmd->add_flag("--json", trust->json, "Print {\"anchor\", \"previous\"} as JSON");
  cmd->footer(
      "Example: trust your coordinator's key (as `fieldsync id` prints it on its node)\n"
      "  fieldsync keys trust 043bca2532a5...(64 hex) --role coordinator --name HQ");
  cmd->callback([&invocation, trust] {
    invocation.action = [&invocation, trust] { return runTrust(invocation.global, *trust); };
  });

  auto untrust = std::make_shared<std::string>();
  auto untrustJson = std::make_shared<bool>(false);
  cmd = keys->add_subcommand("untrust", "Remove a trust anchor of this node");
  cmd->add_option("key", *untrust, "Public key, 64 hex digits")->required();
  cmd->add_flag("--json", *untrustJson, "Print {\"removed\"} as JSON");
  cmd->footer("Example:\n  fieldsync keys untrust 043bca2532a5...(64 hex)");
  cmd->callback([&invocation, untrust, untrustJson] {
    invocation.action = [&invocation, untrust, untrustJson] {
      return runUntrust(invocation.global, *untrust, *untrustJson);
    };
  });

  auto listJson = std::make_shared<bool>(false);
  cmd =
      keys->add_subcommand("list", "Keys this node knows: anchors and certified keys, with trust");
  cmd->add_flag("--json", *listJson, "Print a JSON document");
  cmd->footer("Example:\n  fieldsync keys list --json");
  cmd->callback([&invocation, listJson] {
    invocation.action = [&invocation, listJson] { return runList(invocation.global, *listJson); };
  });

  auto certify = std::make_shared<CertifyOptions>();
  cmd = keys->add_subcommand("certify", "Sign a certificate for a key (coordinators)");
  cmd->add_option("key", certify->key, "Public key, 64 hex digits")->required();
  cmd->add_option("--role", certify->role, "field or coordinator")->required();
  cmd->add_option("--name", certify->name, "Who holds the key, e.g. \"Goma office\"")->required();
  cmd->add_option("--until", certify->until,
                  "Valid until this UTC moment (a date: the end of that day)");
  cmd->add_flag("--json", certify->json, "Print the certificate as JSON");
  cmd->footer(
      "Example: on a coordinator node, vouch for an office's key until the end of 2027\n"
      "  fieldsync keys certify c42f24ed676b...(64 hex) --role field --name \"Goma office\" "
      "--until 2027-12-31");
  cmd->callback([&invocation, certify] {
    invocation.action = [&invocation, certify] { return runCertify(invocation.global, *certify); };
  });

  auto revoke = std::make_shared<RevokeOptions>();
  cmd = keys->add_subcommand("revoke",
                             "Sign a revocation of a key (coordinators, or the key itself)");
  cmd->add_option("key", revoke->key, "Public key, 64 hex digits")->required();
  cmd->add_option("--since", revoke->since,
                  "Untrust what it signed from this UTC moment on (a date: the start of that "
                  "day; default: now)");
  cmd->add_option("--reason", revoke->reason, "Why, e.g. \"laptop stolen\"");
  cmd->add_flag("--json", revoke->json, "Print the revocation as JSON");
  cmd->footer(
      "Example: a laptop stolen on 1 December; what its key signed from then on is untrusted\n"
      "  fieldsync keys revoke 9e01aa73b2c4...(64 hex) --since 2026-12-01 --reason \"laptop "
      "stolen\"");
  cmd->callback([&invocation, revoke] {
    invocation.action = [&invocation, revoke] { return runRevoke(invocation.global, *revoke); };
  });

  auto exportKey = std::make_shared<std::string>();
  cmd = keys->add_subcommand("export-minisign", "Print a key in minisign's public key format");
  cmd->add_option("key", *exportKey, "Public key, 64 hex digits (default: this node's)");
  cmd->footer("Example:\n  fieldsync keys export-minisign > office.pub");
  cmd->callback([&invocation, exportKey] {
    invocation.action = [&invocation, exportKey] {
      protocol::PublicKey key;
      if (exportKey->empty()) {
        key = openHome(invocation.global)->publicKey();
      } else {
        key = parseKey(*exportKey);
      }
      std::cout << protocol::minisignPublicKey(key);
      return EXIT_OK;
    };
  });
}

}  // namespace fieldsync::cli
