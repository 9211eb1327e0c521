package onnximport

import (
	"fmt"
	"testing"

	"webcnn/tools/convert/onnx"
)

// resizeCases cover Resize's modes, coordinate transformations, nearest
// roundings, scales and sizes, and Upsample, on a [2, 2, 5, 7] input:
// upsampling, downsampling, integer and fractional factors.
func resizeCases() []ortCase {
	in := []int64{2, 2, 5, 7}
	var cs []ortCase
	scales := map[string][]float32{"up 2x3": {1, 1, 2, 3}, "up 1.5x1.7": {1, 1, 1.5, 1.7}, "down 0.6x0.45": {1, 1, 0.6, 0.45}}
	order := []string{"up 2x3", "up 1.5x1.7", "down 0.6x0.45"}
	rs := func(b *builder, s []float32, attrs ...*onnx.Attribute) string {
		return b.op("Resize", []string{"x", "", b.floats(s...)}, attrs...)
	}
	str := onnx.StringAttr
	for _, coord := range []string{"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn"} {
		for _, nm := range []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"} {
			for _, k := range order {
				s := scales[k]
				cs = append(cs, ortCase{fmt.Sprintf("nearest %s %s %s", coord, nm, k), 13, in, func(b *builder) string {
					return rs(b, s, str("mode", "nearest"), str("coordinate_transformation_mode", coord), str("nearest_mode", nm))
				}, 0})
			}
		}
	}
	for _, coord := range []string{"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"} {
		for _, k := range order {
			s := scales[k]
			cs = append(cs, ortCase{fmt.Sprintf("linear %s %s", coord, k), 13, in, func(b *builder) string {
				return rs(b, s, str("mode", "linear"), str("coordinate_transformation_mode", coord))
			}, 0})
			cs = append(cs, ortCase{fmt.Sprintf("cubic %s %s", coord, k), 13, in, func(b *builder) string {
				return rs(b, s, str("mode", "cubic"), str("coordinate_transformation_mode", coord))
			}, 0})
		}
	}
	cs = append(cs,
		ortCase{"cubic a=-0.5 exclude_outside down", 13, in, func(b *builder) string {
			return rs(b, []float32{1, 1, 0.8, 0.6}, str("mode", "cubic"), onnx.FloatAttr("cubic_coeff_a", -0.5), onnx.IntAttr("exclude_outside", 1))
		}, 0},
		ortCase{"cubic exclude_outside up", 13, in, func(b *builder) string {
			return rs(b, []float32{1, 1, 2, 1.5}, str("mode", "cubic"), onnx.IntAttr("exclude_outside", 1))
		}, 0},
		ortCase{"linear tf_crop_and_resize roi extrapolation", 13, in, func(b *builder) string {
			roi := b.floats(0, 0, 0.2, -0.3, 1, 1, 0.9, 1.2)
			return b.op("Resize", []string{"x", roi, b.floats(1, 1, 1.6, 1.4)}, str("mode", "linear"), str("coordinate_transformation_mode", "tf_crop_and_resize"), onnx.FloatAttr("extrapolation_value", 10))
		}, 0},
		ortCase{"nearest tf_crop_and_resize roi", 13, in, func(b *builder) string {
			roi := b.floats(0, 0, 0.1, 0.3, 1, 1, 0.8, 0.9)
			return b.op("Resize", []string{"x", roi, b.floats(1, 1, 2, 2)}, str("mode", "nearest"), str("coordinate_transformation_mode", "tf_crop_and_resize"))
		}, 0},
		ortCase{"linear sizes", 13, in, func(b *builder) string {
			return b.op("Resize", []string{"x", "", "", b.ints(2, 2, 8, 4)}, str("mode", "linear"))
		}, 0},
		ortCase{"nearest sizes (opset 11, empty roi and scales)", 11, in, func(b *builder) string {
			return b.op("Resize", []string{"x", b.floats(), b.floats(), b.ints(2, 2, 9, 11)}, str("mode", "nearest"))
		}, 0},
		ortCase{"nearest on the channels", 13, in, func(b *builder) string {
			return rs(b, []float32{1, 2, 1, 1}, str("mode", "nearest"))
		}, 0},
		ortCase{"linear on the channels and rows", 13, in, func(b *builder) string {
			return rs(b, []float32{1, 1.5, 2, 1}, str("mode", "linear"), str("coordinate_transformation_mode", "align_corners"))
		}, 0},
		ortCase{"linear axes attribute (opset 18)", 18, in, func(b *builder) string {
			return b.op("Resize", []string{"x", "", b.floats(1.5, 0.5)}, str("mode", "linear"), iattr("axes", 2, 3))
		}, 0},
		ortCase{"sizes keep_aspect_ratio_policy not_larger (opset 18)", 18, in, func(b *builder) string {
			return b.op("Resize", []string{"x", "", "", b.ints(8, 8)}, str("mode", "linear"), iattr("axes", 2, 3), str("keep_aspect_ratio_policy", "not_larger"))
		}, 0},
		ortCase{"linear half_pixel_symmetric (opset 19)", 19, in, func(b *builder) string {
			return rs(b, []float32{1, 1, 1.7, 0.6}, str("mode", "linear"), str("coordinate_transformation_mode", "half_pixel_symmetric"))
		}, 0},
		ortCase{"Resize-10 nearest", 10, in, func(b *builder) string {
			return b.op("Resize", []string{"x", b.floats(1, 1, 2.5, 0.5)}, str("mode", "nearest"))
		}, 0},
		ortCase{"Resize-10 linear", 10, in, func(b *builder) string {
			return b.op("Resize", []string{"x", b.floats(1, 1, 2, 1.5)}, str("mode", "linear"))
		}, 0},
		ortCase{"Upsample-9 nearest", 9, in, func(b *builder) string {
			return b.op("Upsample", []string{"x", b.floats(1, 1, 2, 3)}, str("mode", "nearest"))
		}, 0},
		ortCase{"Upsample-9 linear", 9, in, func(b *builder) string {
			return b.op("Upsample", []string{"x", b.floats(1, 1, 2, 1.5)}, str("mode", "linear"))
		}, 0},
		ortCase{"Upsample-7 scales attribute", 7, in, func(b *builder) string {
			return b.op("Upsample", []string{"x"}, str("mode", "nearest"), fattr("scales", 1, 1, 3, 2))
		}, 0},
		ortCase{"conv after a 2x nearest upsample (the detector's neck)", 13, in, func(b *builder) string {
			r := rs(b, []float32{1, 1, 2, 2}, str("mode", "nearest"), str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor"))
			return b.op("Conv", []string{r, b.w(0.3, 4, 2, 3, 3)}, iattr("pads", 1, 1, 1, 1))
		}, 0},
	)
	return cs
}

// TestResize holds every resize case to onnxruntime.
func TestResize(t *testing.T) { checkCases(t, 14, resizeCases()) }
