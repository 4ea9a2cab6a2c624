#include "formats/safetensors.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "formats/json_util.h"

namespace smallmind::formats {

absl::StatusOr<std::map<std::string, SourceTensor>> ParseSafetensors(
    absl::Span<const uint8_t> bytes) {
  uint64_t header_size;
  if (bytes.size() < 8) {
    return absl::InvalidArgumentError("too short for a safetensors header");
  }
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > bytes.size() - 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header length ", header_size, " runs past the end of the file (",
        bytes.size(), " bytes)"));
  }
  SM_ASSIGN_OR_RETURN(
      Json header,
      ParseJson(absl::string_view(reinterpret_cast<const char*>(bytes.data()) + 8,
                                  header_size),
                "the safetensors header"));
  if (!header.is_object()) {
    return absl::InvalidArgumentError("the safetensors header is not an object");
  }
  const absl::Span<const uint8_t> data = bytes.subspan(8 + header_size);
  std::map<std::string, SourceTensor> tensors;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    auto bad = [&name = name](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "': ", why));
    };
    if (!info.is_object() || !info.contains("dtype") ||
        !info.contains("shape") || !info.contains("data_offsets") ||
        !info["dtype"].is_string() || !info["shape"].is_array() ||
        !info["data_offsets"].is_array() || info["data_offsets"].size() != 2) {
      return bad("needs dtype, shape and two data_offsets");
    }
    SourceTensor t;
    t.name = name;
    const std::string dtype = info["dtype"];
    if (dtype == "F32") t.dtype = core::DType::kF32;
    else if (dtype == "F16") t.dtype = core::DType::kF16;
    else if (dtype == "BF16") t.dtype = core::DType::kBF16;
    else return bad(absl::StrCat("dtype ", dtype, " is not supported"));
    uint64_t elements = 1;
    for (const Json& d : info["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() == 0 ||
          d.get<uint64_t>() > (uint64_t{1} << 40) / elements) {
        return bad("bad shape");
      }
      elements *= d.get<uint64_t>();
      t.shape.push_back(d.get<int64_t>());
    }
    if (t.shape.empty() || t.shape.size() > 4) return bad("rank must be 1..4");
    const Json& offsets = info["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
      return bad("data_offsets are not unsigned integers");
    }
    const uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end || end > data.size()) {
      return bad(absl::StrCat("data_offsets [", begin, ", ", end,
                              "] lie outside the ", data.size(),
                              "-byte data section"));
    }
    if (end - begin != elements * (t.dtype == core::DType::kF32 ? 4 : 2)) {
      return bad(absl::StrCat(end - begin, " bytes do not match ", dtype,
                              " of ", elements, " elements"));
    }
    t.bytes = data.subspan(begin, end - begin);
    tensors.emplace(name, std::move(t));
  }
  return tensors;
}

}  // namespace smallmind::formats
