package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"webcnn/core/weights"
)

// npyHeader matches the header dict of a .npy file (NumPy's format
// 1.0-3.0): {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 48, 192), }.
var npyHeader = regexp.MustCompile(`^\{\s*'descr':\s*'([<>|=]?[a-z]\d+)',\s*'fortran_order':\s*(True|False),\s*'shape':\s*\(([\d,\s]*)\),?\s*\}`)

// readNPY reads a .npy file of float32, float64, float16, int8/16/32/64 or
// uint8 values in C order (little-endian or byte-sized) as float32, with
// its shape.
func readNPY(path string) ([]float32, []int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	bad := func(format string, a ...any) ([]float32, []int, error) {
		return nil, nil, fmt.Errorf("%s: not a .npy array this reads: %s", path, fmt.Sprintf(format, a...))
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return bad("no \\x93NUMPY magic")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return bad("truncated header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		return bad("format version %d.%d", b[6], b[7])
	}
	if hlen > len(b)-start {
		return bad("truncated header (%d bytes, the file has %d)", hlen, len(b)-start)
	}
	m := npyHeader.FindStringSubmatch(string(b[start : start+hlen]))
	if m == nil {
		return bad("header %q", strings.TrimSpace(string(b[start:start+hlen])))
	}
	if m[2] == "True" {
		return bad("fortran_order True: save it in C order (np.ascontiguousarray)")
	}
	var shape []int
	n := 1
	for _, f := range strings.Split(m[3], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 || d > 1<<30 || (d > 0 && n > (1<<31)/d) {
			return bad("shape (%s)", m[3])
		}
		shape = append(shape, d)
		n *= d
	}
	descr := m[1]
	typ := strings.TrimLeft(descr, "<>|=")
	kind, size := typ[:1], typ[1:]
	if descr[0] == '>' && size != "1" {
		return bad("big-endian %s", descr)
	}
	es, _ := strconv.Atoi(size)
	data := b[start+hlen:]
	if es == 0 || len(data) != n*es {
		return bad("%d bytes of %s data for shape %v (want %d)", len(data), descr, shape, n*es)
	}
	out := make([]float32, n)
	for i := range out {
		p := data[i*es:]
		switch kind + size {
		case "f4":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(p))
		case "f8":
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(p)))
		case "f2":
			out[i] = weights.F16ToF32(binary.LittleEndian.Uint16(p))
		case "i1":
			out[i] = float32(int8(p[0]))
		case "u1", "b1":
			out[i] = float32(p[0])
		case "i2":
			out[i] = float32(int16(binary.LittleEndian.Uint16(p)))
		case "i4":
			out[i] = float32(int32(binary.LittleEndian.Uint32(p)))
		case "i8":
			out[i] = float32(int64(binary.LittleEndian.Uint64(p)))
		default:
			return bad("dtype %s (want float32, float64, float16, int8-64, uint8 or bool)", descr)
		}
	}
	return out, shape, nil
}

// writeNPY writes float32 values of the given shape as a .npy file
// (format 1.0, '<f4', C order), which np.load reads.
func writeNPY(path string, v []float32, shape []int) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	pad := 64 - (10+len(h)+1)%64
	if pad == 64 {
		pad = 0
	}
	h += strings.Repeat(" ", pad) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	b.Write(raw)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
