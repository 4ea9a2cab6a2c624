// Fuzzes the GGUF reader and the llama/gpt2 importer with arbitrary bytes:
// every input must give a converted model or a Status, never a crash or an
// out-of-bounds read.
#include <cstdint>

#include "formats/gguf.h"
#include "formats/gguf_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = smallmind::formats::GgufFile::Parse(absl::MakeConstSpan(data, size));
  if (file.ok()) smallmind::formats::ImportGguf(*file, "fuzz").IgnoreError();
  return 0;
}
