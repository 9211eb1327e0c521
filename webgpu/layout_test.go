package webgpu

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// field is one member of a WGSL uniform struct with its byte offset.
type field struct {
	name, typ string
	off       int
}

var (
	structRe = regexp.MustCompile(`(?s)struct Params \{(.*?)\n\}`)
	fieldRe  = regexp.MustCompile(`^\s*(\w+)\s*:\s*(array<[^>]*>,\s*\d+>|[^,/]+?)\s*,`)
	arrayRe  = regexp.MustCompile(`^array<vec4<(i32|f32|u32)>,\s*(\d+)>$`)
)

// paramsLayout parses the Params struct of a WGSL source and lays it out
// by WGSL's uniform rules (scalars 4 bytes, vec3/vec4 aligned to 16, arrays
// of vec4 16 bytes per element): the fields and the struct's size.
func paramsLayout(src string) ([]field, int, error) {
	m := structRe.FindStringSubmatch(src)
	if m == nil {
		return nil, 0, fmt.Errorf("no struct Params")
	}
	var fs []field
	off := 0
	for _, line := range strings.Split(m[1], "\n") {
		f := fieldRe.FindStringSubmatch(line)
		if f == nil {
			continue
		}
		size, align := 0, 0
		switch t := f[2]; {
		case t == "i32" || t == "f32" || t == "u32":
			size, align = 4, 4
		case t == "vec4<i32>" || t == "vec4<f32>":
			size, align = 16, 16
		case arrayRe.MatchString(t):
			n, _ := strconv.Atoi(arrayRe.FindStringSubmatch(t)[2])
			size, align = 16*n, 16
		default:
			return nil, 0, fmt.Errorf("field %s: type %s not handled", f[1], t)
		}
		off = (off + align - 1) / align * align
		fs = append(fs, field{f[1], f[2], off})
		off += size
	}
	return fs, (off + 15) / 16 * 16, nil
}

// decoded reads a kernel's uniform words back by the shader's field names:
// scalars as float64 (f32 fields by their bits), vectors as their first
// entries.
type decoded map[string][]float64

func decode(t *testing.T, k *kernel) decoded {
	t.Helper()
	src, err := source(k.shader, k.defs)
	if err != nil {
		t.Fatalf("%s: %v", k.shader, err)
	}
	fs, size, err := paramsLayout(src)
	if err != nil {
		t.Fatalf("%s: %v", k.shader, err)
	}
	if got := 4 * len(k.params); got != size {
		t.Errorf("%s: %d bytes of uniforms packed, the WGSL struct Params has %d", k.shader, got, size)
	}
	out := decoded{}
	for _, f := range fs {
		n := 1
		switch {
		case strings.HasPrefix(f.typ, "vec4"):
			n = 4
		case strings.HasPrefix(f.typ, "array"):
			c, _ := strconv.Atoi(arrayRe.FindStringSubmatch(f.typ)[2])
			n = 4 * c
		}
		for i := 0; i < n; i++ {
			w := f.off/4 + i
			if w >= len(k.params) {
				t.Fatalf("%s: field %s past the packed words", k.shader, f.name)
			}
			v := float64(int32(k.params[w]))
			if f.typ == "f32" {
				v = float64(math.Float32frombits(k.params[w]))
			}
			out[f.name] = append(out[f.name], v)
		}
	}
	return out
}

// expect checks decoded fields against want: name -> leading values.
func (d decoded) expect(t *testing.T, what string, want map[string][]float64) {
	t.Helper()
	for name, w := range want {
		got, ok := d[name]
		if !ok {
			t.Errorf("%s: no uniform field %s", what, name)
			continue
		}
		for i := range w {
			if i >= len(got) || got[i] != w[i] {
				t.Errorf("%s: field %s = %v, want %v", what, name, got, w)
				break
			}
		}
	}
}

func TestParamsLayout(t *testing.T) {
	fs, size, err := paramsLayout("struct Params {\n\ta: i32,\n\tv: vec4<i32>,\n\tarr: array<vec4<i32>, 2>,\n\tb: f32, // note\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	// Hand: a at 0, v aligned to 16, arr at 32 (32 bytes), b at 64; size 80.
	want := []field{{"a", "i32", 0}, {"v", "vec4<i32>", 16}, {"arr", "array<vec4<i32>, 2>", 32}, {"b", "f32", 64}}
	if fmt.Sprint(fs) != fmt.Sprint(want) || size != 80 {
		t.Errorf("layout %v size %d, want %v size 80", fs, size, want)
	}
}
