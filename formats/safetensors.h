// The safetensors container (a little-endian u64 header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the data):
// the tensors of a Hugging Face checkpoint, used in place.
#ifndef SMALLMIND_FORMATS_SAFETENSORS_H_
#define SMALLMIND_FORMATS_SAFETENSORS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "formats/importing.h"

namespace smallmind::formats {

// The tensors of a .safetensors file, each checked to lie inside the file
// and to match its dtype and shape. `bytes` must outlive the result.
absl::StatusOr<std::map<std::string, SourceTensor>> ParseSafetensors(
    absl::Span<const uint8_t> bytes);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_SAFETENSORS_H_
