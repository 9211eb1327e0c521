package webgpu

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"webcnn/core"
)

// fakeDevice records what the backend asks of a device, so that the
// portable half (pooling, bounds, bindings, aliasing variants, loss) is
// tested natively. Buffers are host byte slices; kernels do not run.
type fakeDevice struct {
	bufs    []*[]byte
	log     []string
	kernels []*kernel
	isLost  bool
}

func (f *fakeDevice) id(h handle) int {
	for i, b := range f.bufs {
		if b == h.(*[]byte) {
			return i
		}
	}
	return -1
}

func (f *fakeDevice) newBuffer(size int) (handle, error) {
	if f.isLost {
		return nil, fmt.Errorf("%w: fake", ErrDeviceLost)
	}
	b := make([]byte, size)
	f.bufs = append(f.bufs, &b)
	f.log = append(f.log, fmt.Sprintf("new %d:%d", len(f.bufs)-1, size))
	return &b, nil
}
func (f *fakeDevice) destroy(h handle) { f.log = append(f.log, fmt.Sprintf("destroy %d", f.id(h))) }
func (f *fakeDevice) clear(h handle) {
	f.log = append(f.log, fmt.Sprintf("clear %d", f.id(h)))
	clear(*h.(*[]byte))
}
func (f *fakeDevice) write(h handle, off int, b []byte) error {
	copy((*h.(*[]byte))[off:], b)
	return nil
}
func (f *fakeDevice) read(h handle, off int, b []byte) error {
	copy(b, (*h.(*[]byte))[off:])
	return nil
}
func (f *fakeDevice) run(k *kernel) error {
	var ids []string
	for _, b := range k.bufs {
		ids = append(ids, fmt.Sprint(f.id(b.h)))
	}
	f.log = append(f.log, fmt.Sprintf("run %s [%s]", k.shader, strings.Join(ids, " ")))
	f.kernels = append(f.kernels, k)
	return nil
}
func (f *fakeDevice) prepare(shader string, d defs) error {
	f.log = append(f.log, "prepare "+shader+"|"+d.key())
	return f.lost()
}
func (f *fakeDevice) ready() error     { return f.lost() }
func (f *fakeDevice) sync() error      { return f.lost() }
func (f *fakeDevice) limits() limits   { return defaultLimits }
func (f *fakeDevice) counters() stats  { return stats{} }
func (f *fakeDevice) adapter() Adapter { return Adapter{Vendor: "fake"} }
func (f *fakeDevice) lost() error {
	if f.isLost {
		return fmt.Errorf("%w: fake", ErrDeviceLost)
	}
	return nil
}
func (f *fakeDevice) close() { f.isLost = true }

func TestPool(t *testing.T) {
	f := &fakeDevice{}
	b := newBackend(f)
	b.PoolBytes = 64
	x, _ := b.Alloc(5) // 32 bytes
	if err := b.Write(x, 0, []float32{1, 2, 3, 4, 5}); err != nil {
		t.Fatal(err)
	}
	b.Free(x)
	y, _ := b.Alloc(8) // same 32-byte size class: reused, cleared
	got := make([]float32, 8)
	if err := b.Read(y, 0, got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 0 0 0 0 0 0 0]" {
		t.Errorf("a reused buffer reads %v, want zeros", got)
	}
	z, _ := b.Alloc(20) // 80 bytes: new
	b.Free(y)
	b.Free(z) // the pool holds 32 of 64 bytes: 80 more do not fit
	b.Free(z) // a second free is ignored
	want := "new 0:32 clear 0 new 1:80 destroy 1"
	if got := strings.Join(f.log, " "); got != want {
		t.Errorf("device calls %q, want %q", got, want)
	}
	if err := b.Write(y, 0, []float32{1}); err == nil || !strings.Contains(err.Error(), "freed") {
		t.Errorf("write to a freed buffer: %v", err)
	}
	w, _ := b.Alloc(2)
	if err := b.Write(w, 1, []float32{1, 2}); err == nil {
		t.Errorf("write past the end: no error")
	}
	if err := b.Read(w, -1, make([]float32, 1)); err == nil {
		t.Errorf("read at -1: no error")
	}
	other := newBackend(&fakeDevice{})
	v, _ := other.Alloc(2)
	if err := b.Write(v, 0, []float32{1}); !errors.Is(err, errForeign) {
		t.Errorf("write to another backend's buffer: %v", err)
	}
}

func TestBindings(t *testing.T) {
	f := &fakeDevice{}
	b := newBackend(f)
	mk := func(s ...int) *core.Tensor {
		x, err := core.New(b, core.Shape(s))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	x, y, c := mk(2, 4), mk(2, 4), mk(1, 4) // buffers 0, 1, 2
	last := func() *kernel { return f.kernels[len(f.kernels)-1] }
	lastLog := func() string { return f.log[len(f.log)-1] }
	for _, c := range []struct {
		name    string
		call    func() error
		want    string
		defsHas []string
	}{
		{"binary", func() error { return b.Binary(x, y, c, core.Add) }, "run binary [1 2 0]", []string{"BROADCAST"}},
		{"binary_a_is_dst", func() error { return b.Binary(x, x, c, core.Mul) }, "run binary [2 0]", []string{"A_DST", "BROADCAST"}},
		{"binary_b_is_dst", func() error { return b.Binary(x, y, x, core.Sub) }, "run binary [1 0]", []string{"B_DST", "VEC4"}},
		{"binary_both_dst", func() error { return b.Binary(x, x, x, core.Max) }, "run binary [0]", []string{"A_DST", "B_DST"}},
		{"unary_in_place", func() error { return b.Unary(x, x, core.Act(core.ReLU)) }, "run unary [0]", []string{"INPLACE", "VEC4"}},
		{"unary", func() error { return b.Unary(y, x, core.Act(core.ReLU)) }, "run unary [0 1]", []string{"VEC4"}},
		{"copy", func() error {
			return b.Copy(y, x, core.Copy{Shape: []int{8}, SrcStrides: []int{1}, DstStrides: []int{1}})
		}, "run copy [0 1]", nil},
		// A nil bias binds the dummy buffer (created on first use: 4).
		{"matmul_no_bias", func() error { return b.MatMul(mk(2, 2), x, y, nil, core.MatMul{TransB: true}) }, "run matmul [0 1 3 4]", []string{"TRANS_B"}},
	} {
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := lastLog(); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		for _, d := range c.defsHas {
			if last().defs[d] == 0 {
				t.Errorf("%s: defs %v lack %s", c.name, last().defs, d)
			}
		}
	}
	x.Free()
	if err := b.Unary(y, x, core.Act(core.ReLU)); err == nil {
		t.Errorf("unary of a freed tensor: no error")
	}
}

func TestLost(t *testing.T) {
	f := &fakeDevice{}
	b := newBackend(f)
	x, err := b.Alloc(4)
	if err != nil {
		t.Fatal(err)
	}
	b.Free(x)
	b.Close()
	if _, err := b.Alloc(4); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("alloc after loss (from the pool): %v, want ErrDeviceLost", err)
	}
	if err := b.Sync(); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("sync after loss: %v, want ErrDeviceLost", err)
	}
}
