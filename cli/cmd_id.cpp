// fieldsync id: this node's public key.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"

namespace fieldsync::cli {

void addId(CLI::App& app, Invocation& invocation) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("id", "Print this node's public key (hex)");
  cmd->add_flag("--json", *json, "Print {\"publicKey\", \"name\"} as JSON");
  cmd->footer("Example: give this key to the peers that will list this node\n  fieldsync id");
  cmd->callback([&invocation, json] {
    invocation.action = [&invocation, json] {
      auto home = openHome(invocation.global);
      if (*json) {
        std::cout << nlohmann::json{{"publicKey", home->publicKey().hex()}, {"name", home->name()}}
                  << '\n';
      } else {
        std::cout << home->publicKey().hex() << '\n';
      }
      return EXIT_OK;
    };
  });
}

}  // namespace fieldsync::cli
