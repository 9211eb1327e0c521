package pytorch

import (
	"bytes"
	"fmt"
	"io"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// dtype is a storage's element type, named by its torch storage class.
type dtype struct {
	class string // "FloatStorage"
	size  int    // bytes per element
}

// storageClasses are the torch storage classes whose values convert to
// float32.
var storageClasses = map[string]dtype{
	"FloatStorage": {"FloatStorage", 4}, "HalfStorage": {"HalfStorage", 2},
	"BFloat16Storage": {"BFloat16Storage", 2}, "DoubleStorage": {"DoubleStorage", 8},
	"CharStorage": {"CharStorage", 1}, "ByteStorage": {"ByteStorage", 1},
	"ShortStorage": {"ShortStorage", 2}, "IntStorage": {"IntStorage", 4},
	"LongStorage": {"LongStorage", 8}, "BoolStorage": {"BoolStorage", 1},
}

// maxElements bounds a storage's declared size (2^40 elements), so that
// byte counts never overflow.
const maxElements = 1 << 40

// storage is a torch storage: its type, key in the file, element count
// and raw little-endian bytes, read by load when a tensor first needs them.
type storage struct {
	dt     dtype
	key    string
	numel  int
	loaded bool
	data   []byte
	err    error
	load   func() ([]byte, error)
}

// bytes returns the storage's numel * element size bytes.
func (s *storage) bytes() ([]byte, error) {
	if !s.loaded {
		s.loaded = true
		if s.load == nil {
			s.err = fmt.Errorf("storage %q has no data", s.key)
		} else {
			s.data, s.err = s.load()
		}
	}
	return s.data, s.err
}

// tensor is what _rebuild_tensor_v2 rebuilds: a strided view of a storage.
type tensor struct {
	st     *storage
	offset int
	size   []int
	stride []int
}

// callable adapts a function to gopickle's types.Callable.
type callable func(args ...any) (any, error)

func (f callable) Call(args ...any) (any, error) { return f(args...) }

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, offset, size,
// stride, requires_grad, backward_hooks[, metadata]) and the older
// _rebuild_tensor(storage, offset, size, stride).
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want 6", len(args))
	}
	st, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: argument 0 is %T, want a storage", args[0])
	}
	off, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset is %T, want an int", args[1])
	}
	size, err := ints("size", args[2])
	if err != nil {
		return nil, err
	}
	stride, err := ints("stride", args[3])
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size %v and stride %v differ in rank", size, stride)
	}
	return &tensor{st: st, offset: off, size: size, stride: stride}, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks): an nn.Parameter is its tensor here.
func rebuildParameter(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	return args[0], nil
}

func ints(what string, v any) ([]int, error) {
	var items []any
	switch t := v.(type) {
	case *types.Tuple:
		items = *t
	case *types.List:
		items = *t
	default:
		return nil, fmt.Errorf("_rebuild_tensor_v2: %s is %T, want a tuple", what, v)
	}
	out := make([]int, len(items))
	for i, x := range items {
		n, ok := x.(int)
		if !ok {
			return nil, fmt.Errorf("_rebuild_tensor_v2: %s[%d] is %T, want an int", what, i, x)
		}
		out[i] = n
	}
	return out, nil
}

// findClass resolves the globals a state_dict pickle names.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		return callable(rebuildTensor), nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return callable(rebuildParameter), nil
	}
	if module == "torch" {
		if dt, ok := storageClasses[name]; ok {
			return dt, nil
		}
	}
	return types.NewGenericClass(module, name), nil
}

// unpickle decodes the pickle at the start of b; persistent ids are
// resolved by load(typename, the id tuple). It returns the value and the
// pickle's length. gopickle panics on some malformed input (an opcode
// byte of 0xff, an odd DICT, an unhashable key): those become errors.
func unpickle(b []byte, load func(id *types.Tuple) (any, error)) (v any, n int, err error) {
	n, err = scanPickle(b)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(b[:n]))
	u.FindClass = findClass
	u.PersistentLoad = func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() == 0 {
			return nil, fmt.Errorf("persistent id %T, want a tuple", id)
		}
		if s, _ := t.Get(0).(string); s != "storage" {
			return nil, fmt.Errorf("persistent id of type %v, want storage", t.Get(0))
		}
		return load(t)
	}
	v, err = u.Load()
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = fmt.Errorf("truncated pickle: %w", io.ErrUnexpectedEOF)
	}
	return v, n, err
}

// storageID parses ('storage', class, key, location, numel[, view]).
func storageID(t *types.Tuple) (dtype, string, int, error) {
	if t.Len() < 5 {
		return dtype{}, "", 0, fmt.Errorf("storage id has %d fields, want 5", t.Len())
	}
	key, _ := t.Get(2).(string)
	dt, ok := t.Get(1).(dtype)
	if !ok {
		g, isG := t.Get(1).(*types.GenericClass)
		if !isG {
			return dtype{}, key, 0, fmt.Errorf("storage %q: class %T, want a torch storage class", key, t.Get(1))
		}
		// Complex, quantized and other storages fail at the tensor that uses them.
		dt = dtype{class: g.Module + "." + g.Name}
	}
	numel, ok := t.Get(4).(int)
	if !ok || numel < 0 || numel > maxElements {
		return dtype{}, key, 0, fmt.Errorf("storage %q: size %v", key, t.Get(4))
	}
	if key == "" {
		return dtype{}, key, 0, fmt.Errorf("storage without a key")
	}
	return dt, key, numel, nil
}
