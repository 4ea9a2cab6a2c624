// JSON Schema -> GBNF: a grammar whose sentences are JSON documents valid
// against the schema, properties in the order the schema lists them.
//
// Supported: type (one or a list), properties, required,
// additionalProperties (false, or true / a schema on an object without
// properties: a map), items, minItems, maxItems, enum, const, anyOf, oneOf
// (the grammar allows each branch; it does not exclude values two branches
// share), $ref into #/$defs or #/definitions (recursion included),
// minLength/maxLength, format (date, time, date-time, uuid) and pattern
// (grammar/regex.h says which regular expressions) of strings,
// boolean schemas, and annotations (title, description, default, examples,
// $schema, $id, $comment, ...), which change nothing. An object's
// properties not listed are never generated, which every schema allows
// unless it requires more properties than it lists. Any other keyword is
// an error naming it, so a constraint is never silently dropped.
#ifndef SMALLMIND_GRAMMAR_JSON_SCHEMA_H_
#define SMALLMIND_GRAMMAR_JSON_SCHEMA_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smallmind::grammar {

// `schema` is the schema's JSON text. Errors: not JSON, an unsupported
// keyword or value (named, with its path: "json_schema: /properties/age:
// 'minimum' is not supported"), a $ref that does not resolve, a schema no
// value satisfies. The schema's documents are the rule `rule` (so a caller
// may embed them in a grammar of its own, with its own root).
absl::StatusOr<std::string> JsonSchemaToGbnf(absl::string_view schema,
                                             absl::string_view rule = "root");

// Any JSON object (OpenAI's response_format {"type": "json_object"}).
std::string JsonObjectGbnf();

}  // namespace smallmind::grammar

#endif  // SMALLMIND_GRAMMAR_JSON_SCHEMA_H_
