// Writes the generated part of the fuzzers' seed corpora from the golden
// models, under tests/fuzz/seeds/<target>/:
//   bazel run //tests/fuzz:make_seeds -- $PWD/tests/fuzz/seeds
// (the tokenizer's text seeds are written by hand).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "formats/gguf_from_model.h"
#include "formats/test_formats.h"
#include "tests/golden_util.h"
#include "text/chat_template.h"

namespace {

bool Write(const std::string& path, const void* data, size_t size) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), size);
  return out.good();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds SEEDS_DIR\n");
    return 1;
  }
  namespace formats = smallmind::formats;
  const std::string dir = argv[1];
  auto gpt2 = smallmind::golden::LoadGolden("gpt2_tiny");
  auto llama = smallmind::golden::LoadGolden("llama_tiny");
  if (!gpt2.ok() || !llama.ok()) {
    std::fprintf(stderr, "cannot load the golden models\n");
    return 1;
  }
  bool ok = true;
  // Every GGUF family SmallMind reads, in a mix of tensor types.
  for (const char* name : smallmind::golden::kGoldenModels) {
    auto golden = smallmind::golden::LoadGolden(name);
    const std::string n = name;
    const smallmind::core::DType dtype = n == "gpt2_tiny"    ? smallmind::core::DType::kQ8_0
                                         : n == "llama_tiny" ? smallmind::core::DType::kF16
                                                             : smallmind::core::DType::kF32;
    auto bytes = golden.ok() ? formats::GgufFromModel(*golden->model, dtype)
                             : absl::StatusOr<std::vector<uint8_t>>(golden.status());
    if (!bytes.ok()) continue;  // no GGUF architecture (neox_tiny)
    ok &= Write(dir + "/gguf/" + n + ".gguf", bytes->data(), bytes->size());
  }
  // Hugging Face checkpoints of the newer families: config.json alone, and
  // tokenizer.json with an empty tokenizer_config.json and a
  // generation_config.json.
  for (const char* name : {"llama3_tiny", "qwen2_tiny", "qwen3_tiny", "gemma3_tiny", "phi3_tiny"}) {
    auto golden = smallmind::golden::LoadGolden(name);
    if (!golden.ok()) return 1;
    std::map<std::string, std::string> files = formats::HfFromModel(*golden->model, "F32");
    const std::string& config = files["config.json"];
    ok &= Write(dir + "/hf_config/" + name + ".json", config.data(), config.size());
    const std::string tokenizer =
        files["tokenizer.json"] + '\0' + "{\"eos_token\": \"!\"}" + '\0' + "{\"eos_token_id\": [1, 2]}";
    ok &= Write(dir + "/hf_tokenizer/" + name, tokenizer.data(), tokenizer.size());
  }
  // A SentencePiece-style tokenizer.json (Llama 2's, Gemma's shape).
  const std::string spm =
      R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},)"
      R"( {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}, "pre_tokenizer": null,)"
      R"( "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>",)"
      R"( "special": true}], "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",)"
      R"( "vocab": {"<unk>": 0, "<s>": 1, "<0x41>": 2, "\u2581": 3, "a": 4, "b": 5, "\u2581a": 6},)"
      R"( "merges": [["\u2581", "a"]]}})";
  ok &= Write(dir + "/hf_tokenizer/sentencepiece", spm.data(), spm.size());
  // The built-in chat templates.
  for (const std::string& name : smallmind::text::BuiltinChatTemplateNames()) {
    const std::string text = smallmind::text::BuiltinChatTemplate(name);
    ok &= Write(dir + "/chat_template/" + name + ".jinja", text.data(), text.size());
  }
  const formats::HfGpt2Files hf = formats::HfGpt2FromModel(*gpt2->model);
  ok &= Write(dir + "/safetensors/gpt2_tiny.safetensors", hf.safetensors.data(),
              hf.safetensors.size());
  // The hf_gpt2 target's input: config.json, vocab.json, merges.txt, split
  // by NUL bytes.
  const std::string joined = hf.config + '\0' + hf.vocab + '\0' + hf.merges;
  ok &= Write(dir + "/hf_gpt2/gpt2_tiny", joined.data(), joined.size());
  // The llama2c target's input: the checkpoint's length (4 bytes, little-
  // endian), the checkpoint, then tokenizer.bin.
  const formats::Llama2cFiles l2c = formats::Llama2cFromModel(*llama->model);
  const uint32_t length = static_cast<uint32_t>(l2c.checkpoint.size());
  std::string input(reinterpret_cast<const char*>(&length), 4);
  input += l2c.checkpoint + l2c.tokenizer;
  ok &= Write(dir + "/llama2c/llama_tiny", input.data(), input.size());
  return ok ? 0 : 1;
}
