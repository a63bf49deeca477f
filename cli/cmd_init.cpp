// fieldsync init: a new node with a fresh identity and an empty archive; with --coordinator,
// a node that trusts its own key as coordinator (the first coordinator of a network).
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"

namespace fieldsync::cli {
namespace {

struct Options {
  std::string name;
  bool coordinator = false;
  bool json = false;
};

int run(const Global& global, const Options& o) {
  auto dir = homePath(global);
  if (auto partial = store::Home::partial(dir)) throw UsageError("refusing to init: " + *partial);
  if (store::Home::exists(dir))
    throw UsageError("refusing to init " + dir.string() +
                     ": it already holds a fieldsync node (choose another --home)");
  store::InitOptions options;
  options.name = o.name;
  options.passphrase = readPassphrase(global);
  // A coordinator node trusts itself from its first moment: written with its identity, in
  // the same transaction (a coordinator that does not trust itself would refuse releases).
  if (o.coordinator) options.coordinator = o.name.empty() ? "this node" : o.name;
  store::Home::init(dir, options);
  const auto home = store::Home::open(dir);
  if (o.json) {
    std::cout << nlohmann::json{{"home", dir.string()},
                                {"name", o.name},
                                {"publicKey", home->publicKey().hex()},
                                {"keyFile", store::Home::keyFile(dir).string()},
                                {"sealed", options.passphrase.has_value()},
                                {"coordinator", o.coordinator}}
              << '\n';
    return EXIT_OK;
  }
  std::cout << "Created " << (o.coordinator ? "coordinator node " : "node ")
            << (o.name.empty() ? "" : "\"" + o.name + "\" ") << "in " << dir.string() << "\n"
            << "public key: " << home->publicKey().hex() << "\n"
            << "secret key: " << store::Home::keyFile(dir).string()
            << (options.passphrase ? " (sealed with your passphrase)" : " (mode 0600)") << "\n";
  if (global.quiet) return EXIT_OK;
  if (o.coordinator) {
    std::cout << "trust:      this node's key is a coordinator anchor here; offices run\n"
              << "            fieldsync keys trust " << home->publicKey().hex()
              << " --role coordinator" << (o.name.empty() ? "" : " --name \"" + o.name + "\"")
              << "\n";
  } else {
    std::cout << "trust:      nothing yet; add your coordinator's key with\n"
              << "            fieldsync keys trust KEY --role coordinator --name NAME\n";
  }
  return EXIT_OK;
}

}  // namespace

void addInit(CLI::App& app, Invocation& invocation) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("init", "Create the archive and this node's Ed25519 identity");
  cmd->add_option("--name", o->name, "A name for this node, e.g. \"Goma office\"");
  cmd->add_flag("--coordinator", o->coordinator,
                "Trust this node's own key as coordinator: the first node of a network");
  cmd->add_flag("--json", o->json, "Print a JSON document");
  cmd->footer(
      "Examples:\n"
      "  fieldsync init --name \"Goma office\"\n"
      "  fieldsync init --name HQ --coordinator --passphrase-file ~/.fieldsync-pass");
  cmd->callback([&invocation, o] {
    invocation.action = [&invocation, o] { return run(invocation.global, *o); };
  });
}

}  // namespace fieldsync::cli
