//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"webcnn/core/data"
	"webcnn/core/weights"
	"webcnn/webgpu"
)

// CacheName is the Cache API cache that holds verified chunks and the
// manifests last read (the site's service worker reads it too).
const CacheName = "webcnn-chunks-v1"

// library holds the loaded models by handle.
type library struct {
	bs *backends

	mu     sync.Mutex
	models map[int]*model
	next   int
}

func main() {
	l := &library{bs: newBackends(), models: map[int]*model{}}
	api := js.Global().Get("Object").New()
	// These functions live as long as the program: they are never released.
	for name, f := range map[string]func(args []js.Value) js.Value{
		"load":       l.jsLoad,
		"classify":   l.jsClassify,
		"ensemble":   l.jsEnsemble,
		"predict":    l.jsPredict,
		"dispose":    l.jsDispose,
		"clearCache": l.jsClearCache,
		// Fine-tuning (finetune.go, finetune_js.go).
		"finetune":     l.jsFinetune,
		"headClassify": l.jsHeadClassify,
		"headSave":     l.jsHeadSave,
		"headLoad":     l.jsHeadLoad,
		"headDispose":  l.jsHeadDispose,
		// Long runs (mc.go, mc_js.go): ensembles of heads, cancellation.
		"headsClassify": l.jsHeadsClassify,
		"finetunePlan":  l.jsFinetunePlan,
		"abort":         l.jsAbort,
	} {
		api.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any { return f(args) }))
	}
	api.Set("cacheName", CacheName)
	js.Global().Set("__webcnn", api)
	if ready := js.Global().Get("__webcnnReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(api)
	}
	select {} // calls arrive as callbacks
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

// opt reads a property of an options object.
func opt(o js.Value, name string) js.Value {
	if o.Type() != js.TypeObject {
		return js.Undefined()
	}
	return o.Get(name)
}

func optInt(o js.Value, name string, def int) int {
	if v := opt(o, name); v.Type() == js.TypeNumber {
		return v.Int()
	}
	return def
}

func optString(o js.Value, name, def string) string {
	if v := opt(o, name); v.Type() == js.TypeString {
		return v.String()
	}
	return def
}

// model returns the model of a handle.
func (l *library) model(h js.Value) (*model, error) {
	if h.Type() != js.TypeNumber {
		return nil, fmt.Errorf("%w: not a model handle", ErrBadInput)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.models[h.Int()]
	if m == nil {
		return nil, fmt.Errorf("model: %w", ErrDisposed)
	}
	return m, nil
}

// jsLoad is load(manifestURL, {backend, memoryBudget, parallel,
// onProgress, cache}) -> Promise<{handle, info, chunks, cachedChunks,
// requests, ms}>. manifestURL must be absolute (cnn.mjs resolves it).
func (l *library) jsLoad(args []js.Value) js.Value {
	url, o := arg(args, 0), arg(args, 1)
	backend := optString(o, "backend", "auto")
	budget := int64(0)
	if v := opt(o, "memoryBudget"); v.Type() == js.TypeNumber {
		budget = int64(v.Float())
	}
	parallel := optInt(o, "parallel", 6)
	onProgress := opt(o, "onProgress")
	cacheName := CacheName
	if v := opt(o, "cache"); v.Type() == js.TypeBoolean && !v.Bool() {
		cacheName = ""
	}
	return promise(func() (any, error) {
		if url.Type() != js.TypeString {
			return nil, fmt.Errorf("%w: load takes the manifest's URL", ErrBadInput)
		}
		return l.load(url.String(), backend, budget, parallel, cacheName, onProgress)
	})
}

func (l *library) load(url, backend string, budget int64, parallel int, cacheName string, onProgress js.Value) (any, error) {
	start := time.Now()
	slash := strings.LastIndex(url, "/")
	if slash < 0 || strings.ContainsAny(url, "?#") {
		return nil, fmt.Errorf("%w: manifest URL %q: want an absolute URL without query", ErrBadInput, url)
	}
	base, name := url[:slash+1], url[slash+1:]
	var (
		pmu         sync.Mutex
		done, total int64
	)
	report := func() {
		if onProgress.Type() == js.TypeFunction {
			onProgress.Invoke(float64(done), float64(total))
		}
	}
	fsys := &fetchFS{base: base, cache: openCache(cacheName), memo: map[string][]byte{}}
	fsys.progress = func(n int) {
		pmu.Lock()
		done = min(done+int64(n), total)
		pmu.Unlock()
		report()
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	man, err := weights.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if err := man.CheckBudget(budget); err != nil {
		return nil, err
	}
	for _, c := range man.Chunks {
		total += c.Size
	}
	fsys.memo["manifest.json"] = b
	report()
	ls, err := l.bs.acquire(backend)
	if err != nil {
		return nil, err
	}
	// On WebGPU, plan the pass and start compiling its pipelines before
	// the chunks download; a model the rehearsal cannot plan falls back to
	// a warm-up pass after loading.
	gpu, _ := ls.B.(*webgpu.Backend)
	var (
		arena   *webgpu.Arena
		plan    map[string]any
		planErr error
	)
	if gpu != nil {
		arena, plan, planErr = planGPU(gpu, man)
	}
	release := func() {
		if arena != nil {
			arena.Release()
		}
		ls.Release()
	}
	wm, err := weights.Load(context.Background(), fsys, ".", weights.LoadOptions{Budget: budget, Parallel: parallel})
	if err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", man.Model, err)
	}
	m, err := newModel(man.Model, wm, ls, l.bs)
	if err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", man.Model, err)
	}
	m.url = url
	if gpu != nil {
		if arena != nil {
			t := time.Now()
			err = gpu.Ready()
			plan["readyMs"] = msSince(t)
			m.arena, m.plan = arena, plan
		} else {
			m.plan = map[string]any{"error": planErr.Error()}
			err = m.warmUp()
		}
		if err != nil {
			m.dispose()
			return nil, fmt.Errorf("%s: preparing WebGPU: %w", man.Model, err)
		}
	}
	done = total
	report()
	l.mu.Lock()
	l.next++
	h := l.next
	l.models[h] = m
	l.mu.Unlock()
	return map[string]any{
		"handle":       h,
		"info":         m.info(),
		"chunks":       len(man.Chunks),
		"cachedChunks": fsys.hits,
		"requests":     fsys.requests,
		"ms":           msSince(start),
	}, nil
}

// pixels reads classify's pixels: {rgba, width, height} (ImageData's
// layout, drawn by cnn.mjs) or {bytes, reason} (an encoded picture the
// browser could not decode, for core/data to try).
func pixels(p js.Value) (*data.Image, error) {
	if p.Type() != js.TypeObject {
		return nil, fmt.Errorf("%w: no pixels", ErrUnsupportedImage)
	}
	if rgba := p.Get("rgba"); rgba.Truthy() {
		w, h := p.Get("width").Int(), p.Get("height").Int()
		if err := CheckSize(w, h); err != nil {
			return nil, err
		}
		return RGBA(bytesOf(rgba), w, h)
	}
	if b := p.Get("bytes"); b.Truthy() {
		img, err := Decode(bytesOf(b))
		if err != nil && p.Get("reason").Type() == js.TypeString {
			err = fmt.Errorf("%w; the browser could not decode it either (%s)", err, p.Get("reason").String())
		}
		return img, err
	}
	return nil, fmt.Errorf("%w: pass ImageData, an image element, a canvas, an ImageBitmap, a Blob or the bytes of a PNG, JPEG, GIF or WebP file", ErrUnsupportedImage)
}

// option reads a property of an options object for the checks of
// options.go.
func option(o js.Value, name string) Option {
	v := opt(o, name)
	switch v.Type() {
	case js.TypeNumber:
		return Option{Type: "number", Num: v.Float()}
	case js.TypeString:
		return Option{Type: "string", Text: v.String()}
	case js.TypeBoolean:
		return Option{Type: "boolean", Text: strconv.FormatBool(v.Bool())}
	}
	return Option{Type: v.Type().String()}
}

// classifyOptions reads and checks {topk, mcDropout, seed}
// (ClassifyOptionsOf): what is not a whole number in range is refused
// with code bad-input.
func classifyOptions(o js.Value) (ClassifyOptions, error) {
	if t := o.Type(); t != js.TypeUndefined && t != js.TypeNull && t != js.TypeObject {
		return ClassifyOptions{}, fmt.Errorf("%w: options: want an object such as {topk: 5}, got a %s", ErrBadInput, t)
	}
	return ClassifyOptionsOf(option(o, "topk"), option(o, "mcDropout"), option(o, "seed"), uint64(time.Now().UnixNano()))
}

// predictions converts an answer for JS.
func predictions(ps []Prediction) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		r := map[string]any{"label": p.Label, "index": p.Index, "prob": p.Prob}
		if p.Stats {
			r["mean"], r["variance"] = p.Mean, p.Var
		}
		out[i] = r
	}
	return out
}

// jsClassify is classify(handle, pixels, {topk, mcDropout, seed}) ->
// Promise<[{label, index, prob[, mean, variance]}]>.
func (l *library) jsClassify(args []js.Value) js.Value {
	h, p, o := arg(args, 0), arg(args, 1), arg(args, 2)
	return promise(func() (any, error) {
		m, err := l.model(h)
		if err != nil {
			return nil, err
		}
		co, err := classifyOptions(o)
		if err != nil {
			return nil, err
		}
		img, err := pixels(p)
		if err != nil {
			return nil, err
		}
		defer runOptions(o, &co)() // mc.go: onPass, abort
		ps, err := m.classify(img, co)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.id, err)
		}
		return predictions(ps), nil
	})
}

// jsEnsemble is ensemble([handles], pixels, {topk}) -> Promise<[{label,
// index, prob, mean, variance}]>.
func (l *library) jsEnsemble(args []js.Value) js.Value {
	hs, p, o := arg(args, 0), arg(args, 1), arg(args, 2)
	return promise(func() (any, error) {
		if !hs.InstanceOf(js.Global().Get("Array")) {
			return nil, fmt.Errorf("%w: ensemble takes an array of models", ErrBadInput)
		}
		ms := make([]*model, hs.Length())
		for i := range ms {
			m, err := l.model(hs.Index(i))
			if err != nil {
				return nil, fmt.Errorf("ensemble member %d: %w", i, err)
			}
			ms[i] = m
		}
		co, err := classifyOptions(o)
		if err != nil {
			return nil, err
		}
		img, err := pixels(p)
		if err != nil {
			return nil, err
		}
		ps, err := ensembleClassify(ms, img, co.TopK)
		if err != nil {
			return nil, err
		}
		return predictions(ps), nil
	})
}

// jsPredict is predict(handle, input, {mcDropout, seed}) ->
// Promise<{NAME: {data: Float32Array, shape, layout, kind}}>, every output
// in the source framework's layout (with mcDropout, data is the mean and
// variance a Float32Array beside it). input is a Float32Array, the model's
// one input in the runtime's NHWC layout of summary().input.shape, or
// {NAME: {data: Float32Array, shape: [...]}}, every graph input by name in
// the source's layout (NCHW for ONNX) at any size the model takes.
func (l *library) jsPredict(args []js.Value) js.Value {
	h, x, o := arg(args, 0), arg(args, 1), arg(args, 2)
	return promise(func() (any, error) {
		m, err := l.model(h)
		if err != nil {
			return nil, err
		}
		var flat []float32
		var named map[string]Tensor
		if x.InstanceOf(js.Global().Get("Float32Array")) {
			if flat, err = float32sOf(x); err != nil {
				return nil, err
			}
		} else if named, err = namedInputs(x); err != nil {
			return nil, err
		}
		co, err := classifyOptions(o)
		if err != nil {
			return nil, err
		}
		outs, err := m.predictAll(flat, named, co.MC, co.Seed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.id, err)
		}
		res := map[string]any{}
		for _, t := range outs {
			shape := make([]any, len(t.Shape))
			for i, d := range t.Shape {
				shape[i] = d
			}
			r := map[string]any{"data": float32Array(t.Data), "shape": shape, "layout": t.Layout, "kind": t.Kind}
			if t.Var != nil {
				r["variance"] = float32Array(t.Var)
			}
			res[t.Name] = r
		}
		return res, nil
	})
}

// namedInputs reads {NAME: {data: Float32Array, shape: [...]}}.
func namedInputs(v js.Value) (map[string]Tensor, error) {
	if v.Type() != js.TypeObject {
		return nil, fmt.Errorf("%w: predict takes a Float32Array or {NAME: {data: Float32Array, shape: [...]}}", ErrBadInput)
	}
	keys := js.Global().Get("Object").Call("keys", v)
	out := map[string]Tensor{}
	for i := 0; i < keys.Length(); i++ {
		name := keys.Index(i).String()
		e := v.Get(name)
		if e.Type() != js.TypeObject {
			return nil, fmt.Errorf("%w: input %q: want {data: Float32Array, shape: [...]}", ErrBadInput, name)
		}
		data, err := float32sOf(e.Get("data"))
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", name, err)
		}
		sh := e.Get("shape")
		if sh.Type() != js.TypeObject || !js.Global().Get("Array").Call("isArray", sh).Bool() {
			return nil, fmt.Errorf("%w: input %q: shape must be an array of extents", ErrBadInput, name)
		}
		shape := make([]int, sh.Length())
		for k := range shape {
			d := sh.Index(k)
			if d.Type() != js.TypeNumber || d.Float() != float64(int(d.Float())) || d.Float() < 1 || d.Float() > 1<<30 {
				return nil, fmt.Errorf("%w: input %q: shape %v: extents are positive integers", ErrBadInput, name, sh)
			}
			shape[k] = d.Int()
		}
		out[name] = Tensor{Name: name, Data: data, Shape: shape}
	}
	return out, nil
}

// jsDispose is dispose(handle) -> Promise<void>: frees the model's memory.
func (l *library) jsDispose(args []js.Value) js.Value {
	h := arg(args, 0)
	return promise(func() (any, error) {
		if h.Type() != js.TypeNumber {
			return nil, fmt.Errorf("%w: not a model handle", ErrBadInput)
		}
		l.mu.Lock()
		m := l.models[h.Int()]
		delete(l.models, h.Int())
		l.mu.Unlock()
		if m != nil {
			m.dispose()
		}
		return nil, nil
	})
}

// jsClearCache is clearCache() -> Promise<boolean>: deletes the cached
// chunks and manifests.
func (l *library) jsClearCache(args []js.Value) js.Value {
	return promise(func() (any, error) {
		caches := js.Global().Get("caches")
		if !caches.Truthy() {
			return false, nil
		}
		v, err := await(caches.Call("delete", CacheName))
		if err != nil {
			return nil, err
		}
		return v.Bool(), nil
	})
}
