package models_test

import (
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/core/weights"
	"webcnn/models"
)

// buildSeeds are manifests Build accepts: imported graphs (a conv with a
// fused ReLU, global pooling, a dense layer; a pool, batch norm, addition
// and reshape).
var buildSeeds = []string{
	`{"format":1,"model":"g","graph":{"inputs":["x"],"outputs":["y"],"nodes":[` +
		`{"op":"conv","name":"c","inputs":["x","c/w","c/b"],"outputs":["c"],"attrs":{"pad":"same","act":"relu"}},` +
		`{"op":"global_avg_pool","name":"p","inputs":["c"],"outputs":["p"]},` +
		`{"op":"flatten","name":"f","inputs":["p"],"outputs":["f"]},` +
		`{"op":"dense","name":"d","inputs":["f","d/w"],"outputs":["y"]},` +
		`{"op":"softmax","name":"s","inputs":["y"],"outputs":["z"]}]},` +
		`"input":{"shape":[1,5,5,1],"channel_order":"GRAY","scale":1},` +
		`"tensors":[{"name":"c/w","shape":[3,3,1,4],"dtype":"f32","chunk":0,"offset":0,"length":144},` +
		`{"name":"c/b","shape":[4],"dtype":"f32","chunk":0,"offset":144,"length":16},` +
		`{"name":"d/w","shape":[4,3],"dtype":"f32","chunk":0,"offset":160,"length":48}],` +
		`"chunks":[{"file":"a.bin","size":208,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}`,
	`{"format":1,"model":"h","graph":{"inputs":["x"],"outputs":["y"],"nodes":[` +
		`{"op":"pool","name":"p","inputs":["x"],"outputs":["p"],"attrs":{"op":"max","kernel":[2,2],"ceil":true}},` +
		`{"op":"batch_norm","name":"n","inputs":["p","g","b","m","v"],"outputs":["n"],"attrs":{"eps":0.001}},` +
		`{"op":"add","name":"a","inputs":["n","p"],"outputs":["a"]},` +
		`{"op":"reshape","name":"r","inputs":["a"],"outputs":["y"],"attrs":{"shape":[0,-1]}}]},` +
		`"input":{"shape":[1,3,3,3],"channel_order":"RGB","scale":1},` +
		`"tensors":[{"name":"g","shape":[3],"dtype":"f32","chunk":0,"offset":0,"length":12},` +
		`{"name":"b","shape":[3],"dtype":"f32","chunk":0,"offset":12,"length":12},` +
		`{"name":"m","shape":[3],"dtype":"f32","chunk":0,"offset":24,"length":12},` +
		`{"name":"v","shape":[3],"dtype":"f32","chunk":0,"offset":36,"length":12}],` +
		`"chunks":[{"file":"a.bin","size":48,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}`,
}

// FuzzBuild feeds manifests to models.Build with zero weights (as a page
// that plans a model before its chunks arrive does): a bad manifest is an
// error, never a panic, and a network that builds runs one forward pass
// on its declared input. Run with go test -fuzz FuzzBuild; plain go test
// runs the seeds.
func FuzzBuild(f *testing.F) {
	for _, s := range buildSeeds {
		f.Add([]byte(s))
	}
	b := cpu.New()
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := weights.Parse(raw)
		if err != nil {
			return
		}
		total := 0
		for _, e := range m.Tensors {
			n := 1
			for _, d := range e.Shape {
				if d <= 0 || d > 1<<20 || n > (1<<20)/d {
					return
				}
				n *= d
			}
			if total += n; total > 1<<20 {
				return
			}
		}
		l, err := models.Build(b, m.Zeros())
		if err != nil {
			return
		}
		if p, ok := l.(interface{ Free() }); ok {
			defer p.Free()
		}
		in := core.Shape(m.Input.Shape)
		if in.Rank() == 0 || in.Size() <= 0 || in.Size() > 1<<14 {
			return
		}
		for _, d := range in {
			if d <= 0 {
				return
			}
		}
		x, err := core.New(b, in)
		if err != nil {
			return
		}
		defer x.Free()
		if y, err := l.Forward(nn.Eval, x); err == nil {
			y.Free()
		}
	})
}

// TestBuildSeeds checks that the fuzz seeds build and run, so that the
// fuzzer starts from manifests that reach the forward pass.
func TestBuildSeeds(t *testing.T) {
	b := cpu.New()
	for i, s := range buildSeeds {
		m, err := weights.Parse([]byte(s))
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		l, err := models.Build(b, m.Zeros())
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		x, err := core.New(b, core.Shape(m.Input.Shape))
		if err != nil {
			t.Fatal(err)
		}
		y, err := l.Forward(nn.Eval, x)
		if err != nil {
			t.Fatalf("seed %d: forward: %v", i, err)
		}
		// Zero weights and input: every value is 0 (the dense layer has
		// no bias; the batch norm's beta and mean are 0).
		v, err := y.Data()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range v {
			if f != 0 {
				t.Fatalf("seed %d: output %v with zero weights, want zeros", i, v)
			}
		}
	}
}
