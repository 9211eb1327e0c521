package zoomap

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"webcnn/core/weights"
	"webcnn/models"
)

func spec(t *testing.T, id string) models.Spec {
	t.Helper()
	s, err := models.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFlattenedLinears holds the flatten detection to the zoo: the first
// linear after a spatial flatten is LeNet-5's fc1 (4x4x16), AlexNet's
// classifier.1 (6x6x256, models/alexnet.go) and VGG's classifier.0
// (7x7x512, models/vgg.go); every other model flattens a 1x1 map.
func TestFlattenedLinears(t *testing.T) {
	for _, s := range models.Zoo {
		ps, err := params(s)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]hwc{}
		for _, p := range ps {
			if p.flat != nil {
				got[p.name] = *p.flat
			}
		}
		var want map[string]hwc
		switch {
		case s.ID == "lenet5":
			want = map[string]hwc{"fc1.weight": {4, 4, 16}}
		case s.ID == "alexnet":
			want = map[string]hwc{"classifier.1.weight": {6, 6, 256}}
		case strings.HasPrefix(s.ID, "vgg"):
			want = map[string]hwc{"classifier.0.weight": {7, 7, 512}}
		default:
			want = map[string]hwc{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: flattened linears %v, want %v", s.ID, got, want)
		}
	}
}

func ramp(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

// TestLayouts converts one tensor of each kind and checks every element
// against the layouts' definitions, written as index arithmetic.
func TestLayouts(t *testing.T) {
	// Conv: torch [O=4, I=3, kh=2, kw=5] -> ours [2, 5, 3, 4].
	o, i, kh, kw := 4, 3, 2, 5
	got := fromTorch(param{shape: []int{kh, kw, i, o}}, weights.Tensor{Shape: []int{o, i, kh, kw}, Data: ramp(o * i * kh * kw)})
	for a := range o {
		for b := range i {
			for y := range kh {
				for x := range kw {
					if g, w := got[((y*kw+x)*i+b)*o+a], float32(((a*i+b)*kh+y)*kw+x); g != w {
						t.Fatalf("conv [%d %d %d %d] = %v, want %v", a, b, y, x, g, w)
					}
				}
			}
		}
	}
	// Linear: torch [Out=3, In=5] -> ours [5, 3]; into a 1x1 conv [1, 1, 5, 3].
	for _, s := range [][]int{{5, 3}, {1, 1, 5, 3}} {
		got = fromTorch(param{shape: s}, weights.Tensor{Shape: []int{3, 5}, Data: ramp(15)})
		for a := range 3 {
			for b := range 5 {
				if g, w := got[b*3+a], float32(a*5+b); g != w {
					t.Fatalf("linear into %v [%d %d] = %v, want %v", s, a, b, g, w)
				}
			}
		}
	}
	// Linear after flattening a 2x3x4 (H, W, C) map: torch's input feature
	// c*6 + h*3 + w is our row (h*3+w)*4 + c.
	got = fromTorch(param{shape: []int{24, 2}, flat: &hwc{2, 3, 4}}, weights.Tensor{Shape: []int{2, 24}, Data: ramp(48)})
	for a := range 2 {
		for h := range 2 {
			for w := range 3 {
				for c := range 4 {
					if g, want := got[((h*3+w)*4+c)*2+a], float32(a*24+c*6+h*3+w); g != want {
						t.Fatalf("flattened linear out %d (h %d w %d c %d) = %v, want %v", a, h, w, c, g, want)
					}
				}
			}
		}
	}
	// layer_scale [C, 1, 1] -> [C].
	if got = fromTorch(param{shape: []int{3}}, weights.Tensor{Shape: []int{3, 1, 1}, Data: ramp(3)}); !reflect.DeepEqual(got, ramp(3)) {
		t.Errorf("layer_scale: %v", got)
	}
	// Shapes that do not fit.
	for _, tc := range []struct{ ours, torch []int }{
		{[]int{3, 3, 2, 4}, []int{4, 2, 3, 2}}, {[]int{5, 3}, []int{5, 3}}, {[]int{3, 3, 2, 4}, []int{4, 18}},
		{[]int{4}, []int{2, 2}}, {[]int{6}, []int{3}},
	} {
		n := 1
		for _, d := range tc.torch {
			n *= d
		}
		if v := fromTorch(param{shape: tc.ours}, weights.Tensor{Shape: tc.torch, Data: ramp(n)}); v != nil {
			t.Errorf("torch %v accepted for ours %v", tc.torch, tc.ours)
		}
	}
}

// ours returns distinct values for every parameter of a spec.
func ours(t *testing.T, s models.Spec) map[string][]float32 {
	ps, err := params(s)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]float32{}
	k := 0
	for _, p := range ps {
		v := make([]float32, p.shape.Size())
		for i := range v {
			v[i] = float32(k%100003) / 7
			k++
		}
		m[p.name] = v
	}
	return m
}

// TestRoundTrip: ToTorch then FromTorch gives every value back, for
// LeNet-5 (a flattened linear) and ConvNeXt-T with its pointwise layers
// as torch's Linear [Out, In] and layer_scale as [C, 1, 1].
func TestRoundTrip(t *testing.T) {
	for _, id := range []string{"lenet5", "convnext_tiny"} {
		s := spec(t, id)
		want := ours(t, s)
		ts, err := ToTorch(s, want)
		if err != nil {
			t.Fatal(err)
		}
		linears, scales := 0, 0
		for i, x := range ts {
			switch {
			case strings.HasSuffix(x.Name, ".block.3.weight") || strings.HasSuffix(x.Name, ".block.5.weight"):
				ts[i].Shape = x.Shape[:2]
				linears++
			case strings.HasSuffix(x.Name, ".layer_scale"):
				ts[i].Shape = []int{x.Shape[0], 1, 1}
				scales++
			}
		}
		if id == "convnext_tiny" && (linears != 36 || scales != 18) {
			t.Errorf("convnext_tiny: %d pointwise linears and %d layer scales, want 36 and 18 (18 blocks)", linears, scales)
		}
		got, err := FromTorch(s, ts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors, want %d", id, len(got), len(want))
		}
		for _, g := range got {
			if !reflect.DeepEqual(g.Data, want[g.Name]) {
				t.Fatalf("%s: %s differs after the round trip", id, g.Name)
			}
		}
	}
	// LeNet-5's fc1 in torch layout, by the definition: torch
	// fc1.weight[o][c*16 + h*4 + w] = ours[(h*4+w)*16 + c][o].
	s := spec(t, "lenet5")
	o := ours(t, s)
	ts, _ := ToTorch(s, o)
	for _, x := range ts {
		if x.Name != "fc1.weight" {
			continue
		}
		if !reflect.DeepEqual(x.Shape, []int{120, 256}) {
			t.Fatalf("fc1.weight torch shape %v", x.Shape)
		}
		for out := range 120 {
			for c := range 16 {
				for h := range 4 {
					for w := range 4 {
						if g, want := x.Data[out*256+c*16+h*4+w], o["fc1.weight"][((h*4+w)*16+c)*120+out]; g != want {
							t.Fatalf("fc1 torch [%d][c %d h %d w %d] = %v, want %v", out, c, h, w, g, want)
						}
					}
				}
			}
		}
	}
}

// TestMismatchReport: one error lists every missing, unexpected and
// mis-shaped tensor with the shapes expected and found.
func TestMismatchReport(t *testing.T) {
	s := spec(t, "resnet18")
	ts, err := ToTorch(s, ours(t, s))
	if err != nil {
		t.Fatal(err)
	}
	var bad []weights.Tensor
	for _, x := range ts {
		switch x.Name {
		case "fc.bias": // dropped: missing
		case "conv1.weight": // renamed: missing conv1.weight, unexpected conv1.w
			x.Name = "conv1.w"
			bad = append(bad, x)
		case "fc.weight": // not transposed (ours [512 1000])
			x.Shape = []int{512, 1000}
			bad = append(bad, x)
		case "layer1.0.conv1.weight": // HWIO instead of OIHW
			x.Shape = []int{3, 3, 64, 64}
			bad = append(bad, x)
		default:
			bad = append(bad, x)
		}
	}
	bad = append(bad, weights.Tensor{Name: "fc.num_batches_tracked", Shape: []int{}, Data: []float32{1}}) // ignored
	_, err = FromTorch(s, bad)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("error %v, want ErrMismatch", err)
	}
	for _, want := range []string{
		"resnet18", "5 problems",
		"missing conv1.weight: want [64 3 7 7] (ours [7 7 3 64])",
		"layer1.0.conv1.weight: found [3 3 64 64], want [64 64 3 3] (ours [3 3 64 64])",
		"fc.weight: found [512 1000], want [1000 512] (ours [512 1000])",
		"missing fc.bias: want [1000] or [1000 1 1] (ours [1000])",
		"unexpected conv1.w [64 3 7 7]",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "num_batches_tracked") {
		t.Errorf("num_batches_tracked reported:\n%v", err)
	}
}
