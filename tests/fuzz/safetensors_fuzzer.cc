// Fuzzes the .safetensors reader: every input gives the tensors, each
// inside the file, or a Status; never a crash or an out-of-bounds read.
#include <cstdint>

#include "formats/hf_import.h"
#include "formats/hf_tokenizer.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tensors = smallmind::formats::ParseSafetensors(absl::MakeConstSpan(data, size));
  if (tensors.ok()) {
    for (const auto& [name, t] : *tensors) {
      // Touch every byte the reader vouched for (ASan checks the bounds).
      volatile uint8_t sum = 0;
      for (uint8_t b : t.bytes) sum = sum + b;
    }
  }
  return 0;
}
