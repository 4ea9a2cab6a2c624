#include "tools/smallmind/grammar_args.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/status.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"

namespace smallmind::cli {

absl::Status GrammarArgs::Apply(runtime::GenerateOptions* options) const {
  std::vector<std::string> given;
  if (!options->grammar.empty()) given.push_back("--grammar");
  if (!grammar_file.empty()) given.push_back("--grammar-file");
  if (!json_schema.empty()) given.push_back("--json-schema");
  if (!json_schema_file.empty()) given.push_back("--json-schema-file");
  if (given.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(absl::StrJoin(given, ", "), ": give one of them"));
  }
  if (!grammar_file.empty()) {
    SM_ASSIGN_OR_RETURN(options->grammar, core::ReadFileToString(grammar_file));
  }
  std::string schema = json_schema;
  if (!json_schema_file.empty()) {
    SM_ASSIGN_OR_RETURN(schema, core::ReadFileToString(json_schema_file));
  }
  if (!schema.empty()) {
    SM_ASSIGN_OR_RETURN(options->grammar, grammar::JsonSchemaToGbnf(schema));
  }
  // Checked now, before a model loads.
  if (!options->grammar.empty()) SM_RETURN_IF_ERROR(grammar::Grammar::Parse(options->grammar).status());
  return absl::OkStatus();
}

}  // namespace smallmind::cli
