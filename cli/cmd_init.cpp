// fieldsync init: a new node with a fresh identity and an empty archive.
#include <iostream>

#include "cli/command.h"

namespace fieldsync::cli {

void addInit(CLI::App& app, Invocation& invocation) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("init", "Create the archive and this node's Ed25519 identity");
  cmd->add_option("--name", *name, "A name for this node, e.g. \"Goma office\"");
  cmd->callback([&invocation, name] {
    invocation.action = [&invocation, name] {
      auto dir = homePath(invocation.global);
      if (store::Home::exists(dir))
        throw UsageError("refusing to init " + dir.string() +
                         ": it already holds a fieldsync node (choose another --home)");
      store::InitOptions options;
      options.name = *name;
      options.passphrase = readPassphrase(invocation.global);
      store::Home::init(dir, options);
      auto home = store::Home::open(dir);
      std::cout << "Created node " << (name->empty() ? "" : "\"" + *name + "\" ") << "in "
                << dir.string() << "\n"
                << "public key: " << home->publicKey().hex() << "\n"
                << "secret key: " << store::Home::keyFile(dir).string()
                << (options.passphrase ? " (sealed with your passphrase)" : " (mode 0600)")
                << "\n";
      return EXIT_OK;
    };
  });
}

}  // namespace fieldsync::cli
