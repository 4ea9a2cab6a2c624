// The subcommands of `smallmind`, one file each.
#ifndef SMALLMIND_TOOLS_SMALLMIND_COMMANDS_H_
#define SMALLMIND_TOOLS_SMALLMIND_COMMANDS_H_

#include "tools/smallmind/cli.h"

namespace smallmind::cli {

Command GenerateCommand();
Command ChatCommand();
Command ServeCommand();
Command BenchCommand();
Command InitCommand();
Command InspectCommand();
Command ConvertCommand();
Command TrainCommand();
Command ProfileCommand();
Command PerplexityCommand();
Command EmbedCommand();

}  // namespace smallmind::cli

#endif  // SMALLMIND_TOOLS_SMALLMIND_COMMANDS_H_
