// Fuzzes the Hugging Face tokenizer files: tokenizer.json, then
// tokenizer_config.json and generation_config.json, split by NUL bytes in
// the input; a tokenizer that reads is then used.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "formats/hf_tokenizer.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace formats = smallmind::formats;
  const std::vector<absl::string_view> parts = absl::StrSplit(
      absl::string_view(reinterpret_cast<const char*>(data), size), absl::MaxSplits('\0', 2));
  formats::HfTokenizerFiles files;
  files.tokenizer_json = std::string(parts[0]);
  if (parts.size() > 1) files.tokenizer_config_json = std::string(parts[1]);
  if (parts.size() > 2) files.generation_config_json = std::string(parts[2]);
  auto spec = formats::TokenizerFromHf(files);
  if (!spec.ok()) return 0;
  auto tokenizer = smallmind::text::Tokenizer::Create(*spec);
  if (tokenizer.ok()) {
    auto ids = (*tokenizer)->Encode("Hello, fuzz! \xe2\x82\xac <|im_start|>", true, true);
    if (ids.ok()) (*tokenizer)->Decode(*ids);
  }
  return 0;
}
