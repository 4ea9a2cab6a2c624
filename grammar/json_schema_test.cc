#include "grammar/json_schema.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "nlohmann/json.hpp"

namespace smallmind::grammar {
namespace {

// Which of `documents` the schema's grammar accepts, as "1"/"0" per
// document.
std::string Accepted(const std::string& schema, const std::vector<std::string>& documents) {
  absl::StatusOr<std::string> gbnf = JsonSchemaToGbnf(schema);
  if (!gbnf.ok()) return std::string(gbnf.status().message());
  absl::StatusOr<Grammar> g = Grammar::Parse(*gbnf);
  if (!g.ok()) return absl::StrCat(g.status().message(), "\n", *gbnf);
  std::string out;
  for (const std::string& d : documents) {
    Matcher m(&*g);
    out += m.Accept(d) && m.CanEnd() ? '1' : '0';
  }
  return out;
}

TEST(JsonSchemaTest, ObjectsKeepTheSchemasOrderAndRequiredFields) {
  const std::string schema = R"({"type": "object", "properties": {
      "b": {"type": "integer"}, "a": {"type": "string"}, "c": {"type": "boolean"}},
      "required": ["a"]})";
  EXPECT_EQ(Accepted(schema, {R"({"a": "x"})", R"({"b": 1, "a": "x"})", R"({"b":-2,"a":"","c":true})",
                              R"({"a":"x","c":false})", R"({"a":"x","b":1})", R"({"b":1})", "{}",
                              R"({"a":"x",})", R"({"a":"x","d":1})"}),
            "111100000");
}

TEST(JsonSchemaTest, AllOptionalPropertiesAllowAnEmptyObject) {
  const std::string schema = R"({"properties": {"x": {"type": "null"}, "y": {"type": "number"}}})";
  EXPECT_EQ(Accepted(schema, {"{}", R"({"y": 1.5e3})", R"({"x": null, "y": 0})", R"({"y":1,"x":null})",
                              R"({,"y":1})"}),
            "11100");
}

TEST(JsonSchemaTest, ArraysCountTheirItems) {
  const std::string schema =
      R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})";
  EXPECT_EQ(Accepted(schema, {"[]", "[1]", "[1, 2,3]", "[1,2,3,4]", "[1.5]", "[01]"}), "011000");
  EXPECT_EQ(Accepted(R"({"type": "array", "maxItems": 0})", {"[]", "[1]"}), "10");
  EXPECT_EQ(Accepted(R"({"type": "array"})", {"[]", R"([1, "a", {"b": [null]}])"}), "11");
}

TEST(JsonSchemaTest, EnumConstAnyOfAndTypeLists) {
  EXPECT_EQ(Accepted(R"({"enum": ["red", 1, null, {"k": [true]}]})",
                     {R"("red")", "1", "null", R"({"k":[true]})", R"("blue")"}),
            "11110");
  EXPECT_EQ(Accepted(R"({"const": "a\"b"})", {R"("a\"b")", R"("ab")"}), "10");
  EXPECT_EQ(Accepted(R"({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]})",
                     {"12", R"("ab")", R"("abc")", "true"}),
            "1100");
  EXPECT_EQ(Accepted(R"({"type": ["string", "null"]})", {R"("x")", "null", "0"}), "110");
}

TEST(JsonSchemaTest, StringsByLengthAndFormat) {
  EXPECT_EQ(Accepted(R"({"type": "string", "minLength": 2, "maxLength": 3})",
                     {R"("a")", R"("ab")", R"("a\nb")", R"("abcd")", R"("é€😀")"}),
            "01101");
  EXPECT_EQ(Accepted(R"({"type": "string", "format": "date"})",
                     {R"("2026-12-07")", R"("2026-13-07")", R"("26-12-07")", R"("2026-04-31")",
                      R"("2026-04-30")", R"("2024-02-29")", R"("2026-02-28")"}),
            "1000101");
  EXPECT_EQ(Accepted(R"({"type": "string", "format": "date-time"})",
                     {R"("2026-12-07T09:30:00Z")", R"("2026-12-07T09:30:00.25+01:00")",
                      R"("2026-12-07 09:30:00Z")"}),
            "110");
  EXPECT_EQ(Accepted(R"({"type": "string", "format": "uuid"})",
                     {R"("123e4567-e89b-12d3-a456-426614174000")", R"("123e4567")"}),
            "10");
}

// Patterns: the string's JSON text between the quotes matches the regular
// expression, JSON escapes included.
TEST(JsonSchemaTest, PatternsConstrainStrings) {
  auto pattern = [](const std::string& regex, const std::vector<std::string>& documents) {
    return Accepted(nlohmann::json({{"type", "string"}, {"pattern", regex}}).dump(), documents);
  };
  EXPECT_EQ(pattern("^[a-z]+$", {R"("abc")", R"("aB")", R"("")"}), "100");
  EXPECT_EQ(pattern(R"(\d{3}-\d{4})", {R"("555-1234")", R"("55-1234")"}), "10");
  EXPECT_EQ(pattern("^(foo|bar)+baz$", {R"("foobarbaz")", R"("baz")", R"("fooba")"}), "100");
  EXPECT_EQ(pattern(R"(a"b\\c)", {R"("a\"b\\c")", R"("a"b\c")"}), "10");
  EXPECT_EQ(pattern(R"([^"]*)", {R"("x\\y")", R"("x\"y")", R"("é€")"}), "101");
  EXPECT_EQ(pattern(R"(^.\s\w?$)", {R"("\t\n")", R"("a b")", R"("\n ")"}), "110");
  EXPECT_EQ(pattern(R"(^[\w.-]+@[a-z]+\.(com|org)$)", {R"("j.doe-1@mail.org")", R"("x@y.net")"}), "10");
  EXPECT_EQ(pattern("(?=a)", {}),
            "json_schema: /: 'pattern' '(?=a)': the group (? is not supported (at 1)");
  EXPECT_EQ(pattern(R"(\bword)", {}),
            "json_schema: /: 'pattern' '\\bword': the escape \\b is not supported (at 0)");
  EXPECT_EQ(pattern("a^b", {}), "json_schema: /: 'pattern' 'a^b': the anchor '^' inside is not supported (at 1)");
  EXPECT_EQ(Accepted(R"({"type": "string", "pattern": "a", "maxLength": 3})", {}),
            "json_schema: /: 'pattern' with 'format', 'minLength' or 'maxLength' is not supported");
}

TEST(JsonSchemaTest, RefsResolveAndRecurse) {
  const std::string schema = R"({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
      "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
      "required": ["v"]}}})";
  EXPECT_EQ(Accepted(schema, {R"({"v": 1})", R"({"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}]})",
                              R"({"v": 1, "kids": [{}]})"}),
            "110");
  EXPECT_EQ(Accepted(R"({"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}},
                        "definitions": {"x": {"type": "boolean"}}})",
                     {R"({"a": true})"}),
            "1");
}

TEST(JsonSchemaTest, MapsAndClosedObjects) {
  EXPECT_EQ(Accepted(R"({"type": "object", "additionalProperties": {"type": "integer"}})",
                     {"{}", R"({"x": 1, "y": 2})", R"({"x": "1"})"}),
            "110");
  EXPECT_EQ(Accepted(R"({"type": "object", "additionalProperties": false})", {"{}", R"({"x": 1})"}), "10");
  EXPECT_EQ(Accepted("true", {"1", R"({"a": [null]})"}), "11");
}

TEST(JsonSchemaTest, UnsupportedKeywordsAreNamed) {
  EXPECT_EQ(Accepted(R"({"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}})", {}),
            "json_schema: /properties/age: 'minimum' is not supported");
  EXPECT_EQ(Accepted(R"({"type": "string", "contentEncoding": "base64"})", {}),
            "json_schema: /: 'contentEncoding' is not supported");
  EXPECT_EQ(Accepted(R"({"type": "string", "format": "email"})", {}),
            "json_schema: /: 'format' 'email' is not supported (date, time, date-time, uuid are)");
  EXPECT_EQ(Accepted(R"({"$ref": "#/nowhere"})", {}),
            "json_schema: /: $ref '#/nowhere' does not resolve (refs into #/$defs/ and "
            "#/definitions/ are supported)");
  EXPECT_EQ(Accepted(R"({"type": "object", "properties": {}, "required": ["x"]})", {}),
            "json_schema: /: required property 'x' is not in 'properties'");
  EXPECT_EQ(Accepted(R"({"type": "whatever"})", {}),
            "json_schema: /: 'type' 'whatever' is not a JSON Schema type");
  EXPECT_EQ(Accepted("false", {}), "json_schema: /: the schema false admits no value");
  EXPECT_EQ(Accepted("{", {}), "json_schema: not valid JSON");
}

TEST(JsonSchemaTest, JsonObjectGrammar) {
  absl::StatusOr<Grammar> g = Grammar::Parse(JsonObjectGbnf());
  ASSERT_TRUE(g.ok()) << g.status();
  for (const char* ok : {"{}", R"({"a": [1, -2.5e+3, "\u00e9\n", {"b": null}], "c": false})"}) {
    Matcher m(&*g);
    EXPECT_TRUE(m.Accept(ok) && m.CanEnd()) << ok;
  }
  for (const char* bad : {"[]", "{'a': 1}", R"({"a": 01})", R"({"a": "x)", "{\"a\": \"\x01\"}"}) {
    Matcher m(&*g);
    EXPECT_FALSE(m.Accept(bad) && m.CanEnd()) << bad;
  }
}

}  // namespace
}  // namespace smallmind::grammar
