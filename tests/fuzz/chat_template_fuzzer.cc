// Fuzzes chat templates: the input is a Jinja template, parsed and rendered
// over a fixed conversation (bounded: the renderer caps its steps and its
// output).
#include <cstdint>
#include <string>
#include <vector>

#include "text/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace text = smallmind::text;
  auto chat = text::ChatTemplate::Create(
      std::string(reinterpret_cast<const char*>(data), size), "<s>", "</s>");
  if (!chat.ok()) return 0;
  const std::vector<text::ChatMessage> messages = {
      {"system", "Be brief."}, {"user", "Hi <|im_start|> \xe2\x82\xac"}, {"assistant", "Hello."},
      {"user", "Again?"}};
  (void)chat->Render(messages, true);
  (void)chat->Render({}, false);
  return 0;
}
