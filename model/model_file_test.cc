#include "model/model_file.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smallmind::model {
namespace {

using ::testing::HasSubstr;

// A file with an F32 [2,3] tensor "a" and a Q8_0 [2,32] tensor "b".
struct Fixture {
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> b = std::vector<uint8_t>(2 * 34, 7);
  std::vector<TensorSource> Sources() const {
    return {{"a", core::DType::kF32, {2, 3},
             {reinterpret_cast<const uint8_t*>(a.data()), a.size() * 4}},
            {"b", core::DType::kQ8_0, {2, 32}, b}};
  }
};

std::string ValidBytes() {
  Fixture f;
  ModelDescription d;
  d.mutable_architecture()->set_name("test");
  absl::StatusOr<std::string> bytes = SerializeModelFile(d, f.Sources());
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return *bytes;
}

absl::Status Parse(const std::string& bytes) {
  return ParseModelFile(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            bytes.size()))
      .status();
}

// Header fields of the valid file, and a way to rewrite its description
// while keeping its data section.
uint64_t DescriptionLength(const std::string& bytes) {
  uint64_t n;
  std::memcpy(&n, bytes.data() + 16, 8);
  return n;
}

ModelDescription DescriptionOf(const std::string& bytes) {
  ModelDescription d;
  EXPECT_TRUE(d.ParseFromArray(bytes.data() + kModelFileHeaderBytes,
                               DescriptionLength(bytes)));
  return d;
}

std::string WithDescription(const std::string& bytes,
                            const ModelDescription& d) {
  size_t data_start = kModelFileHeaderBytes + DescriptionLength(bytes);
  data_start = (data_start + kTensorAlignment - 1) / kTensorAlignment *
               kTensorAlignment;
  std::string body = d.SerializeAsString();
  std::string out = bytes.substr(0, 16);
  const uint64_t n = body.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += body;
  out.resize((out.size() + kTensorAlignment - 1) / kTensorAlignment *
                 kTensorAlignment,
             '\0');
  return out + bytes.substr(data_start);
}

TEST(ModelFileTest, RoundTripsThroughDisk) {
  Fixture f;
  ModelDescription d;
  d.mutable_architecture()->set_name("roundtrip");
  (*d.mutable_metadata())["k"] = "v";
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/rt.smm";
  ASSERT_TRUE(WriteModelFile(path, d, f.Sources()).ok());
  absl::StatusOr<std::unique_ptr<ModelData>> file = ReadModelFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->description.architecture().name(), "roundtrip");
  EXPECT_EQ((*file)->description.metadata().at("k"), "v");
  ASSERT_EQ((*file)->description.tensors_size(), 2);
  absl::StatusOr<core::TensorView> a = (*file)->View("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->dtype(), core::DType::kF32);
  EXPECT_EQ(a->num_rows(), 2);
  EXPECT_EQ(a->row_as<float>(1)[2], 6.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a->data()) % kTensorAlignment, 0u);
  absl::StatusOr<core::TensorView> b = (*file)->View("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->dtype(), core::DType::kQ8_0);
  EXPECT_EQ(static_cast<const uint8_t*>(b->data())[0], 7);
  EXPECT_THAT((*file)->View("c").status().message(), HasSubstr("no tensor 'c'"));
}

TEST(ModelFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadModelFile("/nonexistent/x.smm").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ModelFileTest, ValidBytesParse) { EXPECT_TRUE(Parse(ValidBytes()).ok()); }

TEST(ModelFileTest, TruncatedHeader) {
  EXPECT_THAT(Parse(ValidBytes().substr(0, 10)).message(),
              HasSubstr("shorter than the 24-byte header"));
  EXPECT_FALSE(Parse("").ok());
}

TEST(ModelFileTest, BadMagic) {
  std::string bytes = ValidBytes();
  bytes[0] = 'X';
  EXPECT_THAT(Parse(bytes).message(), HasSubstr("bad magic"));
}

TEST(ModelFileTest, BadVersion) {
  std::string bytes = ValidBytes();
  bytes[8] = 9;
  EXPECT_THAT(Parse(bytes).message(),
              HasSubstr("unsupported model file version 9"));
}

TEST(ModelFileTest, DescriptionLengthPastEof) {
  std::string bytes = ValidBytes();
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(&bytes[16], &huge, 8);
  EXPECT_THAT(Parse(bytes).message(),
              HasSubstr("runs past the end of the file"));
}

TEST(ModelFileTest, UnparseableDescription) {
  std::string bytes = ValidBytes();
  for (size_t i = 0; i < 8; ++i) bytes[kModelFileHeaderBytes + i] = '\xff';
  EXPECT_THAT(Parse(bytes).message(), HasSubstr("not a valid ModelDescription"));
}

TEST(ModelFileTest, TensorOffsetPastEof) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  d.mutable_tensors(1)->set_offset(64 * 1000);
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(),
              HasSubstr("tensor 'b': bytes 64000..64068 of the data section "
                        "run past the end of the file"));
}

TEST(ModelFileTest, TensorSizePastEof) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  TensorInfo* a = d.mutable_tensors(0);
  a->clear_shape();
  a->add_shape(1000);
  a->add_shape(1000);
  a->set_size(4000000);
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(),
              HasSubstr("tensor 'a': bytes 0..4000000"));
}

TEST(ModelFileTest, OffsetPlusSizeOverflows) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  // The last aligned offset; tensor b's 68 bytes wrap past 2^64.
  d.mutable_tensors(1)->set_offset(std::numeric_limits<uint64_t>::max() - 63);
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(), HasSubstr("overflows"));
}

TEST(ModelFileTest, MisalignedOffset) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  d.mutable_tensors(1)->set_offset(68);
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(),
              HasSubstr("offset 68 is not aligned to 64 bytes"));
}

TEST(ModelFileTest, ShapeNotWholeBlocks) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  d.mutable_tensors(1)->set_shape(1, 30);
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(),
              HasSubstr("not a whole number of q8_0 blocks of 32"));
}

TEST(ModelFileTest, SizeDisagreesWithShape) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  d.mutable_tensors(0)->set_size(20);
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(),
              HasSubstr("size 20 does not match"));
}

TEST(ModelFileTest, BadRankAndEmptyShape) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  for (int i = 0; i < 3; ++i) d.mutable_tensors(0)->add_shape(1);
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(),
              HasSubstr("rank 5 is outside 1..4"));
  d = DescriptionOf(bytes);
  d.mutable_tensors(0)->set_shape(0, 0);
  EXPECT_FALSE(Parse(WithDescription(bytes, d)).ok());
  d = DescriptionOf(bytes);
  d.mutable_tensors(0)->set_shape(0, -2);
  EXPECT_FALSE(Parse(WithDescription(bytes, d)).ok());
}

TEST(ModelFileTest, UnknownDType) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  d.mutable_tensors(0)->set_dtype(static_cast<TensorDType>(42));
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(),
              HasSubstr("unknown dtype 42"));
}

TEST(ModelFileTest, DuplicateName) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  *d.add_tensors() = d.tensors(0);
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(),
              HasSubstr("duplicate tensor name 'a'"));
}

TEST(ModelFileTest, UnnamedTensor) {
  const std::string bytes = ValidBytes();
  ModelDescription d = DescriptionOf(bytes);
  d.mutable_tensors(1)->clear_name();
  EXPECT_THAT(Parse(WithDescription(bytes, d)).message(), HasSubstr("no name"));
}

TEST(ModelFileTest, WriterRejectsWrongByteCount) {
  Fixture f;
  std::vector<TensorSource> sources = f.Sources();
  sources[1].bytes = sources[1].bytes.subspan(0, 10);
  EXPECT_THAT(SerializeModelFile(ModelDescription(), sources).status().message(),
              HasSubstr("10 bytes given"));
}

}  // namespace
}  // namespace smallmind::model
