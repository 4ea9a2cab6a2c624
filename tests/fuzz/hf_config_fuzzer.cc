// Fuzzes a Hugging Face checkpoint's config.json: the input is written as
// config.json next to a small, valid checkpoint (tensors and tokenizer of a
// golden model) and the directory imported.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "formats/hf_import.h"

namespace {

// The checkpoint's other files: the seed directory's, copied once.
const std::string& Directory() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    auto* d = new std::string(std::string(tmp != nullptr ? tmp : "/tmp") + "/hf_config_fuzz");
    std::filesystem::create_directories(*d);
    const char* model = R"({"version":"1.0","added_tokens":[],"normalizer":null,)"
                        R"("pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE",)"
                        R"("vocab":{"a":0,"b":1,"c":2,"d":3},"merges":[]}})";
    std::FILE* f = std::fopen((*d + "/tokenizer.json").c_str(), "wb");
    if (f != nullptr) {
      std::fputs(model, f);
      std::fclose(f);
    }
    return d;
  }();
  return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = Directory();
  std::FILE* f = std::fopen((dir + "/config.json").c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  // No tensors: the config is read, checked and refused or accepted before
  // the (missing) safetensors file is looked for.
  (void)smallmind::formats::ImportHuggingFace(dir);
  return 0;
}
