package backendtest

import (
	"math"
	"testing"

	"webcnn/core"
)

// normGroups normalizes x in float64 where group(i) names the set element
// i belongs to: y = (x - mean) / sqrt(var + eps) with the mean and the
// biased variance (divided by the count) of the set.
func normGroups(x []float64, eps float64, group func(i int) int, n int) []float64 {
	sum, cnt := make([]float64, n), make([]float64, n)
	for i, v := range x {
		sum[group(i)] += v
		cnt[group(i)]++
	}
	mean := make([]float64, n)
	for j := range mean {
		mean[j] = sum[j] / cnt[j]
	}
	vs := make([]float64, n)
	for i, v := range x {
		d := v - mean[group(i)]
		vs[group(i)] += d * d
	}
	y := make([]float64, len(x))
	for i, v := range x {
		j := group(i)
		y[i] = (v - mean[j]) / math.Sqrt(vs[j]/cnt[j]+eps)
	}
	return y
}

// refGroupNorm: each sample's group of C/G consecutive channels, over all
// spatial positions, normalized, then y*gamma[c] + beta[c].
func refGroupNorm(x []float64, xs core.Shape, groups int, gamma, beta []float64, eps float64) []float64 {
	c := xs[len(xs)-1]
	per := xs.Size() / xs[0]
	y := normGroups(x, eps, func(i int) int { return (i/per)*groups + (i%c)/(c/groups) }, xs[0]*groups)
	for i := range y {
		y[i] = y[i]*gamma[i%c] + beta[i%c]
	}
	return y
}

// refLRN is local response normalization written from its definition:
// y[c] = x[c] / (k + alpha/size * sum_{j = max(0, c-size/2)}^{min(C-1, c+(size-1)/2)} x[j]^2)^beta.
func refLRN(x []float64, c, size int, alpha, beta, k float64) []float64 {
	y := make([]float64, len(x))
	for i := range x {
		base, ch := i-i%c, i%c
		s := 0.0
		for j := max(0, ch-size/2); j <= min(c-1, ch+(size-1)/2); j++ {
			s += x[base+j] * x[base+j]
		}
		y[i] = x[i] / math.Pow(k+alpha/float64(size)*s, beta)
	}
	return y
}

func testNorm(t *testing.T, b core.Backend) {
	g := core.NewRNG(27)
	const eps = 1e-5
	t.Run("batch_norm_hand", func(t *testing.T) {
		// Hand, eps 0, mean 1, var 4, gamma 3, beta 1: (x - 1)/2*3 + 1 on 1, 3, 5 gives 1, 4, 7.
		x := tensor(t, b, shapeOf(3, 1), []float32{1, 3, 5})
		y := must(t, "batch norm")(core.BatchNorm(x, tensor(t, b, shapeOf(1), []float32{3}), tensor(t, b, shapeOf(1), []float32{1}),
			tensor(t, b, shapeOf(1), []float32{1}), tensor(t, b, shapeOf(1), []float32{4}), 0))
		expectTensor(t, "batch norm hand", y, shapeOf(3, 1), []float64{1, 4, 7}, rounding)
	})
	t.Run("batch_norm_inference", func(t *testing.T) {
		// y = (x - mean)/sqrt(var + eps)*gamma + beta per channel, float64.
		for _, s := range []core.Shape{shapeOf(2, 3, 3, 4), shapeOf(2, 5, 17), shapeOf(1, 2, 2, 2, 3), shapeOf(4, 5)} {
			c := s[len(s)-1]
			xv, gv, bv := normals(g, s.Size(), 1, 2), normals(g, c, 1, 0.5), normals(g, c, 0, 1)
			mv, vv := normals(g, c, 1, 1), uniform(g, c, 0.5, 3)
			want := make([]float64, len(xv))
			for i, x := range xv {
				j := i % c
				want[i] = (float64(x)-float64(mv[j]))/math.Sqrt(float64(vv[j])+eps)*float64(gv[j]) + float64(bv[j])
			}
			what := desc("batch norm %v eps %g", s, eps)
			y := must(t, what)(core.BatchNorm(tensor(t, b, s, xv), tensor(t, b, shapeOf(c), gv), tensor(t, b, shapeOf(c), bv),
				tensor(t, b, shapeOf(c), mv), tensor(t, b, shapeOf(c), vv), eps))
			expectTensor(t, what, y, s, want, rounding)
		}
	})
	t.Run("batch_norm_train", func(t *testing.T) {
		// Training mode, float64: batch mean and biased variance over every
		// axis but the channels normalize x; the running mean moves to
		// (1-m)*run + m*mean and the running variance to
		// (1-m)*run + m*var*n/(n-1) (unbiased, PyTorch's convention).
		for _, s := range []core.Shape{shapeOf(3, 2, 2, 4), shapeOf(2, 5, 3), shapeOf(8, 6)} {
			c := s[len(s)-1]
			n := s.Size() / c
			const momentum = 0.1
			xv, gv, bv := normals(g, s.Size(), 2, 3), normals(g, c, 1, 0.5), normals(g, c, 0, 1)
			rm, rv := normals(g, c, 0, 1), uniform(g, c, 0.5, 2)
			x64 := f64(xv)
			want := normGroups(x64, eps, func(i int) int { return i % c }, c)
			mean, vr := make([]float64, c), make([]float64, c)
			for i, v := range x64 {
				mean[i%c] += v / float64(n)
			}
			for i, v := range x64 {
				vr[i%c] += (v - mean[i%c]) * (v - mean[i%c]) / float64(n)
			}
			wantRM, wantRV := make([]float64, c), make([]float64, c)
			for j := 0; j < c; j++ {
				wantRM[j] = (1-momentum)*float64(rm[j]) + momentum*mean[j]
				wantRV[j] = (1-momentum)*float64(rv[j]) + momentum*vr[j]*float64(n)/float64(n-1)
			}
			for i := range want {
				want[i] = want[i]*float64(gv[i%c]) + float64(bv[i%c])
			}
			runMean, runVar := tensor(t, b, shapeOf(c), rm), tensor(t, b, shapeOf(c), rv)
			what := desc("batch norm train %v momentum %g eps %g", s, momentum, eps)
			y := must(t, what)(core.BatchNormTrain(tensor(t, b, s, xv), tensor(t, b, shapeOf(c), gv), tensor(t, b, shapeOf(c), bv), runMean, runVar, momentum, eps))
			expectTensor(t, what, y, s, want, rounding)
			expectTensor(t, what+" running mean", runMean, shapeOf(c), wantRM, rounding)
			expectTensor(t, what+" running var", runVar, shapeOf(c), wantRV, rounding)
		}
	})
	t.Run("layer_norm", func(t *testing.T) {
		// Each sample normalized over the trailing axes of gamma's shape,
		// then scaled and shifted elementwise: float64 reference.
		for _, c := range []struct{ s, gs core.Shape }{
			{shapeOf(2, 3, 4, 5), shapeOf(5)},       // ConvNeXt: over [C]
			{shapeOf(2, 3, 4, 5), shapeOf(3, 4, 5)}, // the lecture: over [H, W, C]
			{shapeOf(3, 17), shapeOf(17)},           // a transformer token
			{shapeOf(2, 2, 3, 4, 2), shapeOf(4, 2)},
		} {
			inner := c.gs.Size()
			xv, gv, bv := normals(g, c.s.Size(), 1, 2), normals(g, inner, 1, 0.5), normals(g, inner, 0, 1)
			want := normGroups(f64(xv), eps, func(i int) int { return i / inner }, c.s.Size()/inner)
			for i := range want {
				want[i] = want[i]*float64(gv[i%inner]) + float64(bv[i%inner])
			}
			what := desc("layer norm %v over %v", c.s, c.gs)
			y := must(t, what)(core.LayerNorm(tensor(t, b, c.s, xv), tensor(t, b, c.gs, gv), tensor(t, b, c.gs, bv), eps))
			expectTensor(t, what, y, c.s, want, rounding)
		}
	})
	t.Run("group_norm", func(t *testing.T) {
		s := shapeOf(2, 3, 4, 6)
		c := 6
		xv, gv, bv := normals(g, s.Size(), -1, 3), normals(g, c, 1, 0.5), normals(g, c, 0, 1)
		for _, groups := range []int{1, 2, 3, 6} {
			want := refGroupNorm(f64(xv), s, groups, f64(gv), f64(bv), eps)
			what := desc("group norm %v groups %d", s, groups)
			y := must(t, what)(core.GroupNorm(tensor(t, b, s, xv), groups, tensor(t, b, shapeOf(c), gv), tensor(t, b, shapeOf(c), bv), eps))
			expectTensor(t, what, y, s, want, rounding)
		}
		// 1-D and 3-D inputs.
		for _, s := range []core.Shape{shapeOf(2, 7, 4), shapeOf(1, 2, 3, 2, 4)} {
			xv, gv, bv := normals(g, s.Size(), 0, 2), normals(g, 4, 1, 0.5), normals(g, 4, 0, 1)
			want := refGroupNorm(f64(xv), s, 2, f64(gv), f64(bv), eps)
			what := desc("group norm %v groups 2", s)
			y := must(t, what)(core.GroupNorm(tensor(t, b, s, xv), 2, tensor(t, b, shapeOf(4), gv), tensor(t, b, shapeOf(4), bv), eps))
			expectTensor(t, what, y, s, want, rounding)
		}
	})
	t.Run("instance_norm", func(t *testing.T) {
		// Each (sample, channel) map normalized over its spatial positions:
		// float64, sets indexed by (n, c).
		s := shapeOf(2, 3, 5, 4)
		c := 4
		per := s.Size() / s[0]
		xv, gv, bv := normals(g, s.Size(), 2, 3), normals(g, c, 1, 0.5), normals(g, c, 0, 1)
		want := normGroups(f64(xv), eps, func(i int) int { return (i/per)*c + i%c }, s[0]*c)
		for i := range want {
			want[i] = want[i]*float64(gv[i%c]) + float64(bv[i%c])
		}
		what := desc("instance norm %v", s)
		y := must(t, what)(core.InstanceNorm(tensor(t, b, s, xv), tensor(t, b, shapeOf(c), gv), tensor(t, b, shapeOf(c), bv), eps))
		expectTensor(t, what, y, s, want, rounding)
	})
	t.Run("lrn", func(t *testing.T) {
		// Hand: one channel, size 1: y = x / (k + alpha*x^2)^beta; with
		// x = 2, k = 1, alpha = 0.75, beta = 0.5: 2 / sqrt(1 + 3) = 1.
		y := must(t, "lrn")(core.LRN(tensor(t, b, shapeOf(1, 1), []float32{2}), 1, 0.75, 0.5, 1))
		expectTensor(t, "lrn hand", y, shapeOf(1, 1), []float64{1}, rounding)
		for _, c := range []struct {
			s              core.Shape
			size           int
			alpha, beta, k float64
			note           string
		}{
			{shapeOf(2, 3, 3, 7), 5, 5e-4, 0.75, 2, "AlexNet (paper alpha 1e-4 times size 5)"},
			{shapeOf(2, 3, 3, 7), 5, 1, 0.75, 2, "strong alpha"},
			{shapeOf(2, 2, 2, 7), 3, 0.5, 0.75, 1, "size 3"},
			{shapeOf(1, 2, 3, 6), 4, 0.8, 0.5, 1, "even size: window c-2..c+1"},
			{shapeOf(1, 2, 2, 5), 7, 1, 1, 1, "window wider than the channels"},
			{shapeOf(3, 4), 2, 1, 0.75, 1, "rank 2"},
		} {
			xv := normals(g, c.s.Size(), 0, 2)
			want := refLRN(f64(xv), c.s[len(c.s)-1], c.size, c.alpha, c.beta, c.k)
			what := desc("lrn %v size %d alpha %g beta %g k %g (%s)", c.s, c.size, c.alpha, c.beta, c.k, c.note)
			y := must(t, what)(core.LRN(tensor(t, b, c.s, xv), c.size, float32(c.alpha), float32(c.beta), float32(c.k)))
			expectTensor(t, what, y, c.s, want, rounding)
		}
	})
}
