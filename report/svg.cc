#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace smallmind::report {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd"};

std::string Escape(const std::string& s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

}  // namespace

std::string LineChartSvg(const std::string& title, const std::string& x_label,
                         const std::string& y_label,
                         const std::vector<Series>& series) {
  constexpr double kW = 640, kH = 400, kLeft = 60, kRight = 20, kTop = 40,
                   kBottom = 50;
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points) {
      x0 = std::min(x0, x); x1 = std::max(x1, x);
      y0 = std::min(y0, y); y1 = std::max(y1, y);
    }
  }
  if (x0 > x1) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return kTop + (1 - (y - y0) / (y1 - y0)) * ph; };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"24\" font-size=\"15\">%s</text>\n"
      "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
      "stroke=\"#888\"/>\n",
      kW, kH, kLeft, Escape(title), kLeft, kTop, pw, ph);
  for (int i = 0; i <= 4; ++i) {
    const double y = y0 + (y1 - y0) * i / 4, x = x0 + (x1 - x0) * i / 4;
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n"
                          "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.4g</text>\n",
                          kLeft - 6, py(y) + 4, y, px(x), kTop + ph + 16, x);
  }
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n"
                        "<text x=\"14\" y=\"%.0f\" transform=\"rotate(-90 14 %.0f)\" "
                        "text-anchor=\"middle\">%s</text>\n",
                        kLeft + pw / 2, kH - 10, Escape(x_label), kTop + ph / 2,
                        kTop + ph / 2, Escape(y_label));
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % 5];
    std::string points;
    for (const auto& [x, y] : series[i].points) {
      absl::StrAppendFormat(&points, "%.1f,%.1f ", px(x), py(y));
    }
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                          "points=\"%s\"/>\n"
                          "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n",
                          color, points, kLeft + pw - 150, kTop + 18 + 16.0 * i, color,
                          Escape(series[i].name));
  }
  return svg + "</svg>\n";
}

std::string BarChartSvg(const std::string& title, const std::string& unit,
                        const std::vector<std::pair<std::string, double>>& bars) {
  constexpr double kW = 640, kLabel = 170, kRow = 22, kTop = 40;
  const double h = kTop + kRow * bars.size() + 20;
  double max = 0;
  for (const auto& [label, v] : bars) max = std::max(max, v);
  if (max <= 0) max = 1;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"24\" font-size=\"15\">%s</text>\n",
      kW, h, Escape(title));
  const double width = kW - kLabel - 90;
  for (size_t i = 0; i < bars.size(); ++i) {
    const double y = kTop + kRow * i;
    const double w = bars[i].second / max * width;
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n"
                          "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" "
                          "fill=\"%s\"/>\n"
                          "<text x=\"%.1f\" y=\"%.0f\">%.3g %s</text>\n",
                          kLabel - 6, y + 14, Escape(bars[i].first), kLabel, y + 3, w,
                          kRow - 6, kColors[0], kLabel + w + 4, y + 14, bars[i].second,
                          Escape(unit));
  }
  return svg + "</svg>\n";
}

std::string SignedBarChartSvg(const std::string& title, const std::string& unit,
                              const std::vector<std::pair<std::string, double>>& bars) {
  constexpr double kW = 720, kLabel = 260, kRow = 20, kTop = 40;
  const double h = kTop + kRow * bars.size() + 20;
  double max = 0;
  for (const auto& [label, v] : bars) max = std::max(max, std::abs(v));
  if (max <= 0) max = 1;
  const double half = (kW - kLabel - 20) / 2 - 50, zero = kLabel + 60 + half;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"24\" font-size=\"15\">%s</text>\n"
      "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#888\"/>\n",
      kW, h, Escape(title), zero, kTop, zero, h - 16);
  for (size_t i = 0; i < bars.size(); ++i) {
    const double y = kTop + kRow * i;
    const double v = bars[i].second;
    const double w = std::abs(v) / max * half;
    const double x = v >= 0 ? zero : zero - w;
    const double tx = v >= 0 ? zero + w + 4 : zero - w - 4;
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n"
                          "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" "
                          "fill=\"%s\"/>\n"
                          "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"%s\">%+.3g%s</text>\n",
                          kLabel - 6, y + 13, Escape(bars[i].first), x, y + 3, w, kRow - 6,
                          v >= 0 ? "#2ca02c" : "#d62728", tx, y + 13,
                          v >= 0 ? "start" : "end", v, Escape(unit));
  }
  return svg + "</svg>\n";
}

}  // namespace smallmind::report
