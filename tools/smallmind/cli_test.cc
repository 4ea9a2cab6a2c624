#include "tools/smallmind/cli.h"

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, test_count, 1, "a number");
ABSL_FLAG(bool, test_switch, false, "a switch");
ABSL_FLAG(std::string, test_word, "", "a word");

namespace smallmind::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Command TestCommand() {
  return {"test", "smallmind test", "a test command",
          {{"n", "n-count", "test_count"},
           {nullptr, "switch", "test_switch"},
           {"w", "word", "test_word"}},
          nullptr};
}

absl::StatusOr<std::vector<std::string>> Normalize(
    std::vector<std::string> argv,
    std::vector<std::pair<std::string, std::string>>* repeated = nullptr) {
  std::vector<std::pair<std::string, std::string>> ignored;
  return NormalizeArgs(TestCommand(), argv, {"test_word"},
                       repeated != nullptr ? repeated : &ignored);
}

TEST(NormalizeArgsTest, ShortDashedAndEqualsFormsMapToAbseilFlags) {
  EXPECT_THAT(*Normalize({"-n", "3", "pos", "--n-count=4", "--n_count", "5"}),
              ElementsAre("--test_count=3", "pos", "--test_count=4", "--test_count=5"));
}

TEST(NormalizeArgsTest, BoolFlagsTakeNoValue) {
  EXPECT_THAT(*Normalize({"--switch", "pos"}), ElementsAre("--test_switch", "pos"));
  EXPECT_THAT(*Normalize({"--switch=false"}), ElementsAre("--test_switch=false"));
}

TEST(NormalizeArgsTest, RepeatedFlagsAreCollectedInOrder) {
  std::vector<std::pair<std::string, std::string>> repeated;
  EXPECT_THAT(*Normalize({"-w", "a", "--word=b", "-n", "1"}, &repeated),
              ElementsAre("--test_count=1"));
  EXPECT_THAT(repeated, ElementsAre(std::pair<std::string, std::string>{"test_word", "a"},
                                    std::pair<std::string, std::string>{"test_word", "b"}));
}

TEST(NormalizeArgsTest, HelpAndPositionalAfterDoubleDash) {
  EXPECT_THAT(*Normalize({"-h"}), ElementsAre("--help"));
  EXPECT_THAT(*Normalize({"--", "-n"}), ElementsAre("--", "-n"));
  EXPECT_THAT(*Normalize({"-"}), ElementsAre("-"));
}

TEST(NormalizeArgsTest, Errors) {
  EXPECT_THAT(Normalize({"--bogus"}).status().message(),
              HasSubstr("unknown flag '--bogus' for 'test'"));
  EXPECT_THAT(Normalize({"-x"}).status().message(), HasSubstr("unknown flag '-x'"));
  EXPECT_THAT(Normalize({"-n"}).status().message(), HasSubstr("flag '-n' needs a value"));
}

TEST(CliTest, ParseIntList) {
  EXPECT_THAT(*ParseIntList("p", "64, 512,1"), ElementsAre(64, 512, 1));
  EXPECT_THAT(ParseIntList("p", "1,x").status().message(),
              HasSubstr("--p: 'x' is not a non-negative integer"));
  EXPECT_FALSE(ParseIntList("p", "-1").ok());
  EXPECT_FALSE(ParseIntList("p", "").ok());
}

TEST(CliTest, HumanReadableNumbers) {
  EXPECT_EQ(HumanCount(470528), "470.53 K");
  EXPECT_EQ(HumanCount(15191712), "15.19 M");
  EXPECT_EQ(HumanCount(12), "12");
  EXPECT_EQ(HumanBytes(1887436.8), "1.80 MiB");
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_GT(PeakRssBytes(), 0u);
}

}  // namespace
}  // namespace smallmind::cli
