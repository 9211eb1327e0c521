//go:build js && wasm

package webgpu

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"syscall/js"
	"time"
)

// New opens the browser's WebGPU adapter and a device with the largest
// storage-buffer limits the adapter offers. It returns an error wrapping
// ErrUnavailable when navigator.gpu or an adapter is missing (Node, a
// browser without WebGPU, Chromium without --enable-unsafe-webgpu on
// Linux). It must not be called from a js.FuncOf callback: it waits on
// Promises.
func New() (*Backend, error) {
	d, err := openDevice()
	if err != nil {
		return nil, err
	}
	return newBackend(d), nil
}

// writeChunk bounds the bytes one queue.writeBuffer copies through the JS
// staging array.
const writeChunk = 4 << 20

// jsDevice records work into one command encoder and submits it lazily.
type jsDevice struct {
	device, queue js.Value
	lim           limits
	usage         struct{ storage, mapRead, copySrc, copyDst, uniform int }
	mapModeRead   int

	pipelines map[string]pipeline
	pending   map[string]*compiling // compilations prepare started

	enc, pass js.Value // the open encoder and compute pass, or null
	n         int      // dispatches recorded since the last submit
	uniform   js.Value // maxBatch*uniformSize bytes of uniforms
	arena     []byte   // the recorded dispatches' uniforms
	scratch   js.Value // Uint8Array staging host bytes for writeBuffer
	doomed    []js.Value

	stats stats
	info  Adapter

	lostCh   chan struct{} // closed when the device is lost
	lostMsg  string
	captured []string // uncaptured errors since the last check
}

type pipeline struct{ p, layout js.Value }

func openDevice() (*jsDevice, error) {
	gpu := js.Global().Get("navigator")
	if gpu.Truthy() {
		gpu = gpu.Get("gpu")
	}
	if !gpu.Truthy() {
		return nil, fmt.Errorf("%w: navigator.gpu is absent", ErrUnavailable)
	}
	adapter, err := await(gpu.Call("requestAdapter", map[string]any{"powerPreference": "high-performance"}), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: requestAdapter: %v", ErrUnavailable, err)
	}
	if !adapter.Truthy() {
		return nil, fmt.Errorf("%w: no WebGPU adapter (Chromium on Linux needs --enable-unsafe-webgpu)", ErrUnavailable)
	}
	al := adapter.Get("limits")
	req := map[string]any{}
	for _, name := range []string{"maxStorageBufferBindingSize", "maxBufferSize"} {
		req[name] = al.Get(name).Float()
	}
	dev, err := await(adapter.Call("requestDevice", map[string]any{"requiredLimits": req}), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: requestDevice: %v", ErrUnavailable, err)
	}
	d := &jsDevice{device: dev, queue: dev.Get("queue"), pipelines: map[string]pipeline{}, pending: map[string]*compiling{},
		enc: js.Null(), pass: js.Null(), lostCh: make(chan struct{})}
	if ai := adapter.Get("info"); ai.Truthy() {
		str := func(name string) string {
			if v := ai.Get(name); v.Type() == js.TypeString {
				return v.String()
			}
			return ""
		}
		d.info = Adapter{Vendor: str("vendor"), Architecture: str("architecture"), Description: str("description"),
			Fallback: ai.Get("isFallbackAdapter").Truthy()}
	}
	d.info.Fallback = d.info.Fallback || adapter.Get("isFallbackAdapter").Truthy()
	l := dev.Get("limits")
	d.lim = limits{
		maxBufferSize:        int(l.Get("maxBufferSize").Float()),
		maxStorageBinding:    int(l.Get("maxStorageBufferBindingSize").Float()),
		maxWorkgroupsPerDim:  l.Get("maxComputeWorkgroupsPerDimension").Int(),
		maxInvocationsPerWG:  l.Get("maxComputeInvocationsPerWorkgroup").Int(),
		maxWorkgroupStorage:  l.Get("maxComputeWorkgroupStorageSize").Int(),
		minUniformOffsetAlgn: l.Get("minUniformBufferOffsetAlignment").Int(),
	}
	if d.lim.minUniformOffsetAlgn > uniformSize {
		dev.Call("destroy")
		return nil, fmt.Errorf("%w: uniform offset alignment %d exceeds %d", ErrUnavailable, d.lim.minUniformOffsetAlgn, uniformSize)
	}
	u := js.Global().Get("GPUBufferUsage")
	d.usage.storage, d.usage.copySrc, d.usage.copyDst = u.Get("STORAGE").Int(), u.Get("COPY_SRC").Int(), u.Get("COPY_DST").Int()
	d.usage.mapRead, d.usage.uniform = u.Get("MAP_READ").Int(), u.Get("UNIFORM").Int()
	d.mapModeRead = js.Global().Get("GPUMapMode").Get("READ").Int()

	// The callbacks only record: waiting inside a js.FuncOf deadlocks. The
	// device raises nothing after its loss, which releases them both.
	var lost, uncaptured js.Func
	lost = js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "lost"
		if len(args) > 0 && args[0].Truthy() {
			msg = fmt.Sprintf("%s (%s)", args[0].Get("message").String(), args[0].Get("reason").String())
		}
		select {
		case <-d.lostCh:
		default:
			d.lostMsg = msg
			close(d.lostCh)
		}
		dev.Call("removeEventListener", "uncapturederror", uncaptured)
		lost.Release()
		uncaptured.Release()
		return nil
	})
	uncaptured = js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) > 0 {
			d.captured = append(d.captured, jsMessage(args[0].Get("error")))
		}
		return nil
	})
	dev.Get("lost").Call("then", lost)
	dev.Call("addEventListener", "uncapturederror", uncaptured)

	d.uniform = dev.Call("createBuffer", map[string]any{"size": maxBatch * uniformSize, "usage": d.usage.uniform | d.usage.copyDst})
	d.scratch = js.Global().Get("Uint8Array").New(64 << 10)
	d.pushScopes()
	return d, nil
}

func (d *jsDevice) limits() limits { return d.lim }

func (d *jsDevice) counters() stats { return d.stats }

func (d *jsDevice) adapter() Adapter { return d.info }

// lostErr returns an error wrapping ErrDeviceLost once the device is lost.
func (d *jsDevice) lostErr() error {
	select {
	case <-d.lostCh:
		return fmt.Errorf("%w: %s", ErrDeviceLost, d.lostMsg)
	default:
		return nil
	}
}

func (d *jsDevice) lost() error { return d.lostErr() }

func (d *jsDevice) newBuffer(size int) (handle, error) {
	if err := d.lostErr(); err != nil {
		return nil, err
	}
	return d.device.Call("createBuffer", map[string]any{"size": size,
		"usage": d.usage.storage | d.usage.copySrc | d.usage.copyDst}), nil
}

func (d *jsDevice) destroy(h handle) {
	if d.n > 0 || !d.enc.IsNull() {
		d.doomed = append(d.doomed, h.(js.Value))
		return
	}
	h.(js.Value).Call("destroy")
}

// encoder returns the open command encoder with no compute pass open.
func (d *jsDevice) encoder() js.Value {
	if !d.pass.IsNull() {
		d.pass.Call("end")
		d.pass = js.Null()
	}
	if d.enc.IsNull() {
		d.enc = d.device.Call("createCommandEncoder")
	}
	return d.enc
}

func (d *jsDevice) clear(h handle) {
	d.encoder().Call("clearBuffer", h.(js.Value))
}

// stage copies b into the JS staging array and returns it.
func (d *jsDevice) stage(b []byte) js.Value {
	if d.scratch.Get("length").Int() < len(b) {
		d.scratch = js.Global().Get("Uint8Array").New(max(len(b), 2*d.scratch.Get("length").Int()))
	}
	js.CopyBytesToJS(d.scratch, b)
	return d.scratch
}

func (d *jsDevice) write(h handle, off int, b []byte) error {
	if err := d.lostErr(); err != nil {
		return err
	}
	// queue.writeBuffer runs before work still unsubmitted: submit it first.
	d.submit()
	for len(b) > 0 {
		c := min(len(b), writeChunk)
		d.queue.Call("writeBuffer", h.(js.Value), off, d.stage(b[:c]), 0, c)
		b, off = b[c:], off+c
	}
	return nil
}

func (d *jsDevice) read(h handle, off int, b []byte) error {
	if err := d.lostErr(); err != nil {
		return err
	}
	d.submit()
	start := time.Now()
	defer func() { d.stats.Reads++; d.stats.Read += time.Since(start) }()
	staging := d.device.Call("createBuffer", map[string]any{"size": len(b), "usage": d.usage.mapRead | d.usage.copyDst})
	defer staging.Call("destroy")
	enc := d.device.Call("createCommandEncoder")
	enc.Call("copyBufferToBuffer", h.(js.Value), off, staging, 0, len(b))
	d.queue.Call("submit", []any{enc.Call("finish")})
	if _, err := await(staging.Call("mapAsync", d.mapModeRead), d.lostCh); err != nil {
		if lerr := d.lostErr(); lerr != nil {
			return lerr
		}
		if serr := d.checkErrors(); serr != nil {
			return serr
		}
		return fmt.Errorf("webgpu: map for reading: %w", err)
	}
	// Copy through a Uint8Array view while the range is mapped.
	view := js.Global().Get("Uint8Array").New(staging.Call("getMappedRange"))
	js.CopyBytesToGo(b, view)
	staging.Call("unmap")
	return d.checkErrors()
}

func (d *jsDevice) run(k *kernel) error {
	if err := d.lostErr(); err != nil {
		return err
	}
	p, err := d.pipeline(k)
	if err != nil {
		return err
	}
	if d.n == maxBatch {
		d.submit()
	}
	off := d.n * uniformSize
	d.arena = d.arena[:off]
	for _, w := range k.params {
		d.arena = append(d.arena, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	d.arena = append(d.arena, make([]byte, off+uniformSize-len(d.arena))...)
	entries := []any{map[string]any{"binding": 0, "resource": map[string]any{"buffer": d.uniform, "offset": off, "size": uniformSize}}}
	for i, b := range k.bufs {
		entries = append(entries, map[string]any{"binding": i + 1, "resource": map[string]any{"buffer": b.h.(js.Value)}})
	}
	bg := d.device.Call("createBindGroup", map[string]any{"layout": p.layout, "entries": entries})
	if d.pass.IsNull() {
		d.pass = d.encoder().Call("beginComputePass")
	}
	d.pass.Call("setPipeline", p.p)
	d.pass.Call("setBindGroup", 0, bg)
	d.pass.Call("dispatchWorkgroups", k.groups[0], k.groups[1], k.groups[2])
	d.n++
	d.stats.Dispatches++
	return nil
}

// pipeline returns the compiled pipeline of k's shader and specialization,
// compiling it on first use or waiting for the compilation prepare started.
func (d *jsDevice) pipeline(k *kernel) (pipeline, error) {
	key := k.shader + "|" + k.defs.key()
	if p, ok := d.pipelines[key]; ok {
		return p, nil
	}
	c, ok := d.pending[key]
	if !ok {
		var err error
		if c, err = d.startCompile(key, k.shader, k.defs); err != nil {
			return pipeline{}, err
		}
	}
	return d.finishCompile(key, c)
}

// compiling is a pipeline whose compilation was started.
type compiling struct {
	promise, module js.Value
	src, shader     string
	ahead           bool // started by prepare
}

// startCompile creates the shader module and asks for the pipeline
// asynchronously; the browser compiles it in the background.
func (d *jsDevice) startCompile(key, shader string, df defs) (*compiling, error) {
	src, err := source(shader, df)
	if err != nil {
		return nil, err
	}
	mod := d.device.Call("createShaderModule", map[string]any{"code": src, "label": key})
	pr := d.device.Call("createComputePipelineAsync", map[string]any{
		"layout": "auto", "label": key,
		"compute": map[string]any{"module": mod, "entryPoint": "main"},
	})
	return &compiling{promise: pr, module: mod, src: src, shader: shader}, nil
}

// finishCompile waits for a started compilation and caches its pipeline.
func (d *jsDevice) finishCompile(key string, c *compiling) (pipeline, error) {
	delete(d.pending, key)
	start := time.Now()
	pv, err := await(c.promise, d.lostCh)
	d.stats.Compile += time.Since(start)
	if err != nil {
		if lerr := d.lostErr(); lerr != nil {
			return pipeline{}, lerr
		}
		return pipeline{}, fmt.Errorf("webgpu: compile %s: %v%s", key, err, compileMessages(c.module, c.src))
	}
	d.stats.Compiles++
	if c.ahead {
		d.stats.Prepared++
	}
	if d.stats.ByShader == nil {
		d.stats.ByShader = map[string]int{}
	}
	d.stats.ByShader[c.shader]++
	p := pipeline{p: pv, layout: pv.Call("getBindGroupLayout", 0)}
	d.pipelines[key] = p
	return p, nil
}

func (d *jsDevice) prepare(shader string, df defs) error {
	if err := d.lostErr(); err != nil {
		return err
	}
	key := shader + "|" + df.key()
	if _, ok := d.pipelines[key]; ok {
		return nil
	}
	if _, ok := d.pending[key]; ok {
		return nil
	}
	c, err := d.startCompile(key, shader, df)
	if err != nil {
		return err
	}
	c.ahead = true
	d.pending[key] = c
	return nil
}

func (d *jsDevice) ready() error {
	keys := make([]string, 0, len(d.pending))
	for k := range d.pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if _, err := d.finishCompile(k, d.pending[k]); err != nil {
			if errors.Is(err, ErrDeviceLost) {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// compileMessages returns the shader compiler's messages with the lines
// they point at.
func compileMessages(mod js.Value, src string) string {
	info, err := await(mod.Call("getCompilationInfo"), nil)
	if err != nil {
		return ""
	}
	lines := strings.Split(src, "\n")
	var b strings.Builder
	msgs := info.Get("messages")
	for i := 0; i < msgs.Length() && i < 8; i++ {
		m := msgs.Index(i)
		ln := m.Get("lineNum").Int()
		fmt.Fprintf(&b, "\n  %s at line %d: %s", m.Get("type").String(), ln, m.Get("message").String())
		if ln >= 1 && ln <= len(lines) {
			fmt.Fprintf(&b, "\n    %s", strings.TrimSpace(lines[ln-1]))
		}
	}
	return b.String()
}

// submit ends the open pass, uploads the batch's uniforms and submits the
// recorded commands; buffers freed meanwhile are destroyed after it.
func (d *jsDevice) submit() {
	if !d.enc.IsNull() {
		if !d.pass.IsNull() {
			d.pass.Call("end")
			d.pass = js.Null()
		}
		if len(d.arena) > 0 {
			d.queue.Call("writeBuffer", d.uniform, 0, d.stage(d.arena), 0, len(d.arena))
		}
		d.queue.Call("submit", []any{d.enc.Call("finish")})
		d.enc = js.Null()
		d.stats.Submits++
	}
	d.n = 0
	d.arena = d.arena[:0]
	for _, h := range d.doomed {
		h.Call("destroy")
	}
	d.doomed = d.doomed[:0]
}

func (d *jsDevice) sync() error {
	if err := d.lostErr(); err != nil {
		return err
	}
	d.submit()
	if _, err := await(d.queue.Call("onSubmittedWorkDone"), d.lostCh); err != nil {
		if lerr := d.lostErr(); lerr != nil {
			return lerr
		}
		return fmt.Errorf("webgpu: waiting for the queue: %w", err)
	}
	return d.checkErrors()
}

// pushScopes opens the error scopes that checkErrors closes: every device
// call between two checks is covered.
func (d *jsDevice) pushScopes() {
	d.device.Call("pushErrorScope", "out-of-memory")
	d.device.Call("pushErrorScope", "validation")
}

// checkErrors reports the validation and out-of-memory errors raised since
// the previous check, then opens new scopes.
func (d *jsDevice) checkErrors() error {
	var msgs []string
	for _, kind := range []string{"validation", "out-of-memory"} {
		e, err := await(d.device.Call("popErrorScope"), d.lostCh)
		if err != nil {
			if lerr := d.lostErr(); lerr != nil {
				return lerr
			}
			msgs = append(msgs, fmt.Sprintf("%s scope: %v", kind, err))
			continue
		}
		if e.Truthy() {
			msgs = append(msgs, kind+": "+jsMessage(e))
		}
	}
	d.pushScopes()
	msgs = append(msgs, d.captured...)
	d.captured = nil
	if lerr := d.lostErr(); lerr != nil {
		return lerr
	}
	if len(msgs) > 0 {
		return fmt.Errorf("webgpu: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// close destroys the device; its loss is then reported as "destroyed".
func (d *jsDevice) close() {
	d.submit()
	d.device.Call("destroy")
}

// errPending is the result of a wait cut short by the device's loss.
var errPending = errors.New("device lost while waiting")

// await blocks the calling goroutine until promise p settles, or until
// cancel (may be nil) is closed. The Promise callbacks only send on a
// channel: the goroutine must not be a js.FuncOf callback itself.
func await(p js.Value, cancel <-chan struct{}) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "rejected"
		if len(args) > 0 {
			msg = jsMessage(args[0])
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	p.Call("then", ok, fail)
	release := func(r result) (js.Value, error) {
		ok.Release()
		fail.Release()
		return r.v, r.err
	}
	select {
	case r := <-ch:
		return release(r)
	case <-cancel:
	}
	// The device is lost: WebGPU settles its promises then (mapAsync
	// rejects, onSubmittedWorkDone resolves), so wait a little for that
	// before leaving the callbacks behind. The grace period is a JS timer,
	// cleared when the promise wins: a Go timer would leave the runtime's
	// idle timeout scheduled, which wakes the program after it has exited.
	expired := make(chan struct{})
	onTimeout := js.FuncOf(func(js.Value, []js.Value) any {
		close(expired)
		return nil
	})
	timer := js.Global().Call("setTimeout", onTimeout, 1000)
	select {
	case r := <-ch:
		js.Global().Call("clearTimeout", timer)
		onTimeout.Release()
		release(r)
	case <-expired:
		onTimeout.Release()
	}
	return js.Undefined(), errPending
}

// jsMessage is the message of a JS error object (or its string form).
func jsMessage(v js.Value) string {
	if v.Type() == js.TypeObject && v.Get("message").Type() == js.TypeString {
		return v.Get("message").String()
	}
	return v.String()
}
