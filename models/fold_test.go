package models_test

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/models"
)

// foldTol bounds max |folded - unfolded| / max |unfolded| over the logits:
// folding rounds W*s once instead of rounding conv and scale separately, a
// drift of about 1e-6 relative over 100+ layers; a wrong channel, eps or
// sign gives 1e-2 or more.
const foldTol = 1e-4

// preActivationNorms are the batch norms of the zoo that follow no conv:
// DenseNet's norm1 of every dense layer and norm of every transition
// (after a concatenation), and norm5 (Huang et al. 2017, BN-ReLU-Conv).
// Every other batch norm of the zoo directly follows a convolution.
var preActivationNorms = map[string]int{
	"densenet121": 6 + 12 + 24 + 16 + 3 + 1,
	"densenet169": 6 + 12 + 32 + 32 + 3 + 1,
}

// foldInput is the input of the fold test: 64x64 as the memory and WebGPU
// parity tests, or the smallest of 96 and the model's own size that the
// model accepts (Inception v3 needs 75; AlexNet, VGG and MobileNet v1 fix
// their input size).
func foldInput(t *testing.T, spec models.Spec) core.Shape {
	m, err := spec.New(&nn.Builder{B: nn.Shapes{}, RNG: core.NewRNG(0), ShapesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, hw := range []int{64, 96} {
		in := core.Shape{1, hw, hw, spec.Input[3]}
		if hw < spec.Input[1] {
			if _, _, err := nn.PlanOf(m, in); err == nil {
				return in
			}
		}
	}
	return spec.Input
}

// foldMACs are the multiply-adds of a model at its fold-test input.
func foldMACs(t *testing.T, spec models.Spec, in core.Shape) int64 {
	m, err := spec.New(&nn.Builder{B: nn.Shapes{}, RNG: core.NewRNG(0), ShapesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, rows, err := nn.PlanOf(m, in)
	if err != nil {
		t.Fatal(err)
	}
	var macs int64
	for _, r := range rows {
		macs += r.MACs
	}
	return macs
}

// randomizeForFold sets every batch norm far from the identity (gamma in
// [0.5, 1.5], beta and running mean in [-0.5, 0.5], running var in
// [0.5, 2]) and every conv and linear bias in [-0.1, 0.1], so that folding
// is not the identity and each term of b' = (b - mean)*s + beta counts.
func randomizeForFold(t *testing.T, l nn.Layer, rng *core.RNG) {
	t.Helper()
	set := func(x *core.Tensor, lo, hi float32) {
		if x == nil {
			return
		}
		v := make([]float32, x.Size())
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float32()
		}
		if err := x.Backend().Write(x.Buffer(), 0, v); err != nil {
			t.Fatal(err)
		}
	}
	walk(l, func(l nn.Layer) {
		switch l := l.(type) {
		case *nn.BatchNorm:
			set(l.Gamma, 0.5, 1.5)
			set(l.Beta, -0.5, 0.5)
			set(l.Mean, -0.5, 0.5)
			set(l.Var, 0.5, 2)
		case *nn.Conv:
			set(l.B, -0.1, 0.1)
		case *nn.Linear:
			set(l.B, -0.1, 0.1)
		}
	})
}

// convBNRows counts, in a plan, the batch norm rows right after a conv
// row without a fused activation and of the same output shape: the pairs
// that fold, counted from the trace instead of the layer tree (the zoo
// has no linear layer followed by a batch norm).
func convBNRows(rows []nn.Row) (pairs, norms int) {
	for i, r := range rows {
		if r.Kind != "BatchNorm" {
			continue
		}
		norms++
		if i > 0 && plainConv(rows[i-1].Kind) && rows[i-1].Out.Equal(r.Out) {
			pairs++
		}
	}
	return pairs, norms
}

// plainConv says whether a row is a conv without a fused activation:
// "Conv 3x3/2 64" or "Conv 3x3/1 128 g32", not "Conv 1x1/1 8 relu".
func plainConv(kind string) bool {
	k := strings.Fields(kind)
	if k[0] != "Conv" {
		return false
	}
	last := strings.TrimPrefix(k[len(k)-1], "g")
	_, err := strconv.Atoi(last)
	return err == nil
}

// TestFoldZoo folds every zoo model with random weights and randomized
// batch norms and checks that the logits do not change (within foldTol of
// the largest on the CPU backend) and that the number of batch norms
// folded is the number of conv -> batch norm pairs, counted twice
// independently of the fold: the model's batch norms (running_mean
// tensors) less the pre-activation ones, and the plan's rows.
func TestFoldZoo(t *testing.T) {
	var report []string
	var worst float64
	for _, spec := range models.Zoo {
		t.Run(spec.ID, func(t *testing.T) {
			in := foldInput(t, spec)
			heavy := foldMACs(t, spec, in) > 1_000_000_000 // VGG at 224: 3-6 s a pass
			if testing.Short() && heavy {
				t.Skipf("-short: over 1 G multiply-adds at %v", in)
			}
			b := cpu.New()
			l, err := spec.New(nn.NewBuilder(b, 3))
			if err != nil {
				t.Fatal(err)
			}
			rng := core.NewRNG(4)
			randomizeForFold(t, l, rng)
			norms := 0
			for _, p := range l.Params() {
				if strings.HasSuffix(p.Name, "running_mean") {
					norms++
				}
			}
			want := norms - preActivationNorms[spec.ID]
			_, rows, err := nn.PlanOf(l, in)
			if err != nil {
				t.Fatal(err)
			}
			if pairs, n := convBNRows(rows); pairs != want || n != norms {
				t.Errorf("plan rows: %d conv -> batch norm pairs of %d batch norms; tensors: %d of %d", pairs, n, want, norms)
			}
			// VGG without batch norm folds nothing; its passes (3-6 s each)
			// run with CNN_ZOO_FULL=1 (make test-zoo-full).
			run := !heavy || norms > 0 || os.Getenv("CNN_ZOO_FULL") == "1"
			xv := make([]float32, in.Size())
			for i := range xv {
				xv[i] = rng.NormFloat32()
			}
			x, err := core.FromData(b, in, xv)
			if err != nil {
				t.Fatal(err)
			}
			var ref []float32
			var before time.Duration
			if run {
				start := time.Now()
				y, err := l.Forward(nn.Eval, x)
				if err != nil {
					t.Fatal(err)
				}
				before = time.Since(start)
				if ref, err = y.Data(); err != nil {
					t.Fatal(err)
				}
			}
			was := l.Params()
			folded, n, err := models.FoldForInference(l)
			if err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Errorf("folded %d batch norms, want %d (%d in the model, %d pre-activation)", n, want, norms, preActivationNorms[spec.ID])
			}
			if _, rows, err := nn.PlanOf(folded, in); err != nil {
				t.Fatal(err)
			} else if _, left := convBNRows(rows); left != norms-n {
				t.Errorf("folded plan has %d batch norm rows, want %d", left, norms-n)
			}
			if n == 0 {
				// Nothing folded: the same tensors under the same names.
				now := folded.Params()
				if fmt.Sprint(was) != fmt.Sprint(now) {
					t.Errorf("nothing folded, but the tensors changed:\n%v\n%v", was, now)
				}
			}
			if !run {
				t.Logf("%s: no batch norm, the same tensors; the forward passes run with CNN_ZOO_FULL=1", spec.ID)
				return
			}
			start := time.Now()
			y, err := folded.Forward(nn.Eval, x)
			if err != nil {
				t.Fatal(err)
			}
			after := time.Since(start)
			got, err := y.Data()
			if err != nil {
				t.Fatal(err)
			}
			var diff, scale float64
			for i := range ref {
				d := math.Abs(float64(got[i]) - float64(ref[i]))
				if math.IsNaN(d) {
					d = math.Inf(1)
				}
				diff = math.Max(diff, d)
				scale = math.Max(scale, math.Abs(float64(ref[i])))
			}
			rel := diff / math.Max(scale, 1e-30)
			worst = math.Max(worst, rel)
			line := fmt.Sprintf("%-22s %3dx%-3d %3d of %3d batch norms folded  rel %.2g  forward %v -> %v",
				spec.ID, in[1], in[2], n, norms, rel, before.Round(time.Millisecond), after.Round(time.Millisecond))
			t.Log(line)
			report = append(report, line)
			if rel > foldTol {
				t.Errorf("max |folded - unfolded| / max |unfolded| = %.3g, want <= %g (max |diff| %.3g)", rel, foldTol, diff)
			}
		})
	}
	t.Logf("batch norm folding, CPU backend (worst relative difference %.2g):\n%s", worst, strings.Join(report, "\n"))
}

// BenchmarkFold measures CPU forward passes at 224x224 of ResNet-18 and
// MobileNetV2 as built and with their batch norms folded, alternating the
// two networks so that a shared machine's load falls on both alike; it
// reports the median of each (ns/op is their sum):
//
//	go test -run '^$' -bench Fold -benchtime 10x ./models/
func BenchmarkFold(b *testing.B) {
	for _, id := range []string{"resnet18", "mobilenet_v2"} {
		b.Run(id, func(b *testing.B) {
			spec, err := models.Lookup(id)
			if err != nil {
				b.Fatal(err)
			}
			be := cpu.New()
			var nets [2]nn.Layer
			for i := range nets {
				if nets[i], err = spec.New(nn.NewBuilder(be, 1)); err != nil {
					b.Fatal(err)
				}
			}
			if nets[1], _, err = models.FoldForInference(nets[1]); err != nil {
				b.Fatal(err)
			}
			x, err := core.New(be, spec.Input)
			if err != nil {
				b.Fatal(err)
			}
			var times [2][]float64
			b.ResetTimer()
			for range b.N {
				for i, l := range nets {
					start := time.Now()
					y, err := l.Forward(nn.Eval, x)
					if err != nil {
						b.Fatal(err)
					}
					times[i] = append(times[i], float64(time.Since(start))/1e6)
					y.Free()
				}
			}
			for i, name := range []string{"unfolded-ms", "folded-ms"} {
				sort.Float64s(times[i])
				b.ReportMetric(times[i][len(times[i])/2], name)
			}
		})
	}
}
