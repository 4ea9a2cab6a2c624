// Fuzzes the HTTP API's request mapping, no model run: the first byte picks
// the endpoint (chat, completions, tokenize, detokenize, embeddings,
// rerank), the rest is the request body. A body that parses must give options the generation
// validator accepts or refuses cleanly, and a chat must render through a
// template; its tools give a call grammar that parses (or a Status), and
// the parser of calls reads its messages' text without crashing.
#include <cstdint>
#include <string>

#include "runtime/generation.h"
#include "grammar/grammar.h"
#include "server/openai.h"
#include "server/tool_calls.h"
#include "text/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace server = smallmind::server;
  namespace runtime = smallmind::runtime;
  namespace text = smallmind::text;
  namespace model = smallmind::model;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
    case 1: {
      const bool chat = data[0] % 6 == 0;
      auto request = server::ParseCompletionRequest(body, chat);
      if (!request.ok()) return 0;
      (void)runtime::ValidateGenerateOptions(request->options);
      (void)runtime::ValidatePromptIds(request->prompt_ids, 512);
      if (chat) {
        static const text::ChatTemplate* chatml = [] {
          auto t = text::ChatTemplate::ForModel(model::TokenizerSpec(), "chatml");
          return t.ok() ? new text::ChatTemplate(*std::move(t)) : nullptr;
        }();
        if (chatml != nullptr) (void)chatml->Render(request->messages, true);
        for (auto format : {server::ToolFormat::kHermes, server::ToolFormat::kLlama3}) {
          auto gbnf = server::ToolCallGbnf(request->tools, format, request->tool_name,
                                           request->parallel_tool_calls);
          if (gbnf.ok() && !request->tools.empty() && !smallmind::grammar::Grammar::Parse(*gbnf).ok()) {
            __builtin_trap();  // the tools' grammar must parse
          }
          for (const text::ChatMessage& m : request->messages) {
            (void)server::ParseToolCalls(m.content, format, request->tools);
            (void)server::ToolCallStart(m.content, format);
          }
        }
      }
      break;
    }
    case 2:
      (void)server::ParseTokenizeRequest(body);
      break;
    case 3:
      (void)server::ParseDetokenizeRequest(body);
      break;
    case 4: {
      auto request = server::ParseEmbeddingRequest(body);
      // A parsed request has inputs, none empty.
      if (request.ok() && request->texts.empty() && request->ids.empty()) __builtin_trap();
      if (request.ok()) {
        (void)server::EmbeddingResponseJson({{0.5f, -1.0f}}, request->base64, "m", 2);
      }
      break;
    }
    default: {
      auto request = server::ParseRerankRequest(body);
      if (request.ok()) {
        (void)server::RerankResponseJson(
            *request, std::vector<float>(request->documents.size(), 0.25f), "m", 3);
      }
      break;
    }
  }
  return 0;
}
