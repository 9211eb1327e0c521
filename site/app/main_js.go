//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"

	"webcnn/site/app/dom"
)

// entry is a model of models/index.json, with what its manifest says.
type entry struct {
	id       string
	input    []int
	order    string
	download float64 // bytes of chunks
	params   float64 // elements of the tensors
	err      string  // the manifest could not be read
}

// app is the page's state. Event handlers start goroutines (a js.FuncOf
// callback must not wait on a Promise); Go's js/wasm runs them one at a
// time, switching only where they wait, so sequence numbers (not locks)
// drop the answers of loads and classifications that a newer one replaced.
type app struct {
	doc dom.Document
	cnn js.Value // cnn.mjs's exports

	entries []*entry
	id      string
	backend string // asked for: "cpu" or "webgpu"
	model   js.Value
	info    js.Value // model.summary()
	loadSeq int
	clsSeq  int

	source js.Value // the image to classify: a Blob, a canvas...
	mc     bool
	mcM    int

	latency map[string]map[string]float64 // model id -> backend -> last ms
	stream  js.Value                      // the camera's MediaStream
	gen     int                           // generated images so far
	settled int                           // answers and errors shown so far
}

func main() {
	a := &app{
		doc:     dom.GetWindow().Document(),
		cnn:     js.Global().Get("webcnn"),
		backend: "cpu",
		mcM:     20,
		model:   js.Undefined(),
		source:  js.Undefined(),
		stream:  js.Undefined(),
		latency: map[string]map[string]float64{},
	}
	if !a.cnn.Truthy() {
		a.status("error", "The library (cnn.mjs) did not load.")
		return
	}
	// On a phone the model's details fold away: the image comes first.
	phone := js.Global().Call("matchMedia", "(max-width: 759px)")
	a.el("about").Underlying().Set("open", !phone.Get("matches").Bool())
	phone.Call("addEventListener", "change", js.FuncOf(func(_ js.Value, args []js.Value) any {
		a.el("about").Underlying().Set("open", !args[0].Get("matches").Bool())
		return nil
	})) // lives as long as the page
	if b := a.stored("backend"); b == "webgpu" || b == "cpu" {
		a.backend = b
	}
	a.el("be-"+a.backend).Underlying().Set("checked", true)
	a.bind()
	a.bindTrain()
	a.bindRun()
	a.network()
	go a.gpuLabel()
	a.watchTheme()
	go a.start()
	select {} // the page calls back
}

// el returns the element with the given id.
func (a *app) el(id string) dom.HTMLElement {
	e := a.doc.GetElementByID(id)
	if e == nil {
		panic("index.html has no #" + id)
	}
	return e.(dom.HTMLElement)
}

func (a *app) stored(key string) string {
	ls := js.Global().Get("localStorage")
	if !ls.Truthy() {
		return ""
	}
	return str(ls.Call("getItem", "webcnn."+key))
}

func (a *app) store(key, v string) {
	if ls := js.Global().Get("localStorage"); ls.Truthy() {
		ls.Call("setItem", "webcnn."+key, v)
	}
}

// status shows what the page is doing; state is also data-state on
// #status: "loading", "ready", "classifying", "done" or "error", and
// data-seq counts the "done" and "error" states (a test waits for it to
// grow after an action).
func (a *app) status(state, text string) {
	s := a.el("status")
	if state == "done" || state == "error" || state == "ready" {
		a.settled++
		s.SetAttribute("data-seq", sprint(a.settled))
	}
	s.SetAttribute("data-state", state)
	s.SetTextContent(text)
}

// fail shows an error message (and its code) in the alert box.
func (a *app) fail(what string, err *jsError) {
	box := a.el("error")
	box.SetTextContent("")
	if err.Code != "" {
		code := a.doc.CreateElement("span")
		code.SetAttribute("class", "code")
		code.SetTextContent(err.Code)
		box.AppendChild(code)
	}
	box.AppendChild(a.doc.CreateTextNode(" " + err.Message))
	box.SetAttribute("data-code", err.Code)
	box.Underlying().Set("hidden", false)
	a.status("error", what+".")
}

func (a *app) clearError() {
	a.el("error").Underlying().Set("hidden", true)
	a.el("error").SetAttribute("data-code", "")
}

// start lists the models and loads the chosen one.
func (a *app) start() {
	a.status("loading", "Reading the list of models…")
	ix, err := fetchJSON("models/index.json")
	if err != nil {
		a.fail("Could not read the list of models", err)
		return
	}
	ids := ix.Get("models")
	if !ids.Truthy() || ids.Length() == 0 {
		a.fail("No models", &jsError{Message: "models/index.json lists none: run go run ./site/build"})
		return
	}
	a.entries = make([]*entry, ids.Length())
	done := make(chan struct{}, len(a.entries))
	for i := range a.entries {
		e := &entry{id: ids.Index(i).String()}
		a.entries[i] = e
		go func() {
			defer func() { done <- struct{}{} }()
			m, err := fetchJSON("models/" + e.id + "/manifest.json")
			if err != nil {
				e.err = err.Message
				return
			}
			in := m.Get("input")
			e.input, e.order = ints(in.Get("shape")), str(in.Get("channel_order"))
			for j, cs := 0, m.Get("chunks"); j < cs.Length(); j++ {
				e.download += num(cs.Index(j).Get("size"))
			}
			for j, ts := 0, m.Get("tensors"); j < ts.Length(); j++ {
				n := 1.0
				for _, d := range ints(ts.Index(j).Get("shape")) {
					n *= float64(d)
				}
				e.params += n
			}
		}()
	}
	for range a.entries {
		<-done
	}
	sel := a.el("model")
	sel.SetTextContent("")
	for _, e := range a.entries {
		o := a.doc.CreateElement("option").(*dom.HTMLOptionElement)
		o.SetValue(e.id)
		label := e.id
		if e.err == "" {
			label += " (" + shapeText(e.input, e.order) + ")"
		}
		o.SetTextContent(label)
		sel.AppendChild(o)
	}
	want := strings.TrimPrefix(js.Global().Get("location").Get("hash").String(), "#")
	if want == "" {
		want = a.stored("model")
	}
	pick := a.entries[0].id
	for _, e := range a.entries {
		if e.id == want {
			pick = e.id
		}
	}
	sel.(*dom.HTMLSelectElement).SetValue(pick)
	a.load(pick)
}

// kind says what input suits a model, from its input shape: "digit" (one
// channel: MNIST-like, white on black), "strip" (three times wider than
// high: a line of text) or "picture".
func (e *entry) kind() string {
	if len(e.input) != 4 {
		return "picture"
	}
	h, w, c := e.input[1], e.input[2], e.input[3]
	switch {
	case c == 1:
		return "digit"
	case w >= 3*h:
		return "strip"
	}
	return "picture"
}

func (a *app) entry(id string) *entry {
	for _, e := range a.entries {
		if e.id == id {
			return e
		}
	}
	return &entry{id: id}
}

// load loads model id on the chosen backend, replacing the current one.
func (a *app) load(id string) {
	a.loadSeq++
	seq := a.loadSeq
	prev := a.entry(a.id).kind()
	a.id = id
	a.store("model", id)
	if old := a.model; old.Truthy() {
		a.model = js.Undefined()
		go await(old.Call("dispose"))
	}
	e := a.entry(id)
	a.clearError()
	a.clearBars()
	a.latencyTable()
	a.preSummary(e)
	a.progress(0, e.download, true)
	a.status("loading", sprintf("Loading %s on %s…", id, backendName(a.backend)))
	a.el("sample").SetTextContent(map[string]string{"digit": "Generate a digit", "strip": "Generate a text strip"}[e.kind()])
	if a.el("sample").TextContent() == "" {
		a.el("sample").SetTextContent("Generate")
	}
	if a.source.Truthy() && e.kind() != prev {
		// A digit means nothing to a text model and conversely.
		a.source = js.Undefined()
		a.el("stage").SetAttribute("data-source", "")
		a.show("")
	}
	a.el("hint").SetTextContent(e.hint())
	if e.kind() == "digit" && !a.source.Truthy() {
		a.drawMode() // a digit model: offer the drawing pad at once
	}
	onProgress := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if seq == a.loadSeq && len(args) == 2 {
			a.progress(args[0].Float(), args[1].Float(), true)
		}
		return nil
	})
	defer onProgress.Release()
	t0 := now()
	m, err := await(a.cnn.Call("load", "models/"+id+"/manifest.json", map[string]any{"backend": a.backend, "onProgress": onProgress}))
	ms := now() - t0
	if seq != a.loadSeq {
		if err == nil {
			go await(m.Call("dispose"))
		}
		return
	}
	a.progress(0, 0, false)
	if err != nil {
		a.fail("Could not load "+id, err)
		a.el("summary").SetAttribute("data-loaded", "false")
		return
	}
	a.model = m
	a.info = m.Call("summary")
	a.summary(m, ms)
	if a.features() {
		a.status("ready", sprintf("%s is ready on %s. It has no classes of its own: teach it some below (a few images of each), and the new head classifies every image here.", id, backendName(str(m.Get("backend")))))
	} else {
		a.status("ready", sprintf("%s is ready on %s. Give it an image.", id, backendName(str(m.Get("backend")))))
	}
	if a.source.Truthy() {
		a.classify()
	}
}

func backendName(b string) string {
	if b == "webgpu" {
		return "WebGPU"
	}
	return "the CPU"
}

// features says whether the loaded model is a feature extractor (a
// backbone cut before its head): it classifies nothing itself, only the
// heads taught on it do.
func (a *app) features() bool {
	return a.model.Truthy() && a.info.Truthy() && str(a.info.Get("output")) == "features"
}

// classify runs the current model on the current image.
func (a *app) classify() {
	if !a.model.Truthy() || !a.source.Truthy() {
		return
	}
	if a.features() {
		a.clearBars()
		a.clsSeq++
		if tr.head.Truthy() && tr.base.Equal(a.model) {
			a.status("classifying", "Classifying with the new head…")
			a.headClassify()
			a.status("done", "Classified by the head taught on "+a.id+".")
		} else {
			a.status("done", a.id+" has no classes of its own: add this image to a class below, and teach it.")
		}
		return
	}
	a.clsSeq++
	seq := a.clsSeq
	m, id := a.model, a.id
	opts := map[string]any{"topk": 5}
	end := func() {}
	if a.mc {
		opts["mcDropout"] = a.mcM
		end = a.longRun("MC-dropout", opts)
	}
	a.clearError()
	a.status("classifying", "Classifying…")
	t0 := now()
	r, err := await(m.Call("classify", a.source, opts))
	ms := now() - t0
	end()
	if seq != a.clsSeq || !m.Equal(a.model) {
		return
	}
	if err != nil && err.Code == "aborted" {
		a.clearBars()
		a.status("done", "MC-dropout cancelled ("+err.Message+"). Classify again, or turn MC-dropout off.")
		return
	}
	if err != nil {
		a.clearBars()
		if err.Code == "unsupported-image" && a.el("stage").GetAttribute("data-source") == "file" {
			name := str(a.el("preview").Underlying().Get("alt"))
			a.show("")
			a.el("hint").SetTextContent("“" + name + "” is not a picture this page can read: try a PNG, JPEG, GIF or WebP file.")
		}
		a.fail("Could not classify this image", err)
		return
	}
	backend := str(m.Get("backend"))
	a.bars(r, backend, ms)
	if a.latency[id] == nil {
		a.latency[id] = map[string]float64{}
	}
	key := backend
	if a.mc {
		key += sprintf("/%d", a.mcM)
	}
	a.latency[id][key] = ms
	a.latencyTable()
	a.status("done", sprintf("Classified in %s on %s.", msText(ms), backendName(backend)))
	a.headClassify()
}
