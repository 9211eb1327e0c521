package webgpu

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"webcnn/core"
	"webcnn/core/cpu"
	"webcnn/core/nn"
	"webcnn/models"
)

// TestPlanSlotsByHand plans a log worked out on paper. Sizes in bytes,
// lifetimes as [alloc, free] on the event clock:
//
//	a 400 [0,3]   b 100 [1,2]   c 300 [4,6]   d 100 [5,7]   e 200 [8,9]   p 50 [10,-]
//
// Largest first: a opens slot 0 (400); c (300) fits slot 0, free from 4
// on; e (200): slot 0 is busy only until 6, so slot 0 again; b (100)
// overlaps a, opens slot 1 (100); d (100) overlaps c in slot 0, slot 1 is
// free after 2: slot 1. p is never freed: persistent, no slot. Slots 400 +
// 100 = 500 bytes; live peak max(a+b=500, c+d=400, e=200) = 500; a pool
// with one bucket per size keeps 400 + 300 + 200 + 100 = 1000 (one
// buffer of each size); no reuse 1150.
func TestPlanSlotsByHand(t *testing.T) {
	log := []recAlloc{
		{n: 100, size: 400, at: 0, free: 3},
		{n: 25, size: 100, at: 1, free: 2},
		{n: 75, size: 300, at: 4, free: 6},
		{n: 25, size: 100, at: 5, free: 7},
		{n: 50, size: 200, at: 8, free: 9},
		{n: 12, size: 50, at: 10, free: -1},
	}
	p := planSlots(log)
	var slots []int
	for _, a := range p.allocs {
		slots = append(slots, a.slot)
	}
	if want := []int{0, 1, 0, 1, 0, -1}; !slices.Equal(slots, want) {
		t.Errorf("slots %v, want %v", slots, want)
	}
	if !slices.Equal(p.slots, []int{400, 100}) {
		t.Errorf("slot sizes %v, want [400 100]", p.slots)
	}
	if p.Bytes != 500 || p.LiveBytes != 500 || p.PoolBytes != 1000 || p.NaiveBytes != 1150 || p.Persistent != 1 {
		t.Errorf("bytes %d live %d pool %d naive %d persistent %d, want 500 500 1000 1150 1",
			p.Bytes, p.LiveBytes, p.PoolBytes, p.NaiveBytes, p.Persistent)
	}
	if err := p.check(log); err != nil {
		t.Error(err)
	}
	// The checker itself catches an overlap.
	bad := *p
	bad.allocs = slices.Clone(p.allocs)
	bad.allocs[3].slot = 0 // d into slot 0 while c lives there
	if err := bad.check(log); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("check of an overlapping plan: %v", err)
	}
}

// rehearse plans one forward pass of zoo model id at input shape in for
// backend b: the model is built on a rehearsal backend with a seed that
// need not match (values do not matter).
func rehearse(t *testing.T, b *Backend, spec *models.Spec, in core.Shape) *Plan {
	t.Helper()
	r := b.Rehearsal()
	m, err := spec.New(nn.NewBuilder(r, 1))
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Record(func() error { return pass(r, m, in, nil, nil) })
	if err != nil {
		t.Fatal(err)
	}
	if err := p.check(p.log); err != nil {
		t.Fatalf("%s: %v", spec.ID, err)
	}
	return p
}

// pass is one inference: upload, forward, read back (into out when not
// nil), free.
func pass(b core.Backend, m nn.Layer, in core.Shape, x []float32, out *[]float32) error {
	if x == nil {
		x = make([]float32, in.Size())
	}
	v, err := nn.Infer(b, m, in, x)
	if out != nil {
		*out = v
	}
	return err
}

// TestPlanZoo plans every zoo model's pass and replays it on a device
// that logs its calls: the pass creates no buffer, follows the plan with
// no miss, dispatches only pipelines the plan prepared, and the plan
// never gives a live allocation's slot to another (Plan.check).
func TestPlanZoo(t *testing.T) {
	for _, spec := range models.Zoo {
		in := core.Shape{1, 64, 64, 3}
		switch {
		case spec.Input[1] < 64:
			in = core.Shape(spec.Input)
		case spec.ID == "inception_v3":
			in = core.Shape{1, 96, 96, 3}
		case strings.HasPrefix(spec.ID, "mobilenet_v1"):
			in = core.Shape(spec.Input) // Keras: built for one size
		case spec.ID == "resnet18" || spec.ID == "mobilenet_v2":
			in = core.Shape(spec.Input) // the benchmark's models at 224
		case strings.HasPrefix(spec.ID, "vgg") || spec.ID == "alexnet":
			// Their first dense layer (151 to 411 MB) exceeds WebGPU's
			// default 128 MiB binding limit, which the fake device has.
			continue
		}
		t.Run(spec.ID, func(t *testing.T) {
			f := &fakeDevice{}
			b := newBackend(f)
			plan := rehearse(t, b, &spec, in)
			m, err := spec.New(nn.NewBuilder(b, 2))
			if err != nil {
				t.Skipf("%s at %v: %v", spec.ID, in, err)
			}
			a, err := b.Prepare(plan)
			if err != nil {
				t.Fatal(err)
			}
			prepared := map[string]bool{}
			for _, l := range f.log {
				if k, ok := strings.CutPrefix(l, "prepare "); ok {
					prepared[k] = true
				}
			}
			if len(prepared) != len(plan.Pipelines) {
				t.Errorf("%d pipelines prepared, plan has %d", len(prepared), len(plan.Pipelines))
			}
			for i := 0; i < 2; i++ {
				logAt, kernAt := len(f.log), len(f.kernels)
				if err := a.Run(func() error { return pass(b, m, in, nil, nil) }); err != nil {
					t.Fatal(err)
				}
				for _, l := range f.log[logAt:] {
					if strings.HasPrefix(l, "new ") {
						t.Fatalf("pass %d created a buffer (%s): the plan should serve every allocation", i, l)
					}
				}
				if n := len(f.kernels) - kernAt; n != plan.Dispatches {
					t.Errorf("pass %d: %d dispatches, plan has %d", i, n, plan.Dispatches)
				}
				for _, k := range f.kernels[kernAt:] {
					if key := k.shader + "|" + k.defs.key(); !prepared[key] {
						t.Fatalf("pass %d dispatched %s, which the plan did not prepare", i, key)
					}
				}
			}
			if a.Misses != 0 || a.Passes != 2 {
				t.Errorf("%d misses in %d passes, want 0 in 2", a.Misses, a.Passes)
			}
			if !(plan.LiveBytes <= plan.Bytes && plan.Bytes <= plan.NaiveBytes) {
				t.Errorf("plan %d bytes outside [live peak %d, no reuse %d]", plan.Bytes, plan.LiveBytes, plan.NaiveBytes)
			}
			t.Logf("%s %v: %v; plan / live peak %.2f, plan / pool %.2f", spec.ID, in, plan,
				float64(plan.Bytes)/float64(plan.LiveBytes), float64(plan.Bytes)/float64(plan.PoolBytes))
			a.Release()
		})
	}
}

// TestPlanDeviation runs a planned pass at another input size: the
// allocations fall back to the pool from the first difference, the miss
// is counted, and the next planned pass is served by the plan again.
func TestPlanDeviation(t *testing.T) {
	spec, err := models.Lookup("resnet18")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDevice{}
	b := newBackend(f)
	in := core.Shape{1, 64, 64, 3}
	plan := rehearse(t, b, &spec, in)
	m, err := spec.New(nn.NewBuilder(b, 2))
	if err != nil {
		t.Fatal(err)
	}
	a, err := b.Prepare(plan)
	if err != nil {
		t.Fatal(err)
	}
	news := func() int {
		n := 0
		for _, l := range f.log {
			if strings.HasPrefix(l, "new ") {
				n++
			}
		}
		return n
	}
	before := news()
	if err := a.Run(func() error { return pass(b, m, core.Shape{1, 32, 32, 3}, nil, nil) }); err != nil {
		t.Fatal(err)
	}
	if a.Misses != 1 || news() == before {
		t.Errorf("a 32x32 pass on a 64x64 plan: %d misses, %d new buffers; want 1 miss and pool buffers", a.Misses, news()-before)
	}
	before = news()
	if err := a.Run(func() error { return pass(b, m, in, nil, nil) }); err != nil {
		t.Fatal(err)
	}
	if a.Misses != 1 || news() != before {
		t.Errorf("the planned size again: %d misses (want still 1), %d new buffers (want 0)", a.Misses, news()-before)
	}
	// A pass that panics leaves the backend as it was: the next one is
	// planned again.
	func() {
		defer func() { recover() }()
		a.Run(func() error { panic("in the pass") })
	}()
	before = news()
	if err := a.Run(func() error { return pass(b, m, in, nil, nil) }); err != nil || b.arena != nil || a.Misses != 2 || news() != before {
		t.Errorf("after a panicking pass: %v, arena left %v, %d misses (want 2), %d new buffers", err, b.arena, a.Misses, news()-before)
	}
	a.Release()
	if err := a.Run(func() error { return nil }); err == nil {
		t.Errorf("Run on a released arena: no error")
	}
}

// TestPlanPersistent: an allocation the pass keeps is left to the pool,
// and Record refuses a backend with a device.
func TestPlanPersistent(t *testing.T) {
	b := newBackend(&fakeDevice{})
	r := b.Rehearsal()
	var kept core.Buffer
	p, err := r.Record(func() error {
		x, _ := r.Alloc(10)
		y, _ := r.Alloc(20)
		r.Free(x)
		kept, _ = r.Alloc(10)
		r.Free(y)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = kept
	if p.Persistent != 1 || p.Slots() != 2 || fmt.Sprint(p.allocs) != "[{10 1} {20 0} {10 -1}]" {
		t.Errorf("plan %v allocs %v, want one persistent allocation and 2 slots", p, p.allocs)
	}
	if _, err := b.Record(func() error { return nil }); err == nil {
		t.Errorf("Record on a device backend: no error")
	}
}

// TestPlannedPass runs planned passes on the GPU. A fresh device compiles
// the plan's pipelines while the model's weights upload (Prepare before
// building, Ready after), and the pass compiles nothing more; its outputs
// are bit-identical to a pass served by the pool (same kernels, other
// buffers) and to a second planned pass (slots reused, cleared), and
// within 1e-4 of the CPU's logits.
func TestPlannedPass(t *testing.T) {
	gpu(t) // skip where there is no WebGPU
	b, err := New()
	requireGPU(t, err)
	defer b.Close()
	for _, id := range []string{"mobilenet_v2", "resnet18"} {
		t.Run(id, func(t *testing.T) {
			spec, err := models.Lookup(id)
			if err != nil {
				t.Fatal(err)
			}
			in := core.Shape{1, 64, 64, 3}
			x := make([]float32, in.Size())
			rng := core.NewRNG(3)
			for i := range x {
				x[i] = rng.NormFloat32()
			}
			start := time.Now()
			plan := rehearse(t, b, &spec, in)
			rehearsed := time.Since(start)
			before := b.dev.counters()
			a, err := b.Prepare(plan)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Release()
			m, err := spec.New(nn.NewBuilder(b, 4))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, p := range m.Params() {
					p.T.Free()
				}
			}()
			if err := b.Ready(); err != nil {
				t.Fatal(err)
			}
			ready := b.dev.counters()
			compiled := ready.Compiles - before.Compiles
			if ready.Prepared-before.Prepared != compiled || compiled > len(plan.Pipelines) {
				t.Errorf("Ready: %d pipelines compiled, %d of them prepared; the plan has %d", compiled, ready.Prepared-before.Prepared, len(plan.Pipelines))
			}
			var planned, again, pooled []float32
			start = time.Now()
			if err := a.Run(func() error { return pass(b, m, in, x, &planned) }); err != nil {
				t.Fatal(err)
			}
			first := time.Since(start)
			if after := b.dev.counters(); after.Compiles != ready.Compiles {
				t.Errorf("the planned pass compiled %d pipelines, want 0", after.Compiles-ready.Compiles)
			}
			if err := a.Run(func() error { return pass(b, m, in, x, &again) }); err != nil {
				t.Fatal(err)
			}
			if err := pass(b, m, in, x, &pooled); err != nil {
				t.Fatal(err)
			}
			if a.Misses != 0 {
				t.Errorf("%d misses, want 0", a.Misses)
			}
			if !slices.Equal(planned, again) || !slices.Equal(planned, pooled) {
				t.Errorf("planned, second planned and pooled passes differ")
			}
			c := cpu.New()
			mc, err := spec.New(nn.NewBuilder(c, 4))
			if err != nil {
				t.Fatal(err)
			}
			var want []float32
			if err := pass(c, mc, in, x, &want); err != nil {
				t.Fatal(err)
			}
			scale, worst := 0.0, 0.0
			for i := range want {
				scale = math.Max(scale, math.Abs(float64(want[i])))
				worst = math.Max(worst, math.Abs(float64(planned[i]-want[i])))
			}
			if !(worst <= 1e-4*scale) {
				t.Errorf("planned pass differs from the CPU by %.3g (scale %.3g)", worst, scale)
			}
			t.Logf("%s %v: %v; rehearsal %v, Ready waited %v for %d pipelines, first planned pass %v; |gpu - cpu| %.3g of %.3g",
				id, in, plan, rehearsed.Round(time.Millisecond), (ready.Compile - before.Compile).Round(time.Millisecond), compiled,
				first.Round(time.Millisecond), worst, scale)
		})
	}
}
