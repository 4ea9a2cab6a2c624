// smallmind serve: the OpenAI-compatible HTTP server (server/server.h).
// SIGTERM or SIGINT: stop taking requests, finish or cancel the running
// ones within --grace seconds, exit 0.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "server/server.h"
#include "tools/smallmind/commands.h"
#include "tools/smallmind/load_model.h"

namespace smallmind::cli {
namespace {

struct ServeArgs {
  ModelArgs model;
  server::ServerOptions server;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    model.VisitFields(v);
    server.VisitFields(v);
  }
};

int Run(const std::vector<std::string>& argv) {
  ServeArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(ServeCommand(), flags, argv, &positional, &code)) return code;
  if (!positional.empty()) {
    return Fail("serve", absl::InvalidArgumentError("unexpected argument '" + positional[0] + "'"));
  }
  if (args.model.path.empty()) return Fail("serve", absl::InvalidArgumentError("no model file given (-m)"));
  // Signals go to the loop below, not to whichever thread runs; a client
  // that hangs up must not kill the server with SIGPIPE.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<server::Server>> server = server::Server::Create(args.server);
  if (!server.ok()) return Fail("serve", server.status());
  absl::FPrintF(stderr, "serve: listening on http://%s:%d, loading %s\n", args.server.host,
                (*server)->port(), args.model.path);
  (*server)->Start([model = args.model] { return LoadModel(model); });
  while (true) {
    const timespec second = {1, 0};
    const int signal_number = sigtimedwait(&signals, nullptr, &second);
    const absl::Status loaded = (*server)->load_status();
    if (!loaded.ok() && !absl::IsUnavailable(loaded)) {
      (*server)->Shutdown();
      (*server)->Wait();
      return Fail("serve", loaded);
    }
    if (signal_number == SIGTERM || signal_number == SIGINT) {
      absl::FPrintF(stderr, "serve: %s; finishing running requests (up to %d s)\n",
                    signal_number == SIGTERM ? "SIGTERM" : "SIGINT", args.server.grace);
      break;
    }
  }
  (*server)->Shutdown();
  (*server)->Wait();
  absl::FPrintF(stderr, "serve: stopped\n");
  return 0;
}

}  // namespace

Command ServeCommand() {
  return {"serve", "smallmind serve -m MODEL [--host H] [--port P] [--parallel N] [flags]",
          "an OpenAI-compatible HTTP server (chat, completions, SSE, metrics)", Run};
}

}  // namespace smallmind::cli
