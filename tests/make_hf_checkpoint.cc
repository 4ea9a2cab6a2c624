// Writes a golden model as a Hugging Face checkpoint directory (config.json,
// model.safetensors, tokenizer.json, tokenizer_config.json with a chat
// template), for the tests and the example workspace that run a
// checkpoint directory directly:
//   bazel run //tests:make_hf_checkpoint -- llama3_tiny $PWD/tests/golden/hf/llama3_tiny
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "formats/test_formats.h"
#include "nlohmann/json.hpp"
#include "tests/golden_util.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_hf_checkpoint GOLDEN_NAME OUT_DIR\n");
    return 1;
  }
  auto golden = smallmind::golden::LoadGolden(argv[1]);
  if (!golden.ok()) {
    std::fprintf(stderr, "%s\n", std::string(golden.status().message()).c_str());
    return 1;
  }
  std::map<std::string, std::string> files =
      smallmind::formats::HfFromModel(*golden->model, "F32");
  // A template in the golden vocabulary's characters (upper case and
  // punctuation), so that every conversation it renders can be tokenized.
  files["tokenizer_config.json"] =
      nlohmann::json{{"chat_template",
                      "{% for m in messages %}{{ m['role'] | upper }}:{{ m['content'] }};"
                      "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"}}
          .dump(2);
  std::filesystem::create_directories(argv[2]);
  for (const auto& [name, text] : files) {
    std::ofstream out(std::string(argv[2]) + "/" + name, std::ios::binary);
    out << text;
    if (!out.good()) return 1;
  }
  return 0;
}
