// The flags that constrain generated text, as llama.cpp spells them:
// --grammar GBNF (a GenerateOptions field), --grammar-file FILE,
// -j/--json-schema SCHEMA and -jf/--json-schema-file FILE. Each fills
// GenerateOptions::grammar; a schema becomes its GBNF.
#ifndef SMALLMIND_TOOLS_SMALLMIND_GRAMMAR_ARGS_H_
#define SMALLMIND_TOOLS_SMALLMIND_GRAMMAR_ARGS_H_

#include <string>

#include "absl/status/status.h"
#include "core/field_info.h"
#include "runtime/options.h"

namespace smallmind::cli {

struct GrammarArgs {
  std::string grammar_file;
  std::string json_schema;
  std::string json_schema_file;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(grammar_file, {"grammar-file", 0, nullptr, "GBNF grammar file the output follows"});
    v(json_schema, {"json-schema", 'j', nullptr,
                    "JSON schema the output follows ('{}': any JSON value)"});
    v(json_schema_file, {"json-schema-file", 0, nullptr, "file of a JSON schema the output follows (-jf)"});
  }

  // Sets options->grammar from the one given; errors when more than one
  // (with --grammar) is given, naming them, or when a file cannot be read
  // or a schema converted, or when the grammar does not parse.
  absl::Status Apply(runtime::GenerateOptions* options) const;
};

}  // namespace smallmind::cli

#endif  // SMALLMIND_TOOLS_SMALLMIND_GRAMMAR_ARGS_H_
