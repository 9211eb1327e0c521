package webgpu

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// A forward pass is planned before it runs. A rehearsal backend (see
// Rehearsal) runs the pass with the real backend's limits but without a
// device: the kernels record which pipelines they would dispatch, and every
// Alloc and Free of the pass is logged. Record turns the log into a Plan:
// each allocation's lifetime, and an assignment of allocations to a few
// GPU buffers (slots) such that allocations sharing a slot are never alive
// at the same time. Prepare then starts compiling the plan's pipelines
// (without waiting: the browser compiles them while the weights download)
// and creates its slots; Arena.Run serves the pass's allocations from the
// slots, so a planned pass creates no buffer and compiles nothing.
//
// The slot assignment is greedy by size (TensorFlow Lite's arena planner
// does the same on offsets): allocations sorted from the largest down, each
// goes to the smallest slot that is free for its whole lifetime, or opens
// a new slot of its size. Plans are exact for one sequence of allocations:
// a pass that deviates (another input shape, a data-dependent branch) is
// still correct, its allocations fall back to the pool from the first
// deviation on, and Arena.Misses counts it.

// Pipeline names one compute pipeline a plan needs: a shader and its
// specialization.
type Pipeline struct {
	Shader string
	defs   defs
}

// Key is the pipeline cache's key: the shader and its constants.
func (p Pipeline) Key() string { return p.Shader + "|" + p.defs.key() }

// Plan is the static plan of one forward pass: the pipelines it dispatches
// and where each of its allocations lives.
type Plan struct {
	// Pipelines are the pass's distinct pipelines, in first-use order.
	Pipelines []Pipeline
	// Dispatches is the number of kernels the pass records.
	Dispatches int
	// Allocs is the number of allocations of the pass; Persistent of them
	// outlive it (a layer's cache) and are served by the pool instead.
	Allocs, Persistent int
	// Bytes is the total size of the slots: the GPU memory a planned pass
	// uses beyond the parameters.
	Bytes int
	// LiveBytes is the most bytes alive at one moment of the pass: no
	// plan can use less.
	LiveBytes int
	// PoolBytes is what the size-bucketed pool would hold after the pass
	// (each size class keeps as many buffers as were alive at once).
	PoolBytes int
	// NaiveBytes is the sum of all allocations: memory without reuse.
	NaiveBytes int

	allocs []plannedAlloc // in the order the pass makes them
	slots  []int          // slot sizes in bytes
	log    []recAlloc     // the recording it was planned from
}

// plannedAlloc is one allocation of the pass: its element count and its
// slot (-1: persistent, left to the pool).
type plannedAlloc struct {
	n, slot int
}

// Slots is the number of GPU buffers the plan creates.
func (p *Plan) Slots() int { return len(p.slots) }

func (p *Plan) String() string {
	return fmt.Sprintf("%d dispatches, %d pipelines, %d allocations (%d persistent) in %d buffers of %.1f MB (live peak %.1f MB, size-bucketed pool %.1f MB, no reuse %.1f MB)",
		p.Dispatches, len(p.Pipelines), p.Allocs, p.Persistent, len(p.slots), mb(p.Bytes), mb(p.LiveBytes), mb(p.PoolBytes), mb(p.NaiveBytes))
}

func mb(n int) float64 { return float64(n) / 1e6 }

// recording logs the allocations of a rehearsed pass.
type recording struct {
	allocs []recAlloc
	clock  int
}

// recAlloc is one logged allocation: element count, byte size, and the
// clock at its allocation and at its free (-1: never freed).
type recAlloc struct {
	n, size, at, free int
}

// dryDevice is a device that does nothing: buffers have no memory, reads
// return zeros, kernels are only counted and their pipelines noted.
type dryDevice struct {
	lim   limits
	ad    Adapter
	seen  map[string]bool
	pipes []Pipeline
	st    stats
}

type dryBuffer struct{ size int }

func (d *dryDevice) newBuffer(size int) (handle, error) { return &dryBuffer{size}, nil }
func (d *dryDevice) destroy(handle)                     {}
func (d *dryDevice) clear(handle)                       {}
func (d *dryDevice) write(handle, int, []byte) error    { return nil }
func (d *dryDevice) read(_ handle, _ int, b []byte) error {
	clear(b)
	return nil
}
func (d *dryDevice) run(k *kernel) error {
	p := Pipeline{Shader: k.shader, defs: k.defs}
	if key := p.Key(); !d.seen[key] {
		d.seen[key] = true
		d.pipes = append(d.pipes, p)
	}
	d.st.Dispatches++
	return nil
}
func (d *dryDevice) prepare(string, defs) error { return nil }
func (d *dryDevice) ready() error               { return nil }
func (d *dryDevice) sync() error                { return nil }
func (d *dryDevice) limits() limits             { return d.lim }
func (d *dryDevice) adapter() Adapter           { return d.ad }
func (d *dryDevice) counters() stats            { return d.st }
func (d *dryDevice) lost() error                { return nil }
func (d *dryDevice) close()                     {}

// Rehearsal returns a backend with b's limits and adapter that computes
// nothing and holds no GPU memory: build the model on it (parameter values
// do not matter) and call Record with its forward pass to plan the pass
// for b.
func (b *Backend) Rehearsal() *Backend {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := newBackend(&dryDevice{lim: b.lim, ad: b.dev.adapter(), seen: map[string]bool{}})
	r.PoolBytes = 0 // every Free releases: the recording sees every Alloc
	return r
}

// Record runs pass on a rehearsal backend and returns its plan. It
// refuses a backend that has a device.
func (b *Backend) Record(pass func() error) (*Plan, error) {
	b.mu.Lock()
	d, ok := b.dev.(*dryDevice)
	if !ok {
		b.mu.Unlock()
		return nil, errors.New("webgpu: Record needs a rehearsal backend (Backend.Rehearsal)")
	}
	if b.rec != nil {
		b.mu.Unlock()
		return nil, errors.New("webgpu: Record called during a recording")
	}
	rec := &recording{}
	b.rec = rec
	d.pipes, d.seen, d.st.Dispatches = nil, map[string]bool{}, 0
	b.mu.Unlock()

	err := pass()

	b.mu.Lock()
	defer b.mu.Unlock()
	b.rec = nil
	if err != nil {
		return nil, fmt.Errorf("webgpu: rehearsing the pass: %w", err)
	}
	p := planSlots(rec.allocs)
	p.log = rec.allocs
	p.Pipelines = d.pipes
	p.Dispatches = d.st.Dispatches
	return p, nil
}

// planSlots assigns the logged allocations to slots, greedy by size.
func planSlots(as []recAlloc) *Plan {
	p := &Plan{Allocs: len(as), allocs: make([]plannedAlloc, len(as))}
	end := 0
	for _, a := range as {
		end = max(end, a.at+1, a.free+1)
	}
	var order []int
	for i, a := range as {
		p.allocs[i] = plannedAlloc{n: a.n, slot: -1}
		p.NaiveBytes += a.size
		if a.free < 0 {
			p.Persistent++
			continue
		}
		order = append(order, i)
	}
	// Largest first; ties by allocation time, so the plan is deterministic.
	sort.SliceStable(order, func(x, y int) bool {
		ax, ay := as[order[x]], as[order[y]]
		if ax.size != ay.size {
			return ax.size > ay.size
		}
		return ax.at < ay.at
	})
	type span struct{ at, free int }
	var uses [][]span // lifetimes held by each slot
	for _, i := range order {
		a := as[i]
		best := -1
		for s, us := range uses {
			if p.slots[s] < a.size || (best >= 0 && p.slots[s] >= p.slots[best]) {
				continue
			}
			free := true
			for _, u := range us {
				if u.at <= a.free && a.at <= u.free {
					free = false
					break
				}
			}
			if free {
				best = s
			}
		}
		if best < 0 {
			best = len(p.slots)
			p.slots = append(p.slots, a.size)
			uses = append(uses, nil)
			p.Bytes += a.size
		}
		uses[best] = append(uses[best], span{a.at, a.free})
		p.allocs[i].slot = best
	}
	// The live peak and what a pool with one bucket per size would keep.
	live := make([]int, end+1)
	perSize := map[int][]int{} // size -> live count over time (deltas)
	for _, a := range as {
		if a.free < 0 {
			continue
		}
		live[a.at] += a.size
		live[a.free] -= a.size
		d := perSize[a.size]
		if d == nil {
			d = make([]int, end+1)
			perSize[a.size] = d
		}
		d[a.at]++
		d[a.free]--
	}
	cur := 0
	for _, v := range live {
		cur += v
		p.LiveBytes = max(p.LiveBytes, cur)
	}
	for size, d := range perSize {
		c, most := 0, 0
		for _, v := range d {
			c += v
			most = max(most, c)
		}
		p.PoolBytes += most * size
	}
	return p
}

// check verifies a plan against the log it came from: every allocation
// fits its slot and no two allocations of a slot are alive at once. It is
// independent of planSlots' search, for tests.
func (p *Plan) check(as []recAlloc) error {
	bySlot := map[int][]int{}
	for i, a := range p.allocs {
		if a.slot < 0 {
			if as[i].free >= 0 {
				return fmt.Errorf("allocation %d is freed in the pass but has no slot", i)
			}
			continue
		}
		if as[i].size > p.slots[a.slot] {
			return fmt.Errorf("allocation %d of %d bytes in slot %d of %d", i, as[i].size, a.slot, p.slots[a.slot])
		}
		bySlot[a.slot] = append(bySlot[a.slot], i)
	}
	for s, is := range bySlot {
		slices.SortFunc(is, func(x, y int) int { return as[x].at - as[y].at })
		for k := 1; k < len(is); k++ {
			if prev, next := as[is[k-1]], as[is[k]]; prev.free >= next.at {
				return fmt.Errorf("slot %d: allocation %d (alive %d..%d) overlaps allocation %d (from %d)", s, is[k-1], prev.at, prev.free, is[k], next.at)
			}
		}
	}
	return nil
}

// Arena holds a plan's buffers on one backend and serves planned passes.
type Arena struct {
	b    *Backend
	plan *Plan
	bufs []handle
	busy []bool

	cursor   int  // the next planned allocation
	off      bool // the pass deviated: the rest goes to the pool
	released bool

	// Misses counts the passes that deviated from the plan or failed.
	Misses int
	// Passes counts the passes run.
	Passes int
}

// Plan is the plan the arena serves.
func (a *Arena) Plan() *Plan { return a.plan }

// Prepare starts compiling p's pipelines without waiting for them (Ready
// waits) and creates the plan's buffers.
func (b *Backend) Prepare(p *Plan) (*Arena, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.dev.lost(); err != nil {
		return nil, err
	}
	if _, dry := b.dev.(*dryDevice); dry {
		return nil, errors.New("webgpu: Prepare on a rehearsal backend")
	}
	for _, pl := range p.Pipelines {
		if err := b.dev.prepare(pl.Shader, pl.defs); err != nil {
			return nil, err
		}
	}
	if b.dummy == nil { // bound for absent biases: created now, not in a pass
		h, err := b.dev.newBuffer(16)
		if err != nil {
			return nil, err
		}
		b.dummy = &Buffer{n: 4, size: 16, h: h, owner: b}
	}
	a := &Arena{b: b, plan: p, busy: make([]bool, len(p.slots))}
	for _, size := range p.slots {
		h, err := b.dev.newBuffer(size)
		if err != nil {
			for _, h := range a.bufs {
				b.dev.destroy(h)
			}
			return nil, fmt.Errorf("webgpu: a planned buffer of %d bytes: %w", size, err)
		}
		a.bufs = append(a.bufs, h)
	}
	return a, nil
}

// Ready waits until the pipelines Prepare started are compiled, and
// reports compilation errors.
func (b *Backend) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dev.ready()
}

// Run runs pass with its allocations served by the arena's buffers.
// Planned passes on one backend run one at a time (a second waits); pass
// must not call Run. Allocations made meanwhile by other goroutines
// outside a planned pass make it deviate (it stays correct).
func (a *Arena) Run(pass func() error) error {
	b := a.b
	b.passMu.Lock()
	defer b.passMu.Unlock()
	b.mu.Lock()
	if a.released {
		b.mu.Unlock()
		return errors.New("webgpu: Run on a released arena")
	}
	b.arena, a.cursor, a.off = a, 0, false
	b.mu.Unlock()
	done := false
	defer func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.arena = nil
		a.Passes++
		if !done || a.cursor != len(a.plan.allocs) {
			a.off = true // a pass that failed or panicked counts as a miss
		}
		if a.off {
			a.Misses++
		}
	}()
	err := pass()
	done = err == nil
	return err
}

// Release destroys the arena's buffers (after the work recorded so far).
func (a *Arena) Release() {
	b := a.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if a.released {
		return
	}
	a.released = true
	for _, h := range a.bufs {
		b.dev.destroy(h)
	}
	a.bufs = nil
}

// planned serves allocation n from the running arena, or returns nil when
// the pool must (no arena, a persistent allocation, or a deviation).
// b.mu is held.
func (b *Backend) planned(n int) *Buffer {
	a := b.arena
	if a == nil || a.off {
		return nil
	}
	if a.cursor >= len(a.plan.allocs) {
		a.off = true
		return nil
	}
	pa := a.plan.allocs[a.cursor]
	a.cursor++
	if pa.n != n || (pa.slot >= 0 && a.busy[pa.slot]) {
		a.off = true
		return nil
	}
	if pa.slot < 0 {
		return nil
	}
	a.busy[pa.slot] = true
	h := a.bufs[pa.slot]
	b.dev.clear(h)
	return &Buffer{n: n, size: a.plan.slots[pa.slot], h: h, owner: b, arena: a, slot: pa.slot}
}
