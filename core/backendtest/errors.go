package backendtest

import (
	"fmt"
	"strings"
	"testing"

	"webcnn/core"
)

// errCase is a call that must fail with an error (never a panic) whose
// message names the op and the offending shapes: every string in want.
type errCase struct {
	name string
	call func() (*core.Tensor, error)
	want []string
}

// try runs f, turning a panic into an error that says so.
func try(f func() (*core.Tensor, error)) (y *core.Tensor, err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			y, err, panicked = nil, fmt.Errorf("panic: %v", r), true
		}
	}()
	y, err = f()
	return y, err, false
}

func testErrors(t *testing.T, b core.Backend) {
	z := func(s ...int) *core.Tensor { return tensor(t, b, shapeOf(s...), make([]float32, shapeOf(s...).Size())) }
	x := z(1, 5, 5, 3)
	x6 := z(1, 5, 5, 6)
	small := z(1, 3, 3, 1)
	m23, m43, m45 := z(2, 3), z(4, 3), z(4, 5)
	c4 := z(2, 2, 2, 4)
	g := core.NewRNG(1)
	cases := []errCase{
		{"conv_weight_channels", func() (*core.Tensor, error) { return core.Convolve(x, z(3, 3, 4, 8), nil, core.Conv{}) },
			[]string{"conv", "[1 5 5 3]", "[3 3 4 8]"}},
		{"conv_weight_rank", func() (*core.Tensor, error) { return core.Convolve(x, z(3, 3, 8), nil, core.Conv{}) },
			[]string{"conv", "[1 5 5 3]", "[3 3 8]"}},
		{"conv_input_rank", func() (*core.Tensor, error) { return core.Convolve(m23, z(3, 3, 3, 8), nil, core.Conv{}) },
			[]string{"conv", "[2 3]"}},
		{"conv_bias_size", func() (*core.Tensor, error) { return core.Convolve(x, z(3, 3, 3, 8), z(5), core.Conv{}) },
			[]string{"conv", "bias", "[5]", "[8]"}},
		{"conv_groups_not_dividing", func() (*core.Tensor, error) {
			return core.Convolve(x6, z(3, 3, 1, 8), nil, core.Conv{Groups: 4})
		}, []string{"conv", "groups", "[1 5 5 6]", "[3 3 1 8]"}},
		{"conv_groups_not_dividing_cout", func() (*core.Tensor, error) {
			return core.Convolve(x6, z(3, 3, 2, 7), nil, core.Conv{Groups: 3})
		}, []string{"conv", "groups", "[1 5 5 6]", "[3 3 2 7]"}},
		{"conv_kernel_larger_than_input", func() (*core.Tensor, error) { return core.Convolve(small, z(5, 5, 1, 1), nil, core.Conv{}) },
			[]string{"conv", "[1 3 3 1]", "[5 5"}},
		{"conv_dilated_kernel_larger", func() (*core.Tensor, error) {
			return core.Convolve(small, z(2, 2, 1, 1), nil, core.Conv{Dilation: []int{3, 3}})
		}, []string{"conv", "[1 3 3 1]"}},
		{"conv_stride_zero", func() (*core.Tensor, error) {
			return core.Convolve(small, z(1, 1, 1, 1), nil, core.Conv{Stride: []int{0, 1}})
		}, []string{"conv", "stride", "[1 3 3 1]"}},
		{"conv_padding_entries", func() (*core.Tensor, error) {
			return core.Convolve(small, z(1, 1, 1, 1), nil, core.Conv{PadBefore: []int{1}})
		}, []string{"conv", "[1 3 3 1]"}},
		{"conv_unknown_activation", func() (*core.Tensor, error) {
			return core.Convolve(small, z(1, 1, 1, 1), nil, core.Conv{Act: core.Unary{Op: 1000}})
		}, []string{"conv", "unknown"}},
		{"pool_kernel_larger_than_input", func() (*core.Tensor, error) {
			return core.PoolND(small, core.Pool{Op: core.MaxPool, Kernel: []int{4, 4}})
		}, []string{"pool", "[1 3 3 1]", "[4 4]"}},
		{"pool_no_kernel", func() (*core.Tensor, error) { return core.PoolND(small, core.Pool{Op: core.AvgPool}) },
			[]string{"pool", "[1 3 3 1]"}},
		{"pool_kernel_entries", func() (*core.Tensor, error) {
			return core.PoolND(small, core.Pool{Op: core.AvgPool, Kernel: []int{2}})
		}, []string{"pool", "[1 3 3 1]"}},
		{"binary_not_broadcastable", func() (*core.Tensor, error) { return core.Elementwise(m23, m43, core.Add) },
			[]string{"add", "[2 3]", "[4 3]"}},
		{"binary_not_broadcastable_rank", func() (*core.Tensor, error) { return core.Elementwise(c4, z(3), core.Mul) },
			[]string{"mul", "[2 2 2 4]", "[3]"}},
		{"matmul_inner", func() (*core.Tensor, error) { return core.MatMulT(m23, m45, nil, core.MatMul{}) },
			[]string{"matmul", "[2 3]", "[4 5]"}},
		{"matmul_bias_size", func() (*core.Tensor, error) { return core.MatMulT(m23, z(3, 5), z(4), core.MatMul{}) },
			[]string{"matmul", "bias", "[4]", "[5]"}},
		{"dense_features", func() (*core.Tensor, error) { return core.Dense(c4, z(15, 3), nil, core.Unary{}) },
			[]string{"dense", "[2 2 2 4]", "[15 3]"}},
		{"concat_mismatch", func() (*core.Tensor, error) { return core.Concat(1, m23, m45) },
			[]string{"concat", "[2 3]", "[4 5]"}},
		{"concat_axis", func() (*core.Tensor, error) { return core.Concat(2, m23, m23) },
			[]string{"concat", "[2 3]"}},
		{"slice_outside", func() (*core.Tensor, error) { return core.Slice(m23, 1, 2, 2) },
			[]string{"slice", "[2 3]"}},
		{"split_sizes", func() (*core.Tensor, error) {
			ps, err := core.Split(c4, -1, 1, 2)
			if len(ps) > 0 {
				return ps[0], err
			}
			return nil, err
		}, []string{"split", "[2 2 2 4]"}},
		{"pad_entries", func() (*core.Tensor, error) { return core.Pad(m23, []int{1}, []int{1}, 0) },
			[]string{"pad", "[2 3]"}},
		{"pad_negative", func() (*core.Tensor, error) { return core.Pad(m23, []int{0, -1}, []int{0, 0}, 0) },
			[]string{"pad", "[2 3]"}},
		{"transpose_not_permutation", func() (*core.Tensor, error) { return core.Transpose(c4, 0, 1, 1, 2) },
			[]string{"transpose", "[2 2 2 4]"}},
		{"reduce_axis", func() (*core.Tensor, error) { return core.Reduce(m23, core.Sum, 2) },
			[]string{"reduce", "[2 3]"}},
		{"softmax_axis", func() (*core.Tensor, error) { return core.Softmax(m23, 3) },
			[]string{"softmax", "[2 3]"}},
		{"maxout_channels", func() (*core.Tensor, error) { return core.Maxout(x, 2) },
			[]string{"maxout", "[1 5 5 3]"}},
		{"batch_norm_gamma", func() (*core.Tensor, error) { return core.BatchNorm(c4, z(3), z(4), z(4), z(4), 1e-5) },
			[]string{"batch norm", "gamma", "[3]", "[4]"}},
		{"batch_norm_train_one_value", func() (*core.Tensor, error) {
			return core.BatchNormTrain(z(1, 4), z(4), z(4), z(4), z(4), 0.1, 1e-5)
		}, []string{"batch norm", "[1 4]"}},
		{"layer_norm_gamma", func() (*core.Tensor, error) { return core.LayerNorm(c4, z(3), z(3), 1e-5) },
			[]string{"layer norm", "[3]", "[2 2 2 4]"}},
		{"group_norm_groups", func() (*core.Tensor, error) { return core.GroupNorm(c4, 3, z(4), z(4), 1e-5) },
			[]string{"group norm", "[2 2 2 4]"}},
		{"lrn_size", func() (*core.Tensor, error) { return core.LRN(c4, 0, 1, 1, 1) },
			[]string{"lrn"}},
		{"dropout_p_one", func() (*core.Tensor, error) { return core.Dropout(c4, 1, g, core.Training) },
			[]string{"dropout", "1"}},
		{"dropout_negative_p", func() (*core.Tensor, error) { return core.SpatialDropout(c4, -0.1, g, core.Training) },
			[]string{"spatial dropout"}},
		{"dropout_training_without_rng", func() (*core.Tensor, error) { return core.StochasticDepth(c4, 0.5, nil, core.Training) },
			[]string{"stochastic depth", "RNG"}},
		{"unknown_unary", func() (*core.Tensor, error) { return core.Apply(m23, core.Unary{Op: 1000}) },
			[]string{"unknown unary"}},
		{"squeeze_excite_channels", func() (*core.Tensor, error) {
			return core.SqueezeExcite(c4, z(4, 2), nil, z(2, 3), nil, core.Act(core.ReLU), core.Act(core.Sigmoid))
		}, []string{"squeeze-excite", "[2 2 2 4]"}},
		{"separable_filter_shapes", func() (*core.Tensor, error) {
			return core.SpatialSeparableConv2D(x, z(3, 3, 3, 2), z(1, 3, 2, 2), nil, core.Same, core.Unary{})
		}, []string{"separable", "[3 3 3 2]"}},
		{"flattened_filter_shapes", func() (*core.Tensor, error) {
			return core.FlattenedConv2D(x, z(1, 1, 3, 2), z(3, 3, 1, 2), z(1, 3, 1, 2), nil, core.Same, core.Unary{})
		}, []string{"flattened", "[3 3 1 2]"}},
		{"depthwise_separable_pointwise", func() (*core.Tensor, error) {
			return core.DepthwiseSeparableConv2D(x, z(3, 3, 1, 3), nil, z(1, 1, 4, 8), nil, core.Conv{}, core.Unary{}, core.Unary{})
		}, []string{"depthwise separable", "pointwise", "[1 1 4 8]"}},
		{"layer_norm_nil_gamma", func() (*core.Tensor, error) { return core.LayerNorm(c4, nil, z(4), 1e-5) },
			[]string{"layer norm", "gamma"}},
	}
	// Rank-0 (scalar) inputs to ops that read a channel axis.
	sc := tensor(t, b, core.Shape{}, []float32{1})
	cases = append(cases,
		errCase{"scalar_maxout", func() (*core.Tensor, error) { return core.Maxout(sc, 1) }, []string{"maxout", "[]"}},
		errCase{"scalar_batch_norm", func() (*core.Tensor, error) { return core.BatchNorm(sc, sc, sc, sc, sc, 1e-5) }, []string{"batch norm", "[]"}},
		errCase{"scalar_batch_norm_train", func() (*core.Tensor, error) {
			return core.BatchNormTrain(sc, sc, sc, sc, sc, 0.1, 1e-5)
		}, []string{"batch norm", "[]"}},
		errCase{"scalar_group_norm", func() (*core.Tensor, error) { return core.GroupNorm(sc, 1, sc, sc, 1e-5) }, []string{"group norm", "[]"}},
		errCase{"scalar_instance_norm", func() (*core.Tensor, error) { return core.InstanceNorm(sc, sc, sc, 1e-5) }, []string{"norm", "[]"}},
		errCase{"scalar_lrn", func() (*core.Tensor, error) { return core.LRN(sc, 1, 1, 1, 1) }, []string{"lrn", "[]"}},
		errCase{"scalar_spatial_dropout", func() (*core.Tensor, error) { return core.SpatialDropout(sc, 0.5, g, core.Training) },
			[]string{"spatial dropout", "[]"}},
		errCase{"scalar_stochastic_depth", func() (*core.Tensor, error) { return core.StochasticDepth(sc, 0.5, g, core.Training) },
			[]string{"stochastic depth", "[]"}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y, err, panicked := try(c.call)
			if panicked {
				t.Fatalf("%s: %v (want an error value)", c.name, err)
			}
			if err == nil {
				if y != nil {
					y.Free()
				}
				t.Fatalf("%s: no error", c.name)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not mention %q", c.name, err, w)
				}
			}
		})
	}
	t.Run("reshape", func(t *testing.T) {
		_, err := m23.Reshape(4, 2)
		if err == nil || !strings.Contains(err.Error(), "reshape") || !strings.Contains(err.Error(), "[2 3]") {
			t.Errorf("reshape [2 3] to [4 2]: error %v, want one naming reshape and [2 3]", err)
		}
	})
	t.Run("kernel_fits_with_padding", func(t *testing.T) {
		// The counterpart of kernel_larger_than_input: 3 + 1 + 1 = 5 fits a
		// 5x5 kernel, giving one output: the sum of the 3x3 input (hand).
		v := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
		y := must(t, "conv")(core.Convolve(tensor(t, b, shapeOf(1, 3, 3, 1), v), tensor(t, b, shapeOf(5, 5, 1, 1), ones(25)), nil,
			core.Conv{PadBefore: []int{1, 1}, PadAfter: []int{1, 1}}))
		expectTensor(t, "5x5 ones on 3x3 padded by 1", y, shapeOf(1, 1, 1, 1), []float64{45}, exact)
	})
}
