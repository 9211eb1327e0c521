package webgpu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"webcnn/core"
)

func TestPreprocess(t *testing.T) {
	src := "a\n//#if X\nb\n//#if !Y\nc\n//#else\nd\n//#endif\n//#else\ne\n//#endif\nf"
	for _, c := range []struct {
		d    defs
		want string
	}{
		{defs{}, "a\ne\nf\n"},
		{defs{"X": 1}, "a\nb\nc\nf\n"},
		{defs{"X": 1, "Y": 1}, "a\nb\nd\nf\n"},
		{defs{"X": 0, "Y": 1}, "a\ne\nf\n"},
	} {
		got, err := preprocess(src, c.d)
		if err != nil || got != c.want {
			t.Errorf("preprocess with %v = %q, %v; want %q", c.d, got, err, c.want)
		}
	}
	for _, bad := range []string{"//#if X\n", "//#endif\n", "//#else\n", "//#if X\n//#else\n//#else\n//#endif", "//#ifdef X\n", "//#if \n"} {
		if _, err := preprocess(bad, defs{}); err == nil {
			t.Errorf("preprocess(%q): no error", bad)
		}
	}
}

func TestDefsKey(t *testing.T) {
	a, b := defs{"B": 2, "A": 1}, defs{"A": 1, "B": 2}
	if a.key() != b.key() || a.key() != "A=1;B=2;" {
		t.Errorf("keys %q and %q, want both A=1;B=2;", a.key(), b.key())
	}
}

// TestActCoversEveryOp holds act.wgsl's switch to core's numbering: case
// n must be commented with the name of core.UnaryOp(n), for every op.
func TestActCoversEveryOp(t *testing.T) {
	raw, err := shaderFS.ReadFile("shaders/act.wgsl")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`case (\d+): \{.*// (\w+)`)
	seen := map[core.UnaryOp]bool{}
	for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
		n, _ := strconv.Atoi(m[1])
		op := core.UnaryOp(n)
		if op.String() != m[2] {
			t.Errorf("act.wgsl case %d is commented %s, core names op %d %s", n, m[2], n, op)
		}
		seen[op] = true
	}
	for op := core.UnaryOp(0); op.String() != "unary?"; op++ {
		if !seen[op] {
			t.Errorf("act.wgsl has no case for %s (%d)", op, op)
		}
	}
}

func TestCollapse(t *testing.T) {
	for _, c := range []struct {
		name    string
		shape   []int
		strides [][]int
		want    string
	}{
		// Concat of [2,3,4,5] into [2,3,4,8] at channel 0: rows of 5 stay
		// separate in dst (stride 8), the three outer axes merge.
		{"concat_channels", []int{2, 3, 4, 5}, [][]int{{60, 20, 5, 1}, {96, 32, 8, 1}}, "[24 5] [[5 1] [8 1]]"},
		{"contiguous", []int{2, 3, 4}, [][]int{{12, 4, 1}, {12, 4, 1}}, "[24] [[1] [1]]"},
		{"ones_dropped", []int{1, 3, 1, 4}, [][]int{{12, 4, 4, 1}, {12, 4, 4, 1}}, "[12] [[1] [1]]"},
		{"transpose", []int{3, 2}, [][]int{{1, 3}, {2, 1}}, "[3 2] [[1 3] [2 1]]"},
		// A channel vector broadcast over [2,5,5,4]: stride 0 over the
		// spatial axes, which merge; the channel axis stays.
		{"broadcast_channels", []int{2, 5, 5, 4}, [][]int{{0, 0, 0, 1}, {100, 20, 4, 1}}, "[50 4] [[0 1] [4 1]]"},
		{"scalar", []int{1, 1}, [][]int{{1, 1}}, "[] [[]]"},
		{"negative", []int{4, 3}, [][]int{{-3, -1}, {3, 1}}, "[12] [[-1] [1]]"},
	} {
		s, st := collapse(c.shape, c.strides...)
		if got := fmt.Sprint(s, st); got != c.want {
			t.Errorf("collapse %s %v %v = %s, want %s", c.name, c.shape, c.strides, got, c.want)
		}
	}
}

func TestPlanReduce(t *testing.T) {
	for _, c := range []struct {
		x, d core.Shape
		want string
	}{
		// Global average pool of NHWC: spatial axes merge into one reduced
		// axis of stride C.
		{core.Shape{2, 7, 7, 64}, core.Shape{2, 1, 1, 64}, "kept [2 64] [3136 1] red [49] [64] out 128 count 49"},
		{core.Shape{3, 10}, core.Shape{3, 1}, "kept [3] [10] red [10] [1] out 3 count 10"},
		{core.Shape{3, 10}, core.Shape{1, 1}, "kept [] [] red [30] [1] out 1 count 30"},
		{core.Shape{2, 3, 4}, core.Shape{1, 3, 1}, "kept [3] [4] red [2 4] [12 1] out 3 count 8"},
	} {
		p := planReduce(c.x, c.d)
		got := fmt.Sprintf("kept %v %v red %v %v out %d count %d", fmtInts(p.kept), fmtInts(p.keptStrides), fmtInts(p.red), fmtInts(p.redStrides), p.nOut, p.count)
		if got != c.want {
			t.Errorf("reduce %v to %v: %s, want %s", c.x, c.d, got, c.want)
		}
	}
}

func fmtInts(v []int) string {
	if v == nil {
		return "[]"
	}
	return fmt.Sprint(v)
}

func TestGrid(t *testing.T) {
	for _, c := range []struct {
		n, max int
		want   [3]int
	}{
		{1, 65535, [3]int{1, 1, 1}},
		{0, 65535, [3]int{1, 1, 1}},
		{65535, 65535, [3]int{65535, 1, 1}},
		{65536, 65535, [3]int{65535, 2, 1}},
		{10, 3, [3]int{3, 4, 1}},
	} {
		if got := grid(c.n, c.max); got != c.want {
			t.Errorf("grid(%d, %d) = %v, want %v", c.n, c.max, got, c.want)
		}
	}
	if got := linear(129, 65535); got != [3]int{3, 1, 1} {
		t.Errorf("linear(129) = %v, want 3 workgroups of 64", got)
	}
	for n, want := range map[int]int{0: 16, 1: 16, 4: 16, 5: 32, 8: 32, 9: 48} {
		if got := bufferSize(n); got != want {
			t.Errorf("bufferSize(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestChooseTile(t *testing.T) {
	for _, c := range []struct {
		m, n int
		want tile
	}{
		{1000, 64, tileSquare},
		{33, 33, tileSquare},
		{1000, 16, tileNarrow}, // few channels: 64x16
		{32, 16, tileSquare},
		{1, 1000, tileWide}, // dense layer at batch 1: 16x64
		{16, 33, tileWide},
		{17, 1000, tileSquare},
	} {
		if got := chooseTile(c.m, c.n); got != c.want {
			t.Errorf("chooseTile(%d, %d) = %v, want %v", c.m, c.n, got, c.want)
		}
	}
	// The loaders' index arithmetic needs these divisibilities.
	for _, tl := range []tile{tileSquare, tileNarrow, tileWide} {
		if tl.tm*tl.tn != tileThreads || tileThreads%tileK != 0 || tileThreads%tl.bm() != 0 ||
			tileThreads%tl.bn() != 0 || tl.bm()%(tileThreads/tileK) != 0 || (tl.bn()/4)*tileK%tileThreads != 0 && tileK%(tileThreads/(tl.bn()/4)) != 0 {
			t.Errorf("tile %v does not fit the loaders", tl)
		}
	}
}

func TestRowChunks(t *testing.T) {
	starts, counts := rowChunks(100, 32, 2)
	// Hand: 4 tiles of 32 rows, 2 per dispatch.
	if fmt.Sprint(starts, counts) != "[0 64] [2 2]" {
		t.Errorf("rowChunks(100, 32, 2) = %v %v", starts, counts)
	}
	starts, counts = rowChunks(5, 32, 65535)
	if fmt.Sprint(starts, counts) != "[0] [1]" {
		t.Errorf("rowChunks(5, 32, 65535) = %v %v", starts, counts)
	}
}

func TestChooseConv(t *testing.T) {
	for _, c := range []struct {
		name string
		x, w core.Shape
		p    core.Conv
		want convKind
	}{
		{"3x3", core.Shape{1, 8, 8, 16}, core.Shape{3, 3, 16, 32}, core.Conv{}, convGEMM},
		{"1x1", core.Shape{1, 8, 8, 16}, core.Shape{1, 1, 16, 32}, core.Conv{}, convPointwise},
		{"1x1_stride2", core.Shape{1, 8, 8, 16}, core.Shape{1, 1, 16, 32}, core.Conv{Stride: []int{2, 2}}, convGEMM},
		{"1x1_pad", core.Shape{1, 8, 8, 16}, core.Shape{1, 1, 16, 32}, core.Conv{PadBefore: []int{1, 0}, PadAfter: []int{0, 0}}, convGEMM},
		{"1x1_groups", core.Shape{1, 8, 8, 16}, core.Shape{1, 1, 8, 32}, core.Conv{Groups: 2}, convGEMM},
		{"depthwise", core.Shape{1, 8, 8, 16}, core.Shape{3, 3, 1, 16}, core.Conv{Groups: 16}, convDepthwise},
		{"depthwise_mult2", core.Shape{1, 8, 8, 16}, core.Shape{3, 3, 1, 32}, core.Conv{Groups: 16}, convDepthwise},
		{"one_channel", core.Shape{1, 28, 28, 1}, core.Shape{5, 5, 1, 6}, core.Conv{}, convDepthwise},
		{"1d_1x1", core.Shape{2, 9, 4}, core.Shape{1, 4, 8}, core.Conv{}, convPointwise},
	} {
		out, err := core.ConvShape(c.x, c.w, c.p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, kind, err := convKernels(c.x, c.w, out, c.p, false, defaultLimits)
		if err != nil || kind != c.want {
			t.Errorf("%s: kernel %v (%v), want %v", c.name, kind, err, c.want)
		}
	}
}

// TestUniforms packs each planner's uniforms and reads them back through
// the field layout of the shader's WGSL struct, so that Go's packing order
// and the shaders' structs cannot drift apart.
func TestUniforms(t *testing.T) {
	lim := defaultLimits
	f := func(v float32) float64 { return float64(v) }

	k, err := unaryKernel(12, core.Unary{Op: core.Clip, Alpha: -1, Beta: 2.5}, false, lim)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, k).expect(t, "unary", map[string][]float64{"n": {3}, "alpha": {-1}, "beta": {2.5}})
	if k.defs["VEC4"] != 1 || k.defs["ACT"] != int(core.Clip) || k.groups != [3]int{1, 1, 1} {
		t.Errorf("unary of 12: defs %v groups %v", k.defs, k.groups)
	}

	k, err = binaryKernel(core.Shape{2, 3, 4}, core.Shape{2, 3, 4}, core.Shape{1, 1, 4}, core.Mul, false, false, lim)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, k).expect(t, "binary", map[string][]float64{"shape": {6, 4, 1}, "sa": {4, 1}, "sb": {0, 1}, "n": {24}, "rank": {2}})

	k, err = reduceKernel(core.Shape{2, 5, 5, 8}, core.Shape{2, 1, 1, 8}, core.Mean, lim)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, k).expect(t, "reduce", map[string][]float64{"kept": {2, 8}, "keptStrides": {200, 1}, "red": {25}, "redStrides": {8},
		"nOut": {16}, "count": {25}, "keptRank": {2}, "redRank": {1}})

	k, err = copyKernel(core.Copy{Shape: []int{2, 3}, SrcOffset: 1, SrcStrides: []int{1, 2}, DstOffset: 4, DstStrides: []int{3, 1}}, false, lim)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, k).expect(t, "copy", map[string][]float64{"shape": {2, 3}, "ss": {1, 2}, "ds": {3, 1}, "srcOff": {1}, "dstOff": {4}, "n": {6}, "rank": {2}})

	// A 2-D pool: depth padded to 1; C = 6 is not a multiple of 4.
	k = poolKernel(core.Shape{2, 7, 6, 6}, core.Shape{2, 4, 3, 6}, core.Pool{Op: core.AvgPool, Kernel: []int{3, 2}, Stride: []int{2, 2},
		PadBefore: []int{1, 0}, PadAfter: []int{1, 0}, CountIncludePad: true}, lim)
	decode(t, k).expect(t, "pool", map[string][]float64{"inSize": {1, 7, 6}, "outSize": {1, 4, 3}, "k": {1, 3, 2}, "stride": {1, 2, 2},
		"padB": {0, 1, 0}, "padA": {0, 1, 0}, "c": {6}, "n": {2 * 4 * 3 * 6}})
	if k.defs["INCLUDE_PAD"] != 1 || k.defs["VEC4"] != 0 {
		t.Errorf("pool defs %v", k.defs)
	}

	ks, err := matmulKernels(5, 8, 12, false, false, true, core.Unary{Op: core.LeakyReLU, Alpha: 0.25}, lim)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, ks[0]).expect(t, "matmul", map[string][]float64{"m": {5}, "n": {8}, "k": {12}, "mBase": {0},
		"act": {float64(core.LeakyReLU)}, "hasBias": {1}, "alpha": {f(0.25)}, "beta": {0}})
	if d := ks[0].defs; d["VEC_A"] != 1 || d["VEC_B"] != 1 || d["VEC_OUT"] != 1 || d["TRANS_A"] != 0 {
		t.Errorf("matmul 5x12x8 defs %v", d)
	}

	// Grouped 2-D conv, stride 2, pad 1: M = 2*4*4, K = 3*3*4.
	x, w := core.Shape{2, 8, 7, 8}, core.Shape{3, 3, 4, 6}
	p := core.Conv{Stride: []int{2, 2}, PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, Groups: 2, Act: core.Act(core.ReLU6)}
	out, err := core.ConvShape(x, w, p)
	if err != nil {
		t.Fatal(err)
	}
	ks, kind, err := convKernels(x, w, out, p, false, lim)
	if err != nil || kind != convGEMM {
		t.Fatal(kind, err)
	}
	decode(t, ks[0]).expect(t, "conv", map[string][]float64{"inSize": {1, 8, 7}, "outSize": {1, 4, 4}, "kSize": {1, 3, 3},
		"stride": {1, 2, 2}, "dil": {1, 1, 1}, "pad": {0, 1, 1}, "cin": {8}, "cout": {6}, "cinG": {4}, "coutG": {3},
		"m": {32}, "k": {36}, "mBase": {0}, "act": {float64(core.ReLU6)}, "hasBias": {0}})
	if ks[0].groups[2] != 2 || ks[0].defs["VEC_A"] != 1 || ks[0].defs["VEC_B"] != 0 {
		t.Errorf("conv groups %v defs %v", ks[0].groups, ks[0].defs)
	}

	// Depthwise 3x3 with multiplier 2 on [1, 5, 5, 3], same padding.
	x, w = core.Shape{1, 5, 5, 3}, core.Shape{3, 3, 1, 6}
	p = core.Conv{PadBefore: []int{1, 1}, PadAfter: []int{1, 1}, Groups: 3}
	ks, kind, err = convKernels(x, w, core.Shape{1, 5, 5, 6}, p, true, lim)
	if err != nil || kind != convDepthwise {
		t.Fatal(kind, err)
	}
	decode(t, ks[0]).expect(t, "depthwise", map[string][]float64{"inSize": {1, 5, 5}, "kSize": {1, 3, 3}, "pad": {0, 1, 1},
		"cin": {3}, "cout": {6}, "mult": {2}, "c": {6}, "n": {150}, "hasBias": {1}})
}

// TestSources preprocesses every kernel under each flag it reads, so a
// broken directive or a missing file fails natively.
func TestSources(t *testing.T) {
	entries, err := shaderFS.ReadDir("shaders")
	if err != nil {
		t.Fatal(err)
	}
	flagRe := regexp.MustCompile(`//#if !?(\w+)`)
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".wgsl")
		raw, _ := shaderFS.ReadFile("shaders/" + e.Name())
		if name == "act" {
			continue
		}
		if !strings.Contains(string(raw), "fn main(") {
			t.Errorf("%s: no entry point main", e.Name())
		}
		flags := map[string]bool{}
		for _, m := range flagRe.FindAllStringSubmatch(string(raw), -1) {
			flags[m[1]] = true
		}
		for fl := range flags {
			for _, v := range []int{0, 1} {
				src, err := source(name, defs{fl: v, "TM": 8, "TN": 8, "BK": 16, "WG": 64, "ACT": 0})
				if err != nil {
					t.Errorf("%s with %s=%d: %v", name, fl, v, err)
				}
				if strings.Contains(src, "//#") {
					t.Errorf("%s: a directive survived preprocessing", name)
				}
			}
		}
	}
}
