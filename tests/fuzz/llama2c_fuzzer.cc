// Fuzzes the llama2.c importer: the input is the checkpoint's length (4
// bytes, little-endian), the checkpoint, then tokenizer.bin.
#include <cstdint>
#include <cstring>

#include "formats/llama2c_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t length;
  std::memcpy(&length, data, 4);
  const auto rest = absl::MakeConstSpan(data + 4, size - 4);
  if (length > rest.size()) length = static_cast<uint32_t>(rest.size());
  smallmind::formats::ImportLlama2c(rest.subspan(0, length), rest.subspan(length), "fuzz")
      .IgnoreError();
  return 0;
}
