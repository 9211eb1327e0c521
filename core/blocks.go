package core

import "fmt"

// SqueezeExcite is the squeeze-and-excitation block: squeeze each channel
// to its global average, excite through two dense layers (w1 [C, C/r] with
// act, w2 [C/r, C] with gate: ReLU and sigmoid in SENet, hard-sigmoid in
// MobileNetV3), then scale every channel of x by its gate.
func SqueezeExcite(x, w1, b1, w2, b2 *Tensor, act, gate Unary) (*Tensor, error) {
	s := x.Shape()
	c, err := channels("squeeze-excite", x)
	if err != nil {
		return nil, err
	}
	sq, err := GlobalAvgPool(x)
	if err != nil {
		return nil, fmt.Errorf("squeeze-excite: %w", err)
	}
	defer sq.Free()
	h, err := Dense(sq, w1, b1, act)
	if err != nil {
		return nil, fmt.Errorf("squeeze-excite: squeeze layer: %w", err)
	}
	defer h.Free()
	e, err := Dense(h, w2, b2, gate)
	if err != nil {
		return nil, fmt.Errorf("squeeze-excite: excite layer: %w", err)
	}
	defer e.Free()
	if e.Shape()[1] != c {
		return nil, fmt.Errorf("squeeze-excite: excite layer gives %d channels, input %v has %d", e.Shape()[1], s, c)
	}
	g, err := e.Reshape(sq.Shape()...)
	if err != nil {
		return nil, err
	}
	return Elementwise(x, g, Mul)
}

// SpatialSeparableConv2D approximates a k x k filter by a k x 1 filter
// then a 1 x k filter: wCol is [k, 1, Cin, Cmid], wRow is [1, k, Cmid, Cout].
// pad applies to each axis in the pass that convolves it; stride is 1.
func SpatialSeparableConv2D(x, wCol, wRow, bias *Tensor, pad Padding, act Unary) (*Tensor, error) {
	kc, kr := wCol.Shape(), wRow.Shape()
	if kc.Rank() != 4 || kr.Rank() != 4 || kc[1] != 1 || kr[0] != 1 {
		return nil, fmt.Errorf("spatial separable conv: want column [k,1,Cin,Cmid] and row [1,k,Cmid,Cout] filters, got %v and %v", kc, kr)
	}
	p := ConvPadding(Conv{}, x.Shape(), []int{kc[0], 1}, pad)
	y, err := Convolve(x, wCol, nil, p)
	if err != nil {
		return nil, fmt.Errorf("spatial separable conv: column pass: %w", err)
	}
	defer y.Free()
	p = ConvPadding(Conv{Act: act}, y.Shape(), []int{1, kr[1]}, pad)
	return Convolve(y, wRow, bias, p)
}

// DepthwiseSeparableConv2D is a depthwise conv (dw [k, k, 1, Cin]: one
// filter per input channel) followed by a 1x1 pointwise conv
// (pw [1, 1, Cin, Cout]), as in MobileNet and Xception. The depthwise pass
// takes p (stride, padding, dilation) with act; the pointwise pass has bias
// and pwAct.
func DepthwiseSeparableConv2D(x, dw, dwBias, pw, pwBias *Tensor, p Conv, act, pwAct Unary) (*Tensor, error) {
	c, err := channels("depthwise separable conv", x)
	if err != nil {
		return nil, err
	}
	p.Groups = c
	p.Act = act
	y, err := Convolve(x, dw, dwBias, p)
	if err != nil {
		return nil, fmt.Errorf("depthwise separable conv: depthwise pass: %w", err)
	}
	defer y.Free()
	z, err := Convolve(y, pw, pwBias, Conv{Act: pwAct})
	if err != nil {
		return nil, fmt.Errorf("depthwise separable conv: pointwise pass: %w", err)
	}
	return z, nil
}

// FlattenedConv2D is the flattened convolution of Jin et al.: a full 3-D
// filter Cin x k x k is replaced by three 1-D filters applied in turn, a
// lateral one across channels (lat [1, 1, Cin, F]), a vertical one
// (vert [k, 1, 1, F], per channel) and a horizontal one (hor [1, k, 1, F],
// per channel): (Cin + k + k) x F parameters instead of Cin x k x k x F.
func FlattenedConv2D(x, lat, vert, hor, bias *Tensor, pad Padding, act Unary) (*Tensor, error) {
	ls, vs, hs := lat.Shape(), vert.Shape(), hor.Shape()
	if ls.Rank() != 4 || vs.Rank() != 4 || hs.Rank() != 4 || ls[0] != 1 || ls[1] != 1 || vs[1] != 1 || vs[2] != 1 || hs[0] != 1 || hs[2] != 1 {
		return nil, fmt.Errorf("flattened conv: want lateral [1,1,Cin,F], vertical [k,1,1,F], horizontal [1,k,1,F], got %v, %v, %v", ls, vs, hs)
	}
	f := ls[3]
	y, err := Convolve(x, lat, nil, Conv{})
	if err != nil {
		return nil, fmt.Errorf("flattened conv: lateral pass: %w", err)
	}
	defer y.Free()
	p := ConvPadding(Conv{Groups: f}, y.Shape(), []int{vs[0], 1}, pad)
	z, err := Convolve(y, vert, nil, p)
	if err != nil {
		return nil, fmt.Errorf("flattened conv: vertical pass: %w", err)
	}
	defer z.Free()
	p = ConvPadding(Conv{Groups: f, Act: act}, z.Shape(), []int{1, hs[1]}, pad)
	return Convolve(z, hor, bias, p)
}
