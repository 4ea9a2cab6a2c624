#include "server/tool_calls.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"

namespace smallmind::server {
namespace {

using Json = nlohmann::ordered_json;

std::vector<Tool> Tools() {
  Tool weather{"get_weather", Json::object(),
               Json::parse(R"({"type": "object", "properties": {"city": {"type": "string"},
                   "unit": {"$ref": "#/$defs/unit"}}, "required": ["city"],
                   "$defs": {"unit": {"enum": ["c", "f"]}}})")};
  Tool add{"add", Json::object(),
           Json::parse(R"({"type": "object", "properties": {"a": {"type": "number"},
               "b": {"type": "number"}}, "required": ["a", "b"]})")};
  return {weather, add};
}

TEST(ToolCallsTest, FormatsFromTheTemplates) {
  EXPECT_EQ(ToolFormatOf("... within <tool_call></tool_call> XML tags ..."), ToolFormat::kHermes);
  EXPECT_EQ(ToolFormatOf("Respond in the format {\"name\": function name, \"parameters\": "
                         "dictionary of argument name and its value}."),
            ToolFormat::kLlama3);
  EXPECT_EQ(ToolFormatOf("{{ messages[0].content }}"), ToolFormat::kNone);
}

TEST(ToolCallsTest, HermesBlocksAreParsed) {
  const ParsedReply r = ParseToolCalls(
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
      "</tool_call>\n<tool_call>\n{\"name\": \"add\", \"arguments\": \"{\\\"a\\\": 1, \\\"b\\\": 2}\"}\n</tool_call>",
      ToolFormat::kHermes, Tools());
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].name, "get_weather");
  EXPECT_EQ(r.calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(r.calls[1].name, "add");
  EXPECT_EQ(r.calls[1].arguments, R"({"a":1,"b":2})");
  EXPECT_EQ(r.content, "Let me check.");
}

TEST(ToolCallsTest, WhatIsNotACallStaysText) {
  for (const char* text : {
           "Plain text.",
           "<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>",  // unknown tool
           "<tool_call>\n{\"name\": \"add\", \"arguments\": [1]}\n</tool_call>",  // not an object
           "<tool_call>\n{\"name\": \"add\", \"arguments\": {}}",                 // unclosed
       }) {
    const ParsedReply r = ParseToolCalls(text, ToolFormat::kHermes, Tools());
    EXPECT_TRUE(r.calls.empty()) << text;
    EXPECT_EQ(r.content, text);
  }
  const ParsedReply llama =
      ParseToolCalls(" {\"name\": \"add\", \"parameters\": {\"a\": 1, \"b\": 2}} ", ToolFormat::kLlama3, Tools());
  ASSERT_EQ(llama.calls.size(), 1u);
  EXPECT_EQ(llama.calls[0].arguments, R"({"a":1,"b":2})");
  EXPECT_TRUE(ParseToolCalls("{\"a\": 1}", ToolFormat::kLlama3, Tools()).calls.empty());
}

TEST(ToolCallsTest, StreamingHoldsBackWhatMayBeACall) {
  EXPECT_EQ(ToolCallStart("Hello", ToolFormat::kHermes), std::string::npos);
  EXPECT_EQ(ToolCallStart("Hello <tool", ToolFormat::kHermes), 6u);
  EXPECT_EQ(ToolCallStart("Hi<tool_call>\n{", ToolFormat::kHermes), 2u);
  EXPECT_EQ(ToolCallStart("  {\"na", ToolFormat::kLlama3), 0u);
  EXPECT_EQ(ToolCallStart("Sure", ToolFormat::kLlama3), std::string::npos);
}

// The grammar of required calls accepts exactly calls that parse, with
// arguments of the function's schema.
TEST(ToolCallsTest, GrammarAdmitsOnlyWellFormedCalls) {
  auto accepts = [](const std::string& gbnf, const std::string& text) {
    absl::StatusOr<grammar::Grammar> g = grammar::Grammar::Parse(gbnf);
    EXPECT_TRUE(g.ok()) << g.status() << "\n" << gbnf;
    if (!g.ok()) return false;
    grammar::Matcher m(&*g);
    return m.Accept(text) && m.CanEnd();
  };
  const absl::StatusOr<std::string> any = ToolCallGbnf(Tools(), ToolFormat::kHermes, "", true);
  ASSERT_TRUE(any.ok()) << any.status();
  const std::string weather =
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}\n</tool_call>";
  const std::string add = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2.5}}\n</tool_call>";
  EXPECT_TRUE(accepts(*any, weather));
  EXPECT_TRUE(accepts(*any, weather + "\n" + add));
  EXPECT_FALSE(accepts(*any, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>"));
  EXPECT_FALSE(accepts(*any, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"P\", \"unit\": \"k\"}}\n</tool_call>"));
  EXPECT_FALSE(accepts(*any, "Sure. " + weather));
  const absl::StatusOr<std::string> one = ToolCallGbnf(Tools(), ToolFormat::kHermes, "add", false);
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(accepts(*one, add));
  EXPECT_FALSE(accepts(*one, weather));
  EXPECT_FALSE(accepts(*one, add + "\n" + add));
  const absl::StatusOr<std::string> llama = ToolCallGbnf(Tools(), ToolFormat::kLlama3, "", false);
  ASSERT_TRUE(llama.ok());
  EXPECT_TRUE(accepts(*llama, "{\"name\": \"add\", \"parameters\": {\"a\": 1, \"b\": 2}}"));
  // What the grammar admits, the parser reads back.
  const ParsedReply parsed = ParseToolCalls(weather + "\n" + add, ToolFormat::kHermes, Tools());
  EXPECT_EQ(parsed.calls.size(), 2u);
}

TEST(ToolCallsTest, ConflictingDefsAreRefused) {
  std::vector<Tool> tools = Tools();
  tools[1].parameters["$defs"] = Json::parse(R"({"unit": {"type": "string"}})");
  const absl::StatusOr<std::string> g = ToolCallGbnf(tools, ToolFormat::kHermes, "", true);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(), "'tools': the tools define 'unit' in their $defs differently");
}

}  // namespace
}  // namespace smallmind::server
