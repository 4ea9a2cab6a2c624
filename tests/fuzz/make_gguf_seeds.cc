// Writes the GGUF fuzzer's seed corpus: the golden models as GGUF.
//   bazel run //tests/fuzz:make_gguf_seeds -- $PWD/tests/fuzz/gguf_seeds
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/golden_util.h"
#include "tools/convert/gguf_from_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_gguf_seeds OUT_DIR\n");
    return 1;
  }
  using smallmind::core::DType;
  for (const auto& [name, type] :
       {std::pair<const char*, DType>{"gpt2_tiny", DType::kQ8_0},
        {"llama_tiny", DType::kF16}}) {
    auto golden = smallmind::golden::LoadGolden(name);
    if (!golden.ok()) {
      std::fprintf(stderr, "%s\n", std::string(golden.status().message()).c_str());
      return 1;
    }
    auto bytes = smallmind::convert::GgufFromModel(*golden->model, type);
    if (!bytes.ok()) return 1;
    std::ofstream(std::string(argv[1]) + "/" + name + ".gguf", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  }
  return 0;
}
