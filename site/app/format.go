package main

import (
	"math"
	"strings"
)

// bytesText formats a size: "177 kB", "10.2 MB".
func bytesText(n float64) string {
	switch {
	case n >= 1e9:
		return sprintf("%.2f GB", n/1e9)
	case n >= 1e6:
		return sprintf("%.1f MB", n/1e6)
	case n >= 1e3:
		return sprintf("%.0f kB", n/1e3)
	}
	return sprintf("%.0f B", n)
}

// countText formats a count with thin separators: "2,542,856"; large
// counts also get a short form: "56.5 M".
func countText(n float64) string {
	s := sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	switch {
	case n >= 1e9:
		return sprintf("%s (%.2f G)", b.String(), n/1e9)
	case n >= 1e6:
		return sprintf("%s (%.1f M)", b.String(), n/1e6)
	}
	return b.String()
}

// shapeText formats an NHWC input: "28×28 gray", "224×224 RGB".
func shapeText(shape []int, order string) string {
	if len(shape) != 4 {
		return sprint(shape)
	}
	kind := order
	if shape[3] == 1 || order == "GRAY" {
		kind = "gray"
	}
	if kind == "" {
		kind = sprintf("%d channels", shape[3])
	}
	return sprintf("%d×%d %s", shape[1], shape[2], kind)
}

// plural returns "1 chunk", "3 chunks".
func plural(n int, word string) string {
	if n == 1 {
		return sprintf("1 %s", word)
	}
	return sprintf("%d %ss", n, word)
}

// msText formats a latency.
func msText(ms float64) string {
	switch {
	case ms >= 1000:
		return sprintf("%.2f s", ms/1000)
	case ms >= 100:
		return sprintf("%.0f ms", ms)
	}
	return sprintf("%.1f ms", ms)
}

// pctText formats a probability as a percentage.
func pctText(p float64) string {
	switch {
	case p >= 0.0995:
		return sprintf("%.1f%%", 100*p)
	}
	return sprintf("%.3g%%", 100*p)
}

// std is the standard deviation of a variance.
func std(v float64) float64 { return math.Sqrt(math.Max(v, 0)) }
