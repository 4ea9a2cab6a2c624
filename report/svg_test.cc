#include "report/svg.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smallmind::report {
namespace {

using ::testing::HasSubstr;

TEST(SvgTest, LineChartPlotsEverySeriesInsideThePlot) {
  const std::string svg = LineChartSvg(
      "loss <curve>", "step", "nats",
      {{"train", {{0, 4.0}, {100, 2.0}, {200, 1.5}}}, {"val", {{100, 2.2}}}});
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("loss &lt;curve&gt;"));
  EXPECT_THAT(svg, HasSubstr(">train<"));
  EXPECT_THAT(svg, HasSubstr(">val<"));
  // The first point (x min, y max) sits at the plot's top-left corner.
  EXPECT_THAT(svg, HasSubstr("points=\"60.0,40.0 "));
  EXPECT_TRUE(absl::EndsWith(svg, "</svg>\n"));
}

TEST(SvgTest, EmptyAndFlatInputsStillRender) {
  EXPECT_THAT(LineChartSvg("t", "x", "y", {}), HasSubstr("</svg>"));
  EXPECT_THAT(LineChartSvg("t", "x", "y", {{"flat", {{1, 1}, {1, 1}}}}),
              HasSubstr("polyline"));
}

TEST(SvgTest, BarsScaleToTheLargest) {
  const std::string svg = BarChartSvg("time", "ms", {{"matmul", 10}, {"norm", 5}});
  EXPECT_THAT(svg, HasSubstr("width=\"380.0\""));  // the longest bar: full width
  EXPECT_THAT(svg, HasSubstr("width=\"190.0\""));
  EXPECT_THAT(svg, HasSubstr(">matmul<"));
}

}  // namespace
}  // namespace smallmind::report
