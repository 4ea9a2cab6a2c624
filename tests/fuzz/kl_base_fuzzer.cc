// Fuzzes the header of `smallmind perplexity`'s KL base file: every input
// gives a header whose sizes add up to the input's length, or a Status;
// never a crash or an out-of-bounds read.
#include <cstdint>

#include "absl/strings/string_view.h"
#include "eval/kl_base.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto header = smallmind::eval::ParseKlBaseHeader(bytes, size);
  if (header.ok()) {
    volatile int64_t sum = 0;
    for (int32_t t : header->tokens) sum = sum + t;
    if (header->rows_offset + header->Rows() * header->vocab * 2 != size) __builtin_trap();
  }
  return 0;
}
