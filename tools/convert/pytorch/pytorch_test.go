package pytorch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	gpt "github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"

	"webcnn/core/weights"
)

// gopickleTestdata is the folder of real torch-written files that the
// gopickle module ships (made by its testdata/generate_fixtures.py).
func gopickleTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/nlpodyssey/gopickle").Output()
	if err != nil {
		t.Fatalf("go list gopickle: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "pytorch", "testdata")
}

// bf16 rounds a float32 to bfloat16 (nearest, ties to even), as torch
// does when it makes a bfloat16 tensor.
func bf16(f float32) float32 {
	b := math.Float32bits(f)
	return math.Float32frombits((b + 0x7fff + (b >> 16 & 1)) &^ 0xffff)
}

func half(f float32) float32 { return weights.F16ToF32(weights.F32ToF16(f)) }

// TestGopickleFixtures reads gopickle's real torch.save files: every dtype,
// pickle protocols 1 to 5, zip and legacy. The values are those of
// generate_fixtures.py (torch.tensor([1.2, -3.4, 5.6, -7.8], dtype=...),
// [1, -2, 3, -4] for the signed integers, [1, 10, 100, 255] for uint8,
// [True, False, True, False] for bool), which gopickle's pytorch_test.go
// checks with tolerances (0.002 for float16, 0.013 for bfloat16); here
// exactly: float32 of the decimal, its nearest float16 and bfloat16, and
// float64 rounded to float32. Each file is also read by gopickle's own
// pytorch.Load and the values must agree.
func TestGopickleFixtures(t *testing.T) {
	dir := gopickleTestdata(t)
	fl := []float32{1.2, -3.4, 5.6, -7.8}
	round := func(f func(float32) float32) []float32 {
		out := make([]float32, len(fl))
		for i, v := range fl {
			out[i] = f(v)
		}
		return out
	}
	ints := []float32{1, -2, 3, -4}
	for _, tc := range []struct {
		dtype string
		want  []float32
	}{
		{"float32", fl}, {"float64", fl}, {"float16", round(half)}, {"bfloat16", round(bf16)},
		{"int8", ints}, {"int16", ints}, {"int32", ints}, {"int64", ints},
		{"uint8", []float32{1, 10, 100, 255}}, {"bool", []float32{1, 0, 1, 0}},
	} {
		for proto := 1; proto <= 5; proto++ {
			for _, zipped := range []string{"", "_zip"} {
				name := filepath.Join(dir, fmt.Sprintf("tensor_%s_proto%d%s.pt", tc.dtype, proto, zipped))
				ts, err := ReadFile(name)
				if err != nil {
					t.Errorf("%s: %v", filepath.Base(name), err)
					continue
				}
				if len(ts) != 1 || ts[0].Name != "" || !reflect.DeepEqual(ts[0].Shape, []int{4}) || !reflect.DeepEqual(ts[0].Data, tc.want) {
					t.Errorf("%s: got %+v, want one tensor [4] %v", filepath.Base(name), ts, tc.want)
					continue
				}
				if g := gopickleValues(t, name); !reflect.DeepEqual(g, tc.want) {
					t.Errorf("%s: gopickle's pytorch.Load gives %v, we %v", filepath.Base(name), g, tc.want)
				}
			}
		}
	}
}

// gopickleValues reads a one-tensor file with gopickle's pytorch.Load.
func gopickleValues(t *testing.T, name string) []float32 {
	t.Helper()
	v, err := gpt.Load(name)
	if err != nil {
		t.Fatalf("gopickle %s: %v", name, err)
	}
	tt, ok := v.(*gpt.Tensor)
	if !ok {
		t.Fatalf("gopickle %s: %T", name, v)
	}
	var out []float32
	conv := func(n int, f func(i int) float32) {
		for i := range n {
			out = append(out, f(i))
		}
	}
	switch s := tt.Source.(type) {
	case *gpt.FloatStorage:
		out = s.Data
	case *gpt.HalfStorage:
		out = s.Data
	case *gpt.BFloat16Storage:
		out = s.Data
	case *gpt.DoubleStorage:
		conv(len(s.Data), func(i int) float32 { return float32(s.Data[i]) })
	case *gpt.CharStorage:
		conv(len(s.Data), func(i int) float32 { return float32(s.Data[i]) })
	case *gpt.ShortStorage:
		conv(len(s.Data), func(i int) float32 { return float32(s.Data[i]) })
	case *gpt.IntStorage:
		conv(len(s.Data), func(i int) float32 { return float32(s.Data[i]) })
	case *gpt.LongStorage:
		conv(len(s.Data), func(i int) float32 { return float32(s.Data[i]) })
	case *gpt.ByteStorage:
		conv(len(s.Data), func(i int) float32 { return float32(s.Data[i]) })
	case *gpt.BoolStorage:
		conv(len(s.Data), func(i int) float32 {
			if s.Data[i] {
				return 1
			}
			return 0
		})
	default:
		t.Fatalf("gopickle %s: storage %T", name, tt.Source)
	}
	return out
}

// TestWriterMatchesTorch holds our pickler to torch's bytes: a lone
// float32 tensor [4] pickled by us is byte for byte the data.pkl that
// torch 1.x wrote into gopickle's tensor_float32_proto2_zip.pt, and the
// archive has the same records (with our folder name, plus byteorder,
// which torch >= 1.10 writes too).
func TestWriterMatchesTorch(t *testing.T) {
	real := filepath.Join(gopickleTestdata(t), "tensor_float32_proto2_zip.pt")
	zr, err := zip.OpenReader(real)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	recs := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b := new(bytes.Buffer)
		b.ReadFrom(rc)
		rc.Close()
		recs[strings.TrimPrefix(f.Name, "tensor_float32_proto2_zip/")] = b.Bytes()
		if f.Method != zip.Store {
			t.Errorf("torch stored %s with method %d", f.Name, f.Method)
		}
	}
	var p pickler
	p.op(0x80, 2)
	p.tensor(view{key: "0", size: []int{4}, stride: []int{1}}, 4, false)
	p.op('.')
	if !bytes.Equal(p.b.Bytes(), recs["data.pkl"]) {
		t.Errorf("our pickle of a lone tensor:\n%q\ntorch's:\n%q", p.b.Bytes(), recs["data.pkl"])
	}
	var buf bytes.Buffer
	if err := Write(&buf, []weights.Tensor{{Name: "w", Shape: []int{4}, Data: []float32{1.2, -3.4, 5.6, -7.8}}}); err != nil {
		t.Fatal(err)
	}
	ours, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range ours.File {
		names = append(names, f.Name)
		if f.Method != zip.Store {
			t.Errorf("we stored %s with method %d", f.Name, f.Method)
		}
		if f.Name == "archive/data/0" {
			rc, _ := f.Open()
			b := new(bytes.Buffer)
			b.ReadFrom(rc)
			rc.Close()
			if !bytes.Equal(b.Bytes(), recs["data/0"]) {
				t.Errorf("storage bytes %x, torch's %x", b.Bytes(), recs["data/0"])
			}
		}
	}
	if want := "archive/data.pkl archive/data/0 archive/version archive/byteorder"; strings.Join(names, " ") != want {
		t.Errorf("records %v, want %s", names, want)
	}
	if string(recs["version"]) != "3\n" {
		t.Errorf("torch's version record %q (ours is \"3\\n\")", recs["version"])
	}
}

// sample is a state_dict with the shapes of a small CNN, a scalar, and
// values that are distinct per element.
func sample(n int) []weights.Tensor {
	shapes := [][]int{{6, 1, 5, 5}, {6}, {10, 96}, {10}, {}, {2, 3, 1, 1}}
	var ts []weights.Tensor
	for i := range n {
		s := shapes[i%len(shapes)]
		size := 1
		for _, d := range s {
			size *= d
		}
		d := make([]float32, size)
		for j := range d {
			d[j] = float32(i) + float32(j)/1024 - 0.5
		}
		ts = append(ts, weights.Tensor{Name: "layer" + strconv.Itoa(i) + ".weight", Shape: s, Data: d})
	}
	return ts
}

// TestWriteReadBack writes state_dicts with Write and reads them with Read
// and with gopickle's pytorch.Load. 1001 tensors take the memo past 255
// (LONG_BINPUT/LONG_BINGET) and the items past one SETITEMS batch.
func TestWriteReadBack(t *testing.T) {
	for _, n := range []int{1, 6, 1001} {
		want := sample(n)
		name := filepath.Join(t.TempDir(), "sd.pth")
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := Write(f, want); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, err := ReadFile(name)
		if err != nil {
			t.Fatalf("%d tensors: %v", n, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%d tensors: read back differs", n)
		}
		v, err := gpt.Load(name)
		if err != nil {
			t.Fatalf("%d tensors: gopickle: %v", n, err)
		}
		od, ok := v.(*types.OrderedDict)
		if !ok || od.Len() != n {
			t.Fatalf("%d tensors: gopickle gives %T", n, v)
		}
		i := 0
		for e := od.List.Front(); e != nil; e = e.Next() {
			kv := e.Value.(*types.OrderedDictEntry)
			tt := kv.Value.(*gpt.Tensor)
			if kv.Key != want[i].Name || !reflect.DeepEqual(tt.Source.(*gpt.FloatStorage).Data, want[i].Data) ||
				fmt.Sprint(tt.Size) != fmt.Sprint(want[i].Shape) {
				t.Fatalf("%d tensors: gopickle's entry %d is %v %v, want %s %v", n, i, kv.Key, tt.Size, want[i].Name, want[i].Shape)
			}
			i++
		}
	}
}

// legacyFile writes the format of torch.save before PyTorch 1.6 the way
// torch does (magic, protocol, system info, the state_dict, the storage
// keys, then each storage's int64 element count and bytes), pickle
// protocol 2.
func legacyFile(vs []view, storages map[string][]float32, keys []string) []byte {
	var out bytes.Buffer
	out.Write([]byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e")) // LONG1 0x1950a86a20f9469cfc6c
	out.Write([]byte("\x80\x02M\xe9\x03."))                                           // 1001
	var info pickler
	info.op(0x80, 2, '}')
	info.put("")
	info.op('(')
	info.str("protocol_version")
	info.int(1001)
	info.str("little_endian")
	info.op(0x88)
	info.str("type_sizes")
	info.op('}')
	info.put("")
	info.op('(')
	for _, kv := range []struct {
		k string
		n int
	}{{"short", 2}, {"int", 4}, {"long", 4}} {
		info.str(kv.k)
		info.int(kv.n)
	}
	info.op('u', 'u', '.')
	out.Write(info.b.Bytes())
	var p pickler
	p.op(0x80, 2)
	if len(vs) == 1 && vs[0].name == "" {
		p.tensor(vs[0], len(storages[vs[0].key]), true)
	} else {
		p.stateDict(vs, func(v view) int { return len(storages[v.key]) }, true)
	}
	p.op('.')
	out.Write(p.b.Bytes())
	var k pickler
	k.op(0x80, 2, ']')
	k.put("")
	if len(keys) > 1 {
		k.op('(')
	}
	for _, key := range keys {
		k.str(key)
	}
	if len(keys) > 1 {
		k.op('e', '.')
	} else {
		k.op('a', '.')
	}
	out.Write(k.b.Bytes())
	for _, key := range keys {
		out.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(storages[key]))))
		out.Write(float32Bytes(storages[key]))
	}
	return out.Bytes()
}

// TestLegacy checks our legacy writer against torch's bytes (the whole of
// gopickle's tensor_float32_proto2.pt), then reads a legacy state_dict
// with views sharing a storage.
func TestLegacy(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(gopickleTestdata(t), "tensor_float32_proto2.pt"))
	if err != nil {
		t.Fatal(err)
	}
	key := "94282293536288" // the storage key torch wrote (the storage's address)
	ours := legacyFile([]view{{key: key, size: []int{4}, stride: []int{1}}},
		map[string][]float32{key: {1.2, -3.4, 5.6, -7.8}}, []string{key})
	if !bytes.Equal(ours, real) {
		t.Fatalf("our legacy file:\n%q\ntorch's:\n%q", ours, real)
	}

	st := map[string][]float32{"a": {0, 1, 2, 3, 4, 5}, "b": {7}}
	vs := []view{
		{name: "w", key: "a", size: []int{2, 3}, stride: []int{3, 1}},
		{name: "wT", key: "a", size: []int{3, 2}, stride: []int{1, 3}}, // w.t()
		{name: "row1", key: "a", offset: 3, size: []int{3}, stride: []int{1}},
		{name: "s", key: "b", size: []int{}, stride: []int{}},
	}
	b := legacyFile(vs, st, []string{"a", "b"})
	got, err := Read(bytes.NewReader(b), int64(len(b)), "legacy.pth")
	if err != nil {
		t.Fatal(err)
	}
	want := []weights.Tensor{
		{Name: "w", Shape: []int{2, 3}, Data: []float32{0, 1, 2, 3, 4, 5}},
		{Name: "wT", Shape: []int{3, 2}, Data: []float32{0, 3, 1, 4, 2, 5}},
		{Name: "row1", Shape: []int{3}, Data: []float32{3, 4, 5}},
		{Name: "s", Shape: []int{}, Data: []float32{7}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("legacy state_dict: got %+v\nwant %+v", got, want)
	}
}

// zipFile pickles a state_dict object written by body and zips it with
// float32 storages.
func zipFile(t *testing.T, body func(p *pickler), storages map[string][]float32, keys []string) []byte {
	t.Helper()
	var p pickler
	p.op(0x80, 2)
	body(&p)
	p.op('.')
	st := map[string][]byte{}
	for k, v := range storages {
		st[k] = float32Bytes(v)
	}
	var buf bytes.Buffer
	if err := writeZip(&buf, "archive", p.b.Bytes(), keys, st); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCheckpointDict reads a training checkpoint {"epoch": 3,
// "state_dict": OrderedDict(...)} saved from DataParallel ("module."
// names) with the _metadata attribute torch sets on state_dicts.
func TestCheckpointDict(t *testing.T) {
	st := map[string][]float32{"0": {1, 2}, "1": {3}}
	vs := []view{
		{name: "module.fc.weight", key: "0", size: []int{1, 2}, stride: []int{2, 1}},
		{name: "module.fc.bias", key: "1", size: []int{1}, stride: []int{1}},
	}
	b := zipFile(t, func(p *pickler) {
		p.op('}')
		p.put("")
		p.op('(')
		p.str("epoch")
		p.int(3)
		p.str("state_dict")
		p.stateDict(vs, func(v view) int { return len(st[v.key]) }, false)
		// BUILD {"_metadata": OrderedDict()} on the state_dict
		p.op('}')
		p.put("")
		p.str("_metadata")
		p.global("collections", "OrderedDict")
		p.op(')', 'R', 's', 'b')
		p.str("optimizer")
		p.op('N', 'u')
	}, st, []string{"0", "1"})
	got, err := Read(bytes.NewReader(b), int64(len(b)), "ckpt.pth")
	if err != nil {
		t.Fatal(err)
	}
	want := []weights.Tensor{{Name: "fc.weight", Shape: []int{1, 2}, Data: []float32{1, 2}}, {Name: "fc.bias", Shape: []int{1}, Data: []float32{3}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestErrors(t *testing.T) {
	one := func(size []int, stride []int, offset int, class string) func(p *pickler) {
		return func(p *pickler) {
			p.global("collections", "OrderedDict")
			p.op(')', 'R')
			p.put("")
			p.str("fc.weight")
			p.global("torch._utils", "_rebuild_tensor_v2")
			p.op('(', '(')
			p.str("storage")
			p.global("torch", class)
			p.str("0")
			p.str("cpu")
			p.int(4)
			p.op('t', 'Q')
			p.int(offset)
			p.tuple(size)
			p.tuple(stride)
			p.op(0x89, ')', 't', 'R', 's')
		}
	}
	four := map[string][]float32{"0": {1, 2, 3, 4}}
	var torchScript, bigEndian, noPkl bytes.Buffer
	zw := zip.NewWriter(&torchScript)
	for _, n := range []string{"m/data.pkl", "m/constants.pkl"} {
		w, _ := zw.Create(n)
		w.Write([]byte("\x80\x02N."))
	}
	zw.Close()
	zw = zip.NewWriter(&noPkl)
	w, _ := zw.Create("m/other.pkl")
	w.Write([]byte("\x80\x02N."))
	zw.Close()
	zw = zip.NewWriter(&bigEndian)
	for n, b := range map[string]string{"m/data.pkl": "\x80\x02N.", "m/byteorder": "big"} {
		w, _ := zw.Create(n)
		w.Write([]byte(b))
	}
	zw.Close()
	legacyOK := legacyFile([]view{{name: "a", key: "0", size: []int{4}, stride: []int{1}}, {name: "b", key: "1", size: []int{2}, stride: []int{1}}},
		map[string][]float32{"0": {1, 2, 3, 4}, "1": {5, 6}}, []string{"0", "1"})
	for _, tc := range []struct {
		name string
		file []byte
		is   error
		want string
	}{
		{"empty file", nil, ErrFormat, "neither a zip archive nor a legacy"},
		{"text", []byte("hello, world"), ErrFormat, "neither a zip archive nor a legacy"},
		{"zip without data.pkl", noPkl.Bytes(), ErrFormat, "data.pkl"},
		{"TorchScript", torchScript.Bytes(), ErrFormat, "TorchScript"},
		{"big-endian", bigEndian.Bytes(), nil, `byte order "big"`},
		{"not a dict", zipFile(t, func(p *pickler) { p.int(5) }, nil, nil), ErrFormat, "holds a int"},
		{"missing storage record", zipFile(t, one([]int{4}, []int{1}, 0, "FloatStorage"), nil, nil), nil, `tensor "fc.weight": storage "0": no record archive/data/0`},
		{"short storage record", zipFile(t, one([]int{4}, []int{1}, 0, "FloatStorage"), map[string][]float32{"0": {1, 2}}, []string{"0"}), nil,
			`tensor "fc.weight": storage "0": 4 FloatStorage elements need 16 bytes, record archive/data/0 has 8`},
		{"view out of bounds", zipFile(t, one([]int{2, 2}, []int{2, 1}, 1, "FloatStorage"), four, []string{"0"}), nil,
			`tensor "fc.weight": view (offset 1, size [2 2], stride [2 1]) reads element 4 of storage "0", which has 4`},
		{"complex storage", zipFile(t, one([]int{4}, []int{1}, 0, "ComplexFloatStorage"), four, []string{"0"}), nil,
			`tensor "fc.weight": torch.ComplexFloatStorage is not supported`},
		{"legacy truncated", legacyOK[:len(legacyOK)-4], nil, `tensor "b": storage "1": 8 bytes, 4 left in the file`},
		{"legacy bad count", bytes.Replace(legacyOK, []byte{4, 0, 0, 0, 0, 0, 0, 0}, []byte{5, 0, 0, 0, 0, 0, 0, 0}, 1), nil,
			`tensor "a": storage "0": 5 elements in the data, 4 in the pickle`},
		{"unknown opcode", append([]byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e\x80\x02M\xe9\x03.\xff"), make([]byte, 600)...),
			nil, "unknown pickle opcode 0xff"},
	} {
		_, err := Read(bytes.NewReader(tc.file), int64(len(tc.file)), "m.pth")
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "m.pth") {
			t.Errorf("%s: error %v, want one naming m.pth containing %q (is %v)", tc.name, err, tc.want, tc.is)
		}
	}
}
