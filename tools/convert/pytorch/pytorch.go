// Package pytorch reads PyTorch state_dicts saved with torch.save (.pth,
// .pt) into float32 tensors: the zip format of PyTorch >= 1.6 and the
// legacy format before it, pickle protocols 1 to 5.
//
// The pickles are decoded by github.com/nlpodyssey/gopickle's unpickler;
// the containers are read here rather than by its pytorch.Load, which
// takes only a file name, loops forever on an empty file, panics on some
// inputs and sizes its allocations by what the file claims. Every length
// in a pickle is checked against the bytes present before the unpickler
// sees it, storages are read only up to the size their record has, and
// any panic of the unpickler becomes an error.
package pytorch

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/types"

	"webcnn/core/weights"
)

// ErrFormat reports a file that is not a PyTorch state_dict this package reads.
var ErrFormat = errors.New("not a PyTorch state_dict")

// maxPickle bounds data.pkl (a state_dict's pickle holds names and shapes:
// ResNet-50's is 22 KB).
const maxPickle = 256 << 20

// ReadFile reads the state_dict saved in a .pth/.pt file.
func ReadFile(name string) ([]weights.Tensor, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("pytorch: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pytorch: %w", err)
	}
	return Read(f, fi.Size(), name)
}

// Read reads a state_dict from r, size bytes, in the zip or the legacy
// format; name identifies the file in errors. The result is the dict's
// tensors in its order, converted to float32 (from float16, bfloat16,
// float64 and the integer and bool types), each in its own row-major
// copy. The dict may be the saved object itself (an OrderedDict or a
// dict), or sit under the key "state_dict" or "model" of a checkpoint
// dict; entries that are not tensors are skipped. When every name starts
// with "module." (a model saved inside DataParallel) the prefix is
// dropped. A file holding a single tensor gives one tensor named "".
func Read(r io.ReaderAt, size int64, name string) ([]weights.Tensor, error) {
	ts, err := read(r, size)
	if err != nil {
		return nil, fmt.Errorf("pytorch: %s: %w", name, err)
	}
	return ts, nil
}

func read(r io.ReaderAt, size int64) ([]weights.Tensor, error) {
	var head [4]byte
	if _, err := r.ReadAt(head[:], 0); err != nil && size >= 4 {
		return nil, err
	}
	var v any
	var err error
	if size >= 4 && string(head[:]) == "PK\x03\x04" {
		v, err = readZip(r, size)
	} else {
		v, err = readLegacy(r, size)
	}
	if err != nil {
		return nil, err
	}
	entries, err := stateDict(v, 0)
	if err != nil {
		return nil, err
	}
	// Views may share a storage (tied weights); more than 4 values per
	// byte of the file can only come from a file built to exhaust memory.
	total := 0
	for _, e := range entries {
		n, err := e.t.elements()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", e.name, err)
		}
		if total += n; int64(total) > 4*size {
			return nil, fmt.Errorf("tensor %q: the tensors have more than 4 values per byte of the file", e.name)
		}
	}
	out := make([]weights.Tensor, len(entries))
	for i, e := range entries {
		d, err := e.t.float32s()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", e.name, err)
		}
		out[i] = weights.Tensor{Name: e.name, Shape: append([]int{}, e.t.size...), Data: d}
	}
	return out, nil
}

// readZip reads PyTorch's zip format: <dir>/data.pkl is the pickle, and
// each storage its record <dir>/data/<key>, raw little-endian.
func readZip(r io.ReaderAt, size int64) (any, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	records := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		records[f.Name] = f
		if dir, base := path.Split(f.Name); base == "data.pkl" && strings.Count(dir, "/") == 1 && pkl == nil {
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%w: zip without <dir>/data.pkl", ErrFormat)
	}
	dir := path.Dir(pkl.Name)
	if records[dir+"/constants.pkl"] != nil {
		return nil, fmt.Errorf("%w: a TorchScript archive (torch.jit.save), not a state_dict: save model.state_dict() with torch.save", ErrFormat)
	}
	if bo := records[dir+"/byteorder"]; bo != nil {
		b, err := readRecord(bo, 16)
		if err != nil {
			return nil, err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return nil, fmt.Errorf("byte order %q: only little-endian files are supported", s)
		}
	}
	b, err := readRecord(pkl, maxPickle)
	if err != nil {
		return nil, err
	}
	storages := map[string]*storage{}
	v, _, err := unpickle(b, func(id *types.Tuple) (any, error) {
		dt, key, numel, err := storageID(id)
		if err != nil {
			return nil, err
		}
		if s, ok := storages[key]; ok {
			return s, nil
		}
		rec := records[dir+"/data/"+key]
		want := int64(numel) * int64(dt.size)
		load := func() ([]byte, error) {
			if rec == nil {
				return nil, fmt.Errorf("storage %q: no record %s/data/%s", key, dir, key)
			}
			data, err := readStorage(rec, want, size)
			if err != nil {
				return nil, fmt.Errorf("storage %q: %w", key, err)
			}
			if int64(len(data)) < want {
				return nil, fmt.Errorf("storage %q: %d %s elements need %d bytes, record %s has %d", key, numel, dt.class, want, rec.Name, len(data))
			}
			return data, nil
		}
		s := &storage{dt: dt, key: key, numel: numel, load: load}
		storages[key] = s
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	return v, nil
}

// readStorage reads want bytes of a storage record. A stored
// (uncompressed) record, as torch writes them, cannot be larger than the
// file, so its buffer is allocated at once; others grow as bytes arrive.
func readStorage(f *zip.File, want, fileSize int64) ([]byte, error) {
	if f.Method != zip.Store || f.UncompressedSize64 < uint64(want) || want > fileSize {
		return readRecord(f, want)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b := make([]byte, want)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// readRecord reads at most limit bytes of a zip record, growing the
// buffer as bytes arrive (never by what the record claims).
func readRecord(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// legacyMagic is the big integer that starts a legacy torch.save file.
const legacyMagic = "1950a86a20f9469cfc6c"

// readLegacy reads the format of torch.save before PyTorch 1.6: five
// pickles (magic number, protocol 1001, system info, the object, the
// list of storage keys), then each storage as an int64 element count and
// its raw little-endian bytes.
func readLegacy(r io.ReaderAt, size int64) (any, error) {
	b := make([]byte, size) // the caller's size of the file: the legacy format is read whole
	if _, err := io.ReadFull(io.NewSectionReader(r, 0, size), b); err != nil {
		return nil, err
	}
	if len(b) > 262 && string(b[257:262]) == "ustar" {
		return nil, fmt.Errorf("%w: the tar format of PyTorch < 0.4 is not supported", ErrFormat)
	}
	magic, n, err := unpickle(b, nil)
	if m, ok := magic.(*big.Int); err != nil || !ok || m.Text(16) != legacyMagic {
		return nil, fmt.Errorf("%w: neither a zip archive nor a legacy torch.save file", ErrFormat)
	}
	b = b[n:]
	proto, n, err := unpickle(b, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: legacy protocol version: %v", ErrFormat, err)
	}
	if proto != 1001 {
		return nil, fmt.Errorf("%w: legacy protocol version %v, want 1001", ErrFormat, proto)
	}
	b = b[n:]
	info, n, err := unpickle(b, nil)
	if err != nil {
		return nil, fmt.Errorf("system info: %w", err)
	}
	if d, ok := info.(*types.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le != true {
			return nil, fmt.Errorf("saved on a big-endian machine: not supported")
		}
	}
	b = b[n:]
	storages := map[string]*storage{}
	v, n, err := unpickle(b, func(id *types.Tuple) (any, error) {
		dt, key, numel, err := storageID(id)
		if err != nil {
			return nil, err
		}
		if id.Len() > 5 && id.Get(5) != nil {
			return nil, fmt.Errorf("storage %q is a view of another storage: not supported", key)
		}
		if s, ok := storages[key]; ok {
			if s.dt != dt || s.numel != numel {
				return nil, fmt.Errorf("storage %q declared twice differently", key)
			}
			return s, nil
		}
		s := &storage{dt: dt, key: key, numel: numel}
		storages[key] = s
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	b = b[n:]
	keys, n, err := unpickle(b, nil)
	if err != nil {
		return nil, fmt.Errorf("storage keys: %w", err)
	}
	list, ok := keys.(*types.List)
	if !ok {
		return nil, fmt.Errorf("storage keys are %T, want a list", keys)
	}
	b = b[n:]
	var bad error // after a bad storage, the next ones cannot be located
	for _, k := range *list {
		key, _ := k.(string)
		s := storages[key]
		if s == nil {
			return nil, fmt.Errorf("storage key %v: not used by the pickle", k)
		}
		s.loaded = true
		nb := s.numel * s.dt.size
		switch {
		case bad != nil:
			s.err = fmt.Errorf("storage %q follows %w", key, bad)
		case s.dt.size == 0:
			s.err = fmt.Errorf("storage %q: %s is not supported", key, s.dt.class)
		case len(b) < 8:
			s.err = fmt.Errorf("storage %q: the file ends before it", key)
		case binary.LittleEndian.Uint64(b) != uint64(s.numel):
			s.err = fmt.Errorf("storage %q: %d elements in the data, %d in the pickle", key, binary.LittleEndian.Uint64(b), s.numel)
		case len(b)-8 < nb:
			s.err = fmt.Errorf("storage %q: %d bytes, %d left in the file", key, nb, len(b)-8)
		default:
			s.data = b[8 : 8+nb : 8+nb]
			b = b[8+nb:]
		}
		if bad == nil {
			bad = s.err
		}
	}
	return v, nil
}

// entry is a named tensor of a state_dict.
type entry struct {
	name string
	t    *tensor
}

// stateDict finds the tensors of a saved object (see Read).
func stateDict(v any, depth int) ([]entry, error) {
	var items []types.DictEntry
	switch d := v.(type) {
	case *tensor:
		return []entry{{"", d}}, nil
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			items = append(items, types.DictEntry{Key: oe.Key, Value: oe.Value})
		}
	case *types.Dict:
		items = *d
	case *types.GenericObject:
		return nil, fmt.Errorf("%w: a pickled %s.%s object; save its state_dict() instead", ErrFormat, d.Class.Module, d.Class.Name)
	default:
		return nil, fmt.Errorf("%w: the file holds a %T", ErrFormat, v)
	}
	if depth < 2 {
		for _, it := range items {
			if k, _ := it.Key.(string); k == "state_dict" || k == "model" {
				if _, isT := it.Value.(*tensor); !isT {
					return stateDict(it.Value, depth+1)
				}
			}
		}
	}
	var out []entry
	var other []string
	prefixed := true
	for _, it := range items {
		k, ok := it.Key.(string)
		t, isT := it.Value.(*tensor)
		if !ok || !isT {
			other = append(other, fmt.Sprint(it.Key))
			continue
		}
		out = append(out, entry{k, t})
		prefixed = prefixed && strings.HasPrefix(k, "module.")
	}
	if len(out) == 0 {
		if len(other) > 8 {
			other = append(other[:8], "...")
		}
		return nil, fmt.Errorf("%w: a dict without tensors (keys %v)", ErrFormat, other)
	}
	if prefixed {
		for i := range out {
			out[i].name = strings.TrimPrefix(out[i].name, "module.")
		}
	}
	return out, nil
}
