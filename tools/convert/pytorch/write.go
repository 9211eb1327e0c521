package pytorch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strconv"

	"webcnn/core/weights"
)

// Write saves float32 tensors as torch.save(state_dict) does with
// PyTorch's zip format and pickle protocol 2: an OrderedDict of name ->
// torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False,
// OrderedDict()), each tensor with a FloatStorage of its own. torch.load
// and Read read it back. The archive's folder is "archive".
func Write(w io.Writer, ts []weights.Tensor) error {
	vs := make([]view, len(ts))
	for i, t := range ts {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("pytorch: tensor %q: shape %v needs %d values, got %d", t.Name, t.Shape, n, len(t.Data))
		}
		vs[i] = view{name: t.Name, key: strconv.Itoa(i), size: t.Shape, stride: rowMajor(t.Shape), n: i}
	}
	var p pickler
	p.op(0x80, 2)
	p.stateDict(vs, func(v view) int { return len(ts[v.n].Data) }, false)
	p.op('.')
	keys := make([]string, len(ts))
	st := make(map[string][]byte, len(ts))
	for i, t := range ts {
		keys[i] = vs[i].key
		st[keys[i]] = float32Bytes(t.Data)
	}
	return writeZip(w, "archive", p.b.Bytes(), keys, st)
}

// view is one tensor of a pickled state_dict: a view of storage key.
type view struct {
	name   string
	key    string
	offset int
	size   []int
	stride []int
	n      int // index of the tensor (for the caller's numel)
}

func rowMajor(size []int) []int {
	s := make([]int, len(size))
	n := 1
	for i := len(size) - 1; i >= 0; i-- {
		s[i] = n
		n *= size[i]
	}
	return s
}

// writeZip writes the archive: dir/data.pkl, dir/data/<key> for every
// storage in keys' order, dir/version and dir/byteorder, stored
// uncompressed as torch does.
func writeZip(w io.Writer, dir string, pkl []byte, keys []string, storages map[string][]byte) error {
	zw := zip.NewWriter(w)
	put := func(name string, b []byte) error {
		fw, err := zw.CreateRaw(&zip.FileHeader{Name: dir + "/" + name, Method: zip.Store,
			CRC32: crc32.ChecksumIEEE(b), CompressedSize64: uint64(len(b)), UncompressedSize64: uint64(len(b))})
		if err != nil {
			return fmt.Errorf("pytorch: %s: %w", name, err)
		}
		if _, err = fw.Write(b); err != nil {
			return fmt.Errorf("pytorch: %s: %w", name, err)
		}
		return nil
	}
	if err := put("data.pkl", pkl); err != nil {
		return err
	}
	for _, k := range keys {
		if err := put("data/"+k, storages[k]); err != nil {
			return err
		}
	}
	if err := put("version", []byte("3\n")); err != nil {
		return err
	}
	if err := put("byteorder", []byte("little")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pytorch: %w", err)
	}
	return nil
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// pickler writes pickle protocol 2 the way Python's pickle module does
// for a state_dict: every string, global and tuple is memoized (BINPUT)
// and repeated strings and globals are fetched back (BINGET).
type pickler struct {
	b    bytes.Buffer
	memo map[string]int
}

func (p *pickler) op(b ...byte) { p.b.Write(b) }

// put memoizes the object just pushed under key ("" : not shareable).
func (p *pickler) put(key string) {
	if p.memo == nil {
		p.memo = map[string]int{}
	}
	n := len(p.memo)
	if key == "" {
		key = "\x00" + strconv.Itoa(n)
	}
	p.memo[key] = n
	if n < 256 {
		p.op('q', byte(n))
		return
	}
	p.op('r')
	p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(n)))
}

// get pushes a memoized object; false when key was never memoized.
func (p *pickler) get(key string) bool {
	n, ok := p.memo[key]
	if !ok {
		return false
	}
	if n < 256 {
		p.op('h', byte(n))
	} else {
		p.op('j')
		p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(n)))
	}
	return true
}

func (p *pickler) str(s string) {
	if p.get("s" + s) {
		return
	}
	p.op('X')
	p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.b.WriteString(s)
	p.put("s" + s)
}

func (p *pickler) global(module, name string) {
	if p.get("g" + module + "." + name) {
		return
	}
	p.op('c')
	p.b.WriteString(module + "\n" + name + "\n")
	p.put("g" + module + "." + name)
}

// int writes Python's save_long for protocol 2 (BININT1, BININT2, BININT).
func (p *pickler) int(n int) {
	switch {
	case n >= 0 && n <= 0xff:
		p.op('K', byte(n))
	case n >= 0 && n <= 0xffff:
		p.op('M', byte(n), byte(n>>8))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		p.op('J')
		p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(n))))
	default:
		panic("pytorch: pickler: int out of int32 range") // sizes and strides of real tensors fit
	}
}

// tuple writes a tuple of ints (EMPTY_TUPLE, TUPLE1-3 or MARK ... TUPLE).
func (p *pickler) tuple(ns []int) {
	if len(ns) == 0 {
		p.op(')') // the empty tuple is a singleton Python does not memoize
		return
	}
	if len(ns) > 3 {
		p.op('(')
	}
	for _, n := range ns {
		p.int(n)
	}
	if len(ns) <= 3 {
		p.op(0x85 + byte(len(ns)-1))
	} else {
		p.op('t')
	}
	p.put("")
}

// tensor writes _rebuild_tensor_v2(('storage', torch.FloatStorage, key,
// 'cpu', numel) as a persistent id, offset, size, stride, False,
// OrderedDict()) and, with legacy, the persistent id's sixth field
// (view metadata, None) of the legacy format.
func (p *pickler) tensor(v view, numel int, legacy bool) {
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op('(')
	p.op('(')
	p.str("storage")
	p.global("torch", "FloatStorage")
	p.str(v.key)
	p.str("cpu")
	p.int(numel)
	if legacy {
		p.op('N')
	}
	p.op('t')
	p.put("")
	p.op('Q')
	p.int(v.offset)
	p.tuple(v.size)
	p.tuple(v.stride)
	p.op(0x89) // NEWFALSE
	p.global("collections", "OrderedDict")
	p.op(')', 'R')
	p.put("")
	p.op('t')
	p.put("")
	p.op('R')
	p.put("")
}

// stateDict writes an OrderedDict of views, with SETITEM for one item
// and MARK ... SETITEMS in batches of 1000 as Python does.
func (p *pickler) stateDict(vs []view, numel func(view) int, legacy bool) {
	p.global("collections", "OrderedDict")
	p.op(')', 'R')
	p.put("")
	for i := 0; i < len(vs); i += 1000 {
		batch := vs[i:min(i+1000, len(vs))]
		if len(batch) > 1 {
			p.op('(')
		}
		for _, v := range batch {
			p.str(v.name)
			p.tensor(v, numel(v), legacy)
		}
		if len(batch) > 1 {
			p.op('u')
		} else {
			p.op('s')
		}
	}
}
