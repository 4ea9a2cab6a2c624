#include "tools/smallmind/cli.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/options.h"
#include "tools/smallmind/flags.h"

namespace smallmind::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct TestArgs {
  int32_t count = 1;
  bool enabled = true;
  std::vector<std::string> words;
  double ratio = 0.5;
  uint64_t seed = 0;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(count, {"n-count", 'n', nullptr, "a number"});
    v(enabled, {"enabled", 0, nullptr, "a switch"});
    v(words, {"word", 'w', nullptr, "a word; may be repeated"});
    v(ratio, {"ratio", 0, nullptr, "a fraction"});
    v(seed, {"seed", 's', nullptr, "a seed"});
  }
};

absl::StatusOr<std::vector<std::string>> Parse(TestArgs& args,
                                               std::vector<std::string> argv) {
  Flags flags;
  flags.Add(args);
  return flags.Parse(argv);
}

TEST(FlagsTest, ShortLongEqualsAndUnderscoreFormsAllSetTheField) {
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"-n", "3"}, {"--n-count=3"}, {"--n_count", "3"},
                                             {"-n=3"}}) {
    TestArgs args;
    ASSERT_TRUE(Parse(args, argv).ok());
    EXPECT_EQ(args.count, 3);
  }
}

TEST(FlagsTest, BooleansTakeNoValueAndHaveANoForm) {
  TestArgs args;
  EXPECT_THAT(*Parse(args, {"--no-enabled", "pos"}), ElementsAre("pos"));
  EXPECT_FALSE(args.enabled);
  EXPECT_TRUE(Parse(args, {"--enabled"}).ok());
  EXPECT_TRUE(args.enabled);
  EXPECT_TRUE(Parse(args, {"--enabled=false"}).ok());
  EXPECT_FALSE(args.enabled);
  EXPECT_THAT(Parse(args, {"--no-enabled=true"}).status().message(),
              HasSubstr("takes no value"));
}

TEST(FlagsTest, ListsCollectEveryValueInOrder) {
  TestArgs args;
  EXPECT_THAT(*Parse(args, {"-w", "a,b", "--word=c", "x", "--", "-n"}),
              ElementsAre("x", "-n"));
  EXPECT_THAT(args.words, ElementsAre("a,b", "c"));
}

TEST(FlagsTest, LlamaCppsLongShortSpellingsWork) {
  runtime::SessionOptions session;
  Flags flags;
  flags.Add(session);
  ASSERT_TRUE(flags.Parse({"-ctk", "q8_0", "-ctv=f16"}).ok());
  EXPECT_EQ(session.cache_type_k, "q8_0");
  EXPECT_EQ(session.cache_type_v, "f16");
  // Only where the command has the long flag.
  EXPECT_THAT(flags.Parse({"-np", "4"}).status().message(), HasSubstr("unknown flag '-np'"));
  EXPECT_THAT(flags.Parse({"-tk", "4"}).status().message(), HasSubstr("unknown flag '-tk'"));
}

TEST(FlagsTest, ErrorsNameTheFlagAndTheValue) {
  TestArgs args;
  EXPECT_THAT(Parse(args, {"--bogus"}).status().message(), HasSubstr("unknown flag '--bogus'"));
  EXPECT_THAT(Parse(args, {"-x"}).status().message(), HasSubstr("unknown flag '-x'"));
  EXPECT_THAT(Parse(args, {"-n"}).status().message(), HasSubstr("flag '-n' needs a value"));
  EXPECT_THAT(Parse(args, {"-n", "many"}).status().message(),
              HasSubstr("--n-count: 'many' is not an integer"));
  EXPECT_THAT(Parse(args, {"--ratio", "nan"}).status().message(),
              HasSubstr("--ratio: 'nan' is not a finite number"));
  EXPECT_THAT(Parse(args, {"-s", "-3"}).status().message(), HasSubstr("--seed: '-3'"));
  EXPECT_THAT(Parse(args, {"--no-ratio"}).status().message(), HasSubstr("unknown flag"));
}

TEST(FlagsTest, HelpListsEveryFieldWithItsDefault) {
  TestArgs args;
  Flags flags;
  flags.Add(args);
  ASSERT_TRUE(flags.Parse({"-h"}).ok());
  EXPECT_TRUE(flags.help_requested());
  const std::string help = flags.Help();
  EXPECT_THAT(help, HasSubstr("-n, --n-count"));
  EXPECT_THAT(help, HasSubstr("a number (default: 1)"));
  EXPECT_THAT(help, HasSubstr("--enabled"));
  EXPECT_THAT(help, HasSubstr("(default: true)"));
  EXPECT_THAT(help, HasSubstr("--ratio"));
}

// Every sampling option is one field of runtime::SamplerOptions, which the
// CLI, the public API and the server all take: visiting it must reach every
// byte of the struct (a field added without a VisitFields line fails here),
// and every field must have a flag and a request key.
TEST(OptionsTest, EverySamplerFieldIsVisitedWithAFlagAndAKey) {
  runtime::SamplerOptions sampler;
  size_t bytes = 0;
  std::vector<std::string> keys;
  sampler.VisitFields([&](auto& field, const core::FieldInfo& info) {
    bytes += sizeof(field);
    ASSERT_NE(info.flag, nullptr);
    ASSERT_NE(info.key, nullptr);
    keys.push_back(info.key);
  });
  EXPECT_EQ(bytes, sizeof(runtime::SamplerOptions));
  EXPECT_THAT(keys, ElementsAre("temperature", "top_k", "top_p", "min_p", "repeat_penalty",
                                "repeat_last_n", "presence_penalty", "frequency_penalty",
                                "logit_bias", "seed"));
}

// The commands parse the same struct: its flags set its fields.
TEST(OptionsTest, SamplerFlagsSetTheirFields) {
  runtime::GenerateOptions options;
  Flags flags;
  flags.Add(options);
  ASSERT_TRUE(flags.Parse({"--temp", "0.25", "--top-k", "7", "--presence-penalty", "0.5",
                           "--frequency-penalty=1.5", "-s", "42", "-n", "9", "--stop", "x",
                           "--no-context-shift", "-l", "15-inf", "--logit-bias", "7+2"})
                  .ok());
  EXPECT_EQ(options.sampler.temperature, 0.25f);
  EXPECT_EQ(options.sampler.top_k, 7);
  EXPECT_EQ(options.sampler.presence_penalty, 0.5f);
  EXPECT_EQ(options.sampler.frequency_penalty, 1.5f);
  EXPECT_EQ(options.sampler.seed, 42);
  EXPECT_EQ(options.max_tokens, 9);
  EXPECT_EQ(options.sampler.logit_bias, (std::vector<std::string>{"15-inf", "7+2"}));
  EXPECT_THAT(options.stop, ElementsAre("x"));
  EXPECT_FALSE(options.context_shift);
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
