// Small, dependency-free SVG charts for reports: a line chart (training loss
// curves), a horizontal bar chart (time per op) and a signed one (changes
// between two runs).
#ifndef SMALLMIND_REPORT_SVG_H_
#define SMALLMIND_REPORT_SVG_H_

#include <string>
#include <utility>
#include <vector>

namespace smallmind::report {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y)
};

// Lines over shared axes scaled to fit every point; a legend names them.
std::string LineChartSvg(const std::string& title, const std::string& x_label,
                         const std::string& y_label,
                         const std::vector<Series>& series);

// One bar per (label, value), longest first as given; values labelled with
// `unit`.
std::string BarChartSvg(const std::string& title, const std::string& unit,
                        const std::vector<std::pair<std::string, double>>& bars);

// One bar per (label, value) around a zero line: positive values to the
// right in green, negative to the left in red (e.g. % change, signed so
// that better is positive). Values labelled with `unit`.
std::string SignedBarChartSvg(const std::string& title, const std::string& unit,
                              const std::vector<std::pair<std::string, double>>& bars);

}  // namespace smallmind::report

#endif  // SMALLMIND_REPORT_SVG_H_
