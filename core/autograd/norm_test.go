package autograd_test

import (
	"fmt"
	"math"
	"testing"

	"webcnn/core"
	"webcnn/core/autograd"
)

// TestBatchNormTrainGrad differentiates core.BatchNormTrain (batch
// statistics) with respect to x, gamma and beta.
func TestBatchNormTrainGrad(t *testing.T) {
	for _, xs := range []core.Shape{{4, 3, 3, 2}, {6, 5}} {
		b := backends[1]
		g := core.NewRNG(17)
		c := xs[xs.Rank()-1]
		x := tensor(t, b, xs, randn(g, xs.Size(), 2))
		gamma := tensor(t, b, core.Shape{c}, randn(g, c, 1))
		beta := tensor(t, b, core.Shape{c}, randn(g, c, 1))
		rm, _ := core.New(b, core.Shape{c})
		rv, _ := core.New(b, core.Shape{c})
		fwd := func() (*core.Tensor, error) { return core.BatchNormTrain(x, gamma, beta, rm, rv, 0.1, 1e-5) }
		axes := make([]int, xs.Rank()-1)
		for i := range axes {
			axes[i] = i
		}
		n, err := autograd.Normalize(x, 1e-5, axes...)
		if err != nil {
			t.Fatal(err)
		}
		r := randn(g, xs.Size(), 1)
		dy := tensor(t, b, xs, r)
		dxhat, dgamma, dbeta, err := autograd.AffineGrad(n.XHat, gamma, gamma.Shape(), dy, true)
		if err != nil {
			t.Fatal(err)
		}
		dx, err := n.Grad(dxhat)
		if err != nil {
			t.Fatal(err)
		}
		check(t, fmt.Sprintf("%v dx", xs), x, r, fwd, dx)
		check(t, fmt.Sprintf("%v dgamma", xs), gamma, r, fwd, dgamma)
		check(t, fmt.Sprintf("%v dbeta", xs), beta, r, fwd, dbeta)
	}
}

// TestLayerNormGrad differentiates core.LayerNorm over [C] (ConvNeXt) and
// over [H, W, C] (the lecture's whole-layer normalization).
func TestLayerNormGrad(t *testing.T) {
	xs := core.Shape{2, 3, 2, 4}
	for _, k := range []int{1, 3} {
		b := backends[1]
		g := core.NewRNG(19)
		gs := xs[xs.Rank()-k:].Clone()
		x := tensor(t, b, xs, randn(g, xs.Size(), 2))
		gamma := tensor(t, b, gs, randn(g, gs.Size(), 1))
		beta := tensor(t, b, gs, randn(g, gs.Size(), 1))
		fwd := func() (*core.Tensor, error) { return core.LayerNorm(x, gamma, beta, 1e-5) }
		axes := make([]int, k)
		for i := range axes {
			axes[i] = xs.Rank() - k + i
		}
		n, err := autograd.Normalize(x, 1e-5, axes...)
		if err != nil {
			t.Fatal(err)
		}
		r := randn(g, xs.Size(), 1)
		dy := tensor(t, b, xs, r)
		dxhat, dgamma, dbeta, err := autograd.AffineGrad(n.XHat, gamma, gs, dy, true)
		if err != nil {
			t.Fatal(err)
		}
		dx, err := n.Grad(dxhat)
		if err != nil {
			t.Fatal(err)
		}
		check(t, fmt.Sprintf("over %v dx", gs), x, r, fwd, dx)
		check(t, fmt.Sprintf("over %v dgamma", gs), gamma, r, fwd, dgamma)
		check(t, fmt.Sprintf("over %v dbeta", gs), beta, r, fwd, dbeta)
	}
}

// TestSoftmaxCrossEntropy checks the loss value against the definition in
// float64 and its gradient against central differences of the loss.
func TestSoftmaxCrossEntropy(t *testing.T) {
	b := backends[1]
	g := core.NewRNG(23)
	labels := []int{0, 3, 2, 3, 1}
	for _, smooth := range []float32{0, 0.1} {
		zv := randn(g, 5*4, 2)
		z := tensor(t, b, core.Shape{5, 4}, zv)
		loss, grad, err := autograd.SoftmaxCrossEntropy(z, labels, smooth)
		if err != nil {
			t.Fatal(err)
		}
		// -1/N sum_i sum_c q_ic (z_ic - log sum_j e^z_ij)
		var want float64
		for i, l := range labels {
			var s float64
			for c := 0; c < 4; c++ {
				s += math.Exp(float64(zv[i*4+c]))
			}
			for c := 0; c < 4; c++ {
				q := float64(smooth) / 4
				if c == l {
					q += 1 - float64(smooth)
				}
				want -= q * (float64(zv[i*4+c]) - math.Log(s))
			}
		}
		want /= 5
		if math.Abs(float64(loss)-want) > 1e-6*math.Abs(want) {
			t.Errorf("smoothing %v: loss %v, want %v", smooth, loss, want)
		}
		num, err := autograd.NumericGrad(z, eps, func() (float64, error) {
			l, g, err := autograd.SoftmaxCrossEntropy(z, labels, smooth)
			g.Free()
			return float64(l), err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := grad.Data()
		if err := autograd.Close(got, num, tol, floor, atol); err != nil {
			t.Errorf("smoothing %v: gradient: %v", smooth, err)
		}
	}
	if _, _, err := autograd.SoftmaxCrossEntropy(tensor(t, b, core.Shape{1, 3}, []float32{1, 2, 3}), []int{3}, 0); err == nil {
		t.Error("label 3 of 3 classes: no error")
	}
}

// TestGroupNormGrad differentiates core.GroupNorm (2 groups of 2
// channels) with the shared Normalized rule: x viewed as [N, H, W, G, C/G]
// is normalized over H, W and C/G.
func TestGroupNormGrad(t *testing.T) {
	b := backends[1]
	g := core.NewRNG(29)
	xs := core.Shape{2, 3, 2, 4}
	x := tensor(t, b, xs, randn(g, xs.Size(), 2))
	gamma := tensor(t, b, core.Shape{4}, randn(g, 4, 1))
	beta := tensor(t, b, core.Shape{4}, randn(g, 4, 1))
	fwd := func() (*core.Tensor, error) { return core.GroupNorm(x, 2, gamma, beta, 1e-5) }
	xv, _ := x.Reshape(2, 3, 2, 2, 2)
	n, err := autograd.Normalize(xv, 1e-5, 1, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	xhat, _ := n.XHat.Reshape(xs...)
	r := randn(g, xs.Size(), 1)
	dy := tensor(t, b, xs, r)
	dxhat, dgamma, dbeta, err := autograd.AffineGrad(xhat, gamma, gamma.Shape(), dy, true)
	if err != nil {
		t.Fatal(err)
	}
	dxh, _ := dxhat.Reshape(2, 3, 2, 2, 2)
	dxv, err := n.Grad(dxh)
	if err != nil {
		t.Fatal(err)
	}
	dx, _ := dxv.Reshape(xs...)
	check(t, "dx", x, r, fwd, dx)
	check(t, "dgamma", gamma, r, fwd, dgamma)
	check(t, "dbeta", beta, r, fwd, dbeta)
}
