// Fuzzes a Hugging Face GPT-2 directory's text files: config.json, then
// vocab.json and merges.txt, split by NUL bytes in the input.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "formats/hf_import.h"
#include "formats/hf_tokenizer.h"
#include "formats/safetensors.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace formats = smallmind::formats;
  const std::vector<absl::string_view> parts = absl::StrSplit(
      absl::string_view(reinterpret_cast<const char*>(data), size), absl::MaxSplits('\0', 2));
  auto arch = formats::ArchitectureFromHfConfig(parts[0]);
  if (!arch.ok() || parts.size() < 3) return 0;
  auto spec = formats::TokenizerFromGpt2Files(parts[1], parts[2], arch->vocab_size());
  if (!spec.ok()) return 0;
  auto tokenizer = smallmind::text::Tokenizer::Create(*spec);
  if (tokenizer.ok()) {
    auto ids = (*tokenizer)->Encode("Hello, fuzz! \xe2\x82\xac", false);
    if (ids.ok()) (*tokenizer)->Decode(*ids);
  }
  return 0;
}
