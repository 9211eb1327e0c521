package onnximport

import (
	"testing"

	"webcnn/tools/convert/onnx"
)

// TestConvTranspose holds ConvTranspose's attributes to onnxruntime:
// strides, pads, output_padding, output_shape, dilations, groups,
// auto_pad (an odd total padding too), 1-D and 3-D.
func TestConvTranspose(t *testing.T) {
	in := []int64{2, 4, 5, 6}
	ct := func(b *builder, w string, attrs ...*onnx.Attribute) string {
		return b.op("ConvTranspose", []string{"x", w}, attrs...)
	}
	str := onnx.StringAttr
	checkCases(t, 15, []ortCase{
		{"3x3 stride 1", 13, in, func(b *builder) string { return ct(b, b.w(0.3, 4, 3, 3, 3)) }, 0},
		{"2x2 stride 2 bias (the detector's head)", 11, in, func(b *builder) string {
			return b.op("ConvTranspose", []string{"x", b.w(0.3, 4, 3, 2, 2), b.w(0.5, 3)}, iattr("strides", 2, 2))
		}, 0},
		{"stride 2 pads output_padding", 13, in, func(b *builder) string {
			return ct(b, b.w(0.3, 4, 3, 3, 3), iattr("strides", 2, 2), iattr("pads", 1, 0, 1, 2), iattr("output_padding", 1, 0))
		}, 0},
		{"dilations 2 group 2", 13, in, func(b *builder) string {
			return ct(b, b.w(0.3, 4, 3, 3, 2), iattr("dilations", 2, 2), onnx.IntAttr("group", 2))
		}, 0},
		{"depthwise stride 3", 13, in, func(b *builder) string {
			return ct(b, b.w(0.3, 4, 1, 3, 3), iattr("strides", 3, 3), onnx.IntAttr("group", 4))
		}, 0},
		{"SAME_UPPER stride 2 kernel 4 (odd total)", 13, in, func(b *builder) string {
			return ct(b, b.w(0.3, 4, 3, 3, 4), str("auto_pad", "SAME_UPPER"), iattr("strides", 2, 2))
		}, 0},
		{"SAME_LOWER stride 2 kernel 3", 13, in, func(b *builder) string {
			return ct(b, b.w(0.3, 4, 3, 3, 3), str("auto_pad", "SAME_LOWER"), iattr("strides", 2, 2))
		}, 0},
		{"output_shape stride 3", 13, in, func(b *builder) string {
			return ct(b, b.w(0.3, 4, 3, 3, 3), iattr("strides", 3, 3), iattr("output_shape", 14, 17))
		}, 0},
		{"1-D stride 2", 13, []int64{2, 3, 7}, func(b *builder) string {
			return ct(b, b.w(0.3, 3, 5, 4), iattr("strides", 2), iattr("pads", 1, 2))
		}, 0},
		{"3-D stride 2", 13, []int64{1, 2, 3, 4, 3}, func(b *builder) string {
			return ct(b, b.w(0.3, 2, 3, 2, 3, 2), iattr("strides", 2, 1, 2))
		}, 0},
		{"conv transpose then batch norm and relu", 11, in, func(b *builder) string {
			c := ct(b, b.w(0.3, 4, 3, 2, 2), iattr("strides", 2, 2))
			n := b.op("BatchNormalization", []string{c, b.pos(0.5, 1.5, 3), b.w(0.5, 3), b.w(0.5, 3), b.pos(0.2, 2, 3)})
			return b.op("Relu", []string{n})
		}, 0},
	})
}
