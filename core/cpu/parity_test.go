package cpu_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"testing"

	"webcnn/core"
	"webcnn/core/cpu"
)

// The same kernels must give the same numbers natively and compiled to
// js/wasm. `make test` runs TestNativeWasmParity natively with
// CNN_PARITY_WRITE=file, then under Node with CNN_PARITY_READ=file: the
// wasm run compares each output with the native one.
//
// Stated tolerance: bit-for-bit for everything but transcendental
// functions, where Go's math package may use assembly natively (Exp, Log)
// and pure Go in wasm: at most 4 ulp there.

// battery runs a fixed set of ops on seeded inputs and returns their
// outputs by name, in order.
func battery(t *testing.T, b core.Backend) (names []string, outs [][]float32) {
	g := core.NewRNG(7)
	rnd := func(s core.Shape) *core.Tensor {
		d := make([]float32, s.Size())
		for i := range d {
			d[i] = g.Float32()*4 - 2
		}
		x, err := core.FromData(b, s, d)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	add := func(name string, y *core.Tensor, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d, err := y.Data()
		if err != nil {
			t.Fatal(err)
		}
		names, outs = append(names, name), append(outs, d)
	}
	x := rnd(core.Shape{2, 9, 11, 5})
	w := rnd(core.Shape{3, 3, 5, 7})
	bias := rnd(core.Shape{7})
	y, err := core.Convolve(x, w, bias, core.Conv{Stride: []int{2, 1}, PadBefore: []int{1, 0}, PadAfter: []int{1, 2}, Act: core.Act(core.ReLU)})
	add("conv3x3", y, err)
	// 16 channels and more, stride 1: the Winograd path.
	xw, ww := rnd(core.Shape{2, 9, 11, 16}), rnd(core.Shape{3, 3, 16, 17})
	y, err = core.Convolve(xw, ww, rnd(core.Shape{17}), core.Conv{PadBefore: []int{1, 0}, PadAfter: []int{1, 2}, Act: core.Act(core.ReLU)})
	add("conv3x3_winograd", y, err)
	dw := rnd(core.Shape{3, 3, 1, 5})
	y, err = core.Convolve(x, dw, nil, core.Conv{Groups: 5, Dilation: []int{2, 2}})
	add("depthwise", y, err)
	a, m := rnd(core.Shape{37, 45}), rnd(core.Shape{45, 29})
	y, err = core.MatMulT(a, m, nil, core.MatMul{})
	add("matmul", y, err)
	// The paths MobileNetV2 takes: a 1x1 conv (GEMM on the input in
	// place, bias and ReLU6 fused), a depthwise 3x3 with stride 2, a
	// vector-matrix product (gemv) and a per-channel broadcast.
	pw, pb := rnd(core.Shape{1, 1, 5, 11}), rnd(core.Shape{11})
	y, err = core.Convolve(x, pw, pb, core.Conv{Act: core.Act(core.ReLU6)})
	add("pointwise", y, err)
	dw2 := rnd(core.Shape{3, 3, 1, 5})
	y, err = core.Convolve(x, dw2, rnd(core.Shape{5}), core.Conv{Groups: 5, Stride: []int{2, 2}, PadBefore: []int{0, 0}, PadAfter: []int{1, 1}, Act: core.Act(core.ReLU6)})
	add("depthwise_s2", y, err)
	v, mb := rnd(core.Shape{1, 45}), rnd(core.Shape{29})
	y, err = core.MatMulT(v, m, mb, core.MatMul{})
	add("gemv", y, err)
	y, err = core.Elementwise(x, rnd(core.Shape{1, 1, 1, 5}), core.Mul)
	add("broadcast_mul", y, err)
	y, err = core.PoolND(x, core.Pool{Op: core.AvgPool, Kernel: []int{3, 3}, Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, CeilMode: true})
	add("avgpool", y, err)
	for op := core.Identity; op <= core.Clip; op++ {
		f := core.Unary{Op: op, Alpha: 0.3, Beta: 1.5}
		in := x
		if op == core.Sqrt || op == core.Rsqrt || op == core.Log || op == core.Pow {
			in, _ = core.Apply(x, core.Unary{Op: core.Abs})
		}
		y, err = core.Apply(in, f)
		add(op.String(), y, err)
	}
	y, err = core.Softmax(x, -1)
	add("softmax", y, err)
	gamma, beta := rnd(core.Shape{5}), rnd(core.Shape{5})
	y, err = core.GroupNorm(x, 5, gamma, beta, 1e-5)
	add("instance_norm", y, err)
	y, err = core.LRN(x, 3, 1e-2, 0.75, 1)
	add("lrn", y, err)
	return names, outs
}

func TestNativeWasmParity(t *testing.T) {
	write, read := os.Getenv("CNN_PARITY_WRITE"), os.Getenv("CNN_PARITY_READ")
	if write == "" && read == "" {
		t.Skip("set CNN_PARITY_WRITE (native) or CNN_PARITY_READ (wasm): see `make test`")
	}
	names, outs := battery(t, cpu.New())
	if write != "" {
		var buf []byte
		for _, o := range outs {
			for _, v := range o {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
		}
		if err := os.WriteFile(write, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	buf, err := os.ReadFile(read)
	if err != nil {
		t.Fatal(err)
	}
	at, exact := 0, 0
	for k, o := range outs {
		worst := 0
		for i, v := range o {
			if at+4 > len(buf) {
				t.Fatalf("%s: native file %s ends early", names[k], read)
			}
			w := math.Float32frombits(binary.LittleEndian.Uint32(buf[at:]))
			at += 4
			d := ulps(v, w)
			if d > worst {
				worst = d
			}
			if d > 4 {
				t.Errorf("%s[%d]: %s %v, native %v (%d ulp)", names[k], i, runtime.GOARCH, v, w, d)
				break
			}
		}
		if worst == 0 {
			exact++
		} else {
			t.Logf("%s: max %d ulp from native", names[k], worst)
		}
	}
	fmt.Printf("parity: %d of %d ops bit-identical to native, the rest within 4 ulp\n", exact, len(outs))
}

// ulps is the distance between two float32 values in units of the last place.
func ulps(a, b float32) int {
	if a == b || (a != a && b != b) {
		return 0
	}
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia < 0x80000000 != (ib < 0x80000000) {
		return math.MaxInt32
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return int(d)
}
