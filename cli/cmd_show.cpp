// fieldsync show: one object in full.
#include <iostream>

#include "cli/command.h"
#include "cli/output.h"

namespace fieldsync::cli {

void addShow(CLI::App& app, Invocation& invocation) {
  auto id = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("show", "Show one object in full");
  cmd->add_option("id", *id, "Object id or a unique prefix of at least 8 hex digits")->required();
  cmd->add_flag("--json", *json, "Print a JSON document");
  cmd->footer("Example: an id as `fieldsync list` prints it\n  fieldsync show 3f2a9c01d2e4");
  cmd->callback([&invocation, id, json] {
    invocation.action = [&invocation, id, json] {
      auto home = openHome(invocation.global);
      auto txn = home->archive().beginRead();
      auto resolved = resolveId(txn, *id);
      auto object = protocol::decode(*txn.get(resolved));
      if (!object)
        throw Error("stored object " + resolved.hex() + " does not decode (" +
                    object.error().message() + "): run fieldsync verify " + resolved.hex());
      if (*json) {
        std::cout << objectJson(object.value(), true) << '\n';
      } else {
        printObject(std::cout, object.value());
      }
      return EXIT_OK;
    };
  });
}

}  // namespace fieldsync::cli
